"""The send form's checks, in-process (TestClient) against the in-memory server of
``test_external``: bulk mail (#7), recipients outside Caducée (#6), sanctions, and an
unreachable server. Chromium and the real server are in ``test_web_send_browser.py`` and
``test_web_send_end_to_end.py``.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.journal import Journal
from caducee.agent.web import create_web_app
from tests.agent.helpers import hprim_file
from tests.agent.test_external import GP, KEY, ME, PEER, Server

MANY = ", ".join(f"dr.{n}@caducee.test" for n in range(12))
CROWD = ", ".join(f"dr.{n}@caducee.test" for n in range(25))
THESIS = (
    "Chères consœurs, chers confrères, dans le cadre de ma thèse de médecine générale, "
    "merci de répondre à ce questionnaire : https://forms.gle/fictif"
).encode()
EXTERNAL_FR = (
    "Ce message quittera le chiffrement de bout en bout de Caducée : il sera remis en "
    "clair, sur une connexion TLS, à la passerelle MSSanté, pour " + PEER
)


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def client(server: Server) -> ServerClient:
    transport = httpx.MockTransport(server)
    credentials = Credentials(ME, "01", KEY)
    return ServerClient("https://s.test", credentials, transport=transport, sleep=lambda _: None)


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    config = AgentConfig(directory=tmp_path, server="https://s.test", address=ME)
    config.ensure_folders()
    return config


@pytest.fixture
def pages(config: AgentConfig, client: ServerClient) -> Iterator[TestClient]:
    with TestClient(create_web_app(config, client), base_url="http://127.0.0.1") as pages:
        yield pages


def _token(pages: TestClient) -> str:
    return pages.get("/send").text.split('name="token" value="', 1)[1].split('"', 1)[0]


class Page:
    """An answer, its text unescaped (the pages escape apostrophes)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.raw = response.text
        self.text = html.unescape(response.text)


def _post(pages: TestClient, to: str, name: str, data: bytes) -> Page:
    files = {"document": (name, data, "application/octet-stream")}
    return Page(pages.post("/send", data={"to": to, "token": _token(pages)}, files=files))


def _confirm(pages: TestClient, **form: str) -> Page:
    return Page(pages.post("/send/confirm", data=form, follow_redirects=False))


def _staged(text: str) -> str:
    return text.split('name="staged" value="', 1)[1].split('"', 1)[0]


def _outbox(config: AgentConfig) -> list[str]:
    return sorted(p.name for p in config.folder("outbox").iterdir())


def _staging(config: AgentConfig) -> list[Path]:
    folder = config.directory / "staging"
    return list(folder.iterdir()) if folder.is_dir() else []


def test_an_announcement_for_many_asks_first(
    pages: TestClient,
    config: AgentConfig,
    server: Server,
) -> None:
    page = _post(pages, MANY, "these.txt", THESIS)
    assert page.status_code == 200
    text = page.text
    assert "C'est ce que la charte interdit" in text and "questionnaire ou thèse" in text
    assert "2. Les envois en masse sont interdits" in text  # quoted from the charter
    assert 'href="http://s.test/charter"' in text
    cancel, send = text.index('value="cancel"'), text.index('value="send"')
    assert cancel < send and "autofocus" in text[cancel - 200 : send]  # Annuler by default
    assert _outbox(config) == [] and len(_staging(config)) == 2

    staged = _staged(text)
    token = _token(pages)
    cancelled = _confirm(pages, token=token, staged=staged, action="cancel")
    assert cancelled.headers["location"] == "/send?cancelled=1"
    assert "Envoi annulé : rien n'est parti." in html.unescape(pages.get("/send?cancelled=1").text)
    assert _outbox(config) == [] and _staging(config) == []
    assert _confirm(pages, token=token, staged=staged, action="send").status_code == 410

    staged = _staged(_post(pages, MANY, "these.txt", THESIS).text)
    sent = _confirm(pages, token=token, staged=staged, action="send")
    assert sent.status_code == 303 and sent.headers["location"].startswith("/sent?queued=")
    name, sidecar = _outbox(config)
    assert sidecar == name + ".to" and name.endswith("_these.txt")
    assert (config.folder("outbox") / sidecar).read_text().count("@caducee.test") == 12
    with Journal(config.journal_path) as journal:  # the watcher will not refuse it again
        digest = hashlib.sha256(THESIS).hexdigest()
        assert journal.get(f"confirmed:{digest}:{name}") == "bulk"
    assert _staging(config) == []


def test_refused_locally(pages: TestClient, config: AgentConfig, server: Server) -> None:
    page = _post(pages, CROWD, "planning.txt", b"Planning des gardes de mars.")
    assert page.status_code == 422
    text = page.text
    assert "Envoi refusé sur ce poste" in text and "25 destinataires (au plus 20" in text
    assert "support@s.test" in text and 'value="send"' not in text
    assert _outbox(config) == [] and _staging(config) == []
    # Over the cap with a patient: allowed, after saying the server will hold it.
    held = _post(pages, CROWD, "cr.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    assert "le serveur retiendra ce message" in held.text


def test_sanctions_are_shown_before_sending(
    config: AgentConfig,
    server: Server,
    client: ServerClient,
) -> None:
    server.sanctions = [{"level": "hold", "reason": "signalements répétés",
                         "created_at": "2026-01-03T00:00:00"}]  # fmt: skip
    with TestClient(create_web_app(config, client), base_url="http://127.0.0.1") as pages:
        form = html.unescape(pages.get("/send").text)
        assert "vérifiés par un modérateur" in form and "signalements répétés" in form
        held = _post(pages, GP, "cr.txt", b"Compte rendu fictif.")
        assert held.status_code == 200 and "celui-ci aussi" in held.text
    server.sanctions = [{"level": "block", "reason": "abus", "created_at": "2026-01-04"}]
    with TestClient(create_web_app(config, client), base_url="http://127.0.0.1") as pages:
        assert "bloquée pour l'envoi (abus)" in html.unescape(pages.get("/send").text)
        blocked = _post(pages, GP, "cr.txt", b"Compte rendu fictif.")
        assert blocked.status_code == 422 and "bloquée pour l'envoi" in blocked.text
    assert _outbox(config) == []


def test_external_recipients_are_warned_then_handed_to_the_gateway(
    pages: TestClient,
    config: AgentConfig,
    server: Server,
) -> None:
    data = b"Compte rendu fictif pour le Dr MARTIN."
    page = _post(pages, f"{GP}, {PEER}", "cr.txt", data)
    text = page.text
    assert EXTERNAL_FR in text and "Les destinataires Caducée (" + GP in text
    assert 'name="external_ok"' in text and "formnovalidate" in text
    staged, token = _staged(text), _token(pages)
    form = {"token": token, "staged": staged, "action": "send"}
    unchecked = _confirm(pages, **form)
    assert unchecked.status_code == 422 and "Cochez la case" in unchecked.text
    assert server.handed == [] and _outbox(config) == []

    server.gateway = (503, {"code": "gateway-off", "detail": "the MSSanté gateway is off"})
    off = _confirm(pages, **form, external_ok="1")
    assert (
        off.status_code == 409 and "passerelle MSSanté de l'opérateur n'est pas active" in off.text
    )
    assert len(_staging(config)) == 2 and _outbox(config) == []  # nothing lost, nothing sent

    server.gateway = (403, {"code": "domain-not-trusted", "detail": "not in the white list"})
    untrusted = _confirm(pages, **form, external_ok="1")
    assert untrusted.status_code == 409 and "liste blanche" in untrusted.text

    server.gateway = None
    sent = _confirm(pages, **form, external_ok="1")
    assert sent.status_code == 303 and "external=1" in sent.headers["location"]
    [(to, content)] = server.handed
    [part] = [p for p in message_from_bytes(content).walk() if p.get_filename()]
    assert to == PEER and part.get_payload(decode=True) == data
    _, sidecar = _outbox(config)
    assert (config.folder("outbox") / sidecar).read_text() == GP  # only Caducée's, encrypted
    listing = html.unescape(pages.get(sent.headers["location"]).text)
    assert "copie remise en clair, sur TLS" in listing and "hors Caducée (MSSanté, TLS)" in listing
    with Journal(config.journal_path) as journal:
        [record] = [r for r in journal.recent_outgoing() if r.reason == "external"]
    state = Page(pages.get(f"/sent/{record.message_id}"))
    assert state.status_code == 200 and "remis à l'opérateur du destinataire" in state.text


def test_without_the_server(config: AgentConfig, server: Server, client: ServerClient) -> None:
    server.down = True
    with TestClient(create_web_app(config, client), base_url="http://127.0.0.1") as pages:
        form = Page(pages.get("/send"))
        assert form.status_code == 200 and "Le serveur ne répond pas" in form.text
        outside = _post(pages, PEER, "cr.txt", b"Compte rendu fictif.")
        assert outside.status_code == 503
        assert "impossible de vérifier" in outside.text
        assert PEER in outside.text and _outbox(config) == []
        inside = _post(pages, GP, "cr.txt", b"Compte rendu fictif.")
        assert inside.status_code == 200 and _outbox(config)
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as offline:
        assert "limites par défaut" in offline.get("/send").text
