"""The checks before a send, a report, and the MSSanté hand-off, end to end: a real server
(``caducee server run``, SQLite) with its SMTP gateway, the lab's and GPs' agents enrolled
with it, the lab's local pages (in-process, and in Chromium at desktop and phone width),
and another operator's MTA (aiosmtpd on loopback, STARTTLS required, the gateway checking
its certificate against a CA made here).

One server for the module (starting it and enrolling the agents is the slow part); the
tests run in order and each leaves the lab's folders as it found them.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.external import EXTERNAL_REASON, external_name
from caducee.agent.journal import Journal
from caducee.agent.keystore import load_key
from caducee.agent.runtime import AgentRuntime, initialise
from caducee.agent.web import create_web_app
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, hprim_file, operator_client
from tests.conftest import free_port
from tests.gateway.test_two_operators import _tls_pair
from tests.servers import ServerProcess, serve_pages

pytestmark = pytest.mark.slow

LAB = "labo.envoi@caducee.test"
GPS = [f"dr.envoi{n}@caducee.test" for n in range(6)]
PEER_DOMAIN = "ch-exemple.mssante.fr"
PEER = f"dr.martin@{PEER_DOMAIN}"
UNLISTED = "dr.inconnu@unlisted.example"
CHARTER = (
    "Charte de bon usage de la messagerie (fictive)\n\n"
    "1. La messagerie sert aux échanges sur la prise en charge des patients.\n\n"
    "2. Les envois en masse sont interdits : annonces de départ en retraite ou "
    "d'installation, invitations à des congrès, questionnaires de thèse.\n\n"
    "3. Le support répond aux heures ouvrées."
)
RETIREMENT = (
    "Chers confrères, j'ai le plaisir de vous annoncer mon départ à la retraite "
    "le 30 juin. Mon successeur reprendra le cabinet.\n"
).encode()
EXTERNAL_FR = (
    "Ce message quittera le chiffrement de bout en bout de Caducée : il sera remis en "
    "clair, sur une connexion TLS, à la passerelle MSSanté, pour " + PEER
)


@dataclass
class Peer:
    """Another operator's MX: keeps what it accepted, and whether it came over TLS."""

    received: list[tuple[list[str], bytes, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.received.append((list(envelope.rcpt_tos), content, session.ssl is not None))
        return "250 2.0.0 queued as PEER1"

    def wait(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, "the gateway did not deliver to the peer"
            time.sleep(0.1)


@dataclass
class World:
    server: ServerProcess
    admin: httpx.Client
    lab: AgentConfig
    gps: list[AgentConfig]
    peer: Peer
    keys: dict[str, Any]

    def client(self, config: AgentConfig) -> ServerClient:
        credentials = Credentials(config.address, config.serial_hex, self.keys[config.address])
        return ServerClient(config.server, credentials)

    def runtime(self, config: AgentConfig) -> AgentRuntime:
        return AgentRuntime.open(config, self.keys[config.address])

    def pages(self, config: AgentConfig) -> TestClient:
        app = create_web_app(config, self.client(config))
        return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("send")
    cert, key = _tls_pair(root)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    peer = Peer()
    peer_port = free_port()
    mx = Controller(peer, hostname="127.0.0.1", port=peer_port, tls_context=context,
                    require_starttls=True)  # fmt: skip
    mx.start()
    env = {
        "CADUCEE_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'caducee.db'}",
        "CADUCEE_SMTP_ENABLED": "true",
        "CADUCEE_SMTP_SUBMISSION_PORT": str(free_port()),
        "CADUCEE_SMTP_INBOUND_PORT": str(free_port()),
        "CADUCEE_SMTP_TRUST_LIST_LOCAL": PEER_DOMAIN,
        "CADUCEE_SMTP_OUTBOUND_ROUTES": f"{PEER_DOMAIN}=127.0.0.1:{peer_port}",
        "CADUCEE_SMTP_OUTBOUND_CA_FILE": str(cert),
        "CADUCEE_SMTP_OUTBOUND_POLL_SECONDS": "0.3",
        "CADUCEE_SMTP_TLS_CERT_FILE": str(cert),
        "CADUCEE_SMTP_TLS_KEY_FILE": str(key),
    }
    server = ServerProcess(root / "server", env)
    server.start()
    admin = operator_client(server.base, server.data_dir)
    try:
        configs = []
        for number, (kind, address) in enumerate([("lab", LAB)] + [("gp", g) for g in GPS]):
            code = enrol_mailbox(admin, kind, address, 60 + number)
            folder = root / address.split("@")[0]
            config = initialise(folder, server=server.base, code=code, address=address,
                                key="key.pem", secret=PASSPHRASE.encode())  # fmt: skip
            config.with_changes(settle_seconds=0.0).save()
            configs.append(AgentConfig.load(config.directory))
        keys = {c.address: load_key(c, PASSPHRASE.encode()) for c in configs}
        published = admin.post("/api/v1/console/charter", json={"text": CHARTER})
        assert published.status_code == 201, published.text
        limits = {"recipients_per_message": 6, "messages_per_hour": 1000,
                  "new_recipients_per_hour": 1000}  # fmt: skip
        assert admin.put("/api/v1/console/limits/kind:organisational", json=limits).is_success
        yield World(server, admin, configs[0], configs[1:], peer, keys)
    finally:
        admin.close()
        server.stop()
        mx.stop()


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def _token(pages: TestClient) -> str:
    return pages.get("/send").text.split('name="token" value="', 1)[1].split('"', 1)[0]


def _send(pages: TestClient, to: list[str], name: str, data: bytes) -> httpx.Response:
    files = {"document": (name, data, "application/octet-stream")}
    return pages.post("/send", data={"to": ", ".join(to), "token": _token(pages)}, files=files)


def _confirm(pages: TestClient, page: httpx.Response, **form: str) -> httpx.Response:
    staged = page.text.split('name="staged" value="', 1)[1].split('"', 1)[0]
    data = {"token": _token(pages), "staged": staged, "action": "send", **form}
    return pages.post("/send/confirm", data=data, follow_redirects=False)


def _drop(config: AgentConfig, name: str, data: bytes, to: list[str]) -> None:
    outbox = config.folder("outbox")
    (outbox / f"{name}.to").write_text("\n".join(to))
    (outbox / name).write_bytes(data)
    os.utime(outbox / name, (time.time() - 10, time.time() - 10))


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_bulk_mail_is_stopped_before_it_leaves(world: World) -> None:
    lab, gps = world.lab, world.gps
    with world.pages(lab) as pages, world.runtime(lab) as runtime:
        form = _text(pages.get("/send"))
        assert "Au plus 6 destinataires par message" in form and "ne répond pas" not in form
        # An announcement for 6 (more than the threshold of 5): the charter's own words.
        page = _send(pages, [g.address for g in gps], "retraite.txt", RETIREMENT)
        text = _text(page)
        assert page.status_code == 200 and "C'est ce que la charte interdit" in text
        assert "2. Les envois en masse sont interdits" in text and "départ en retraite" in text
        assert f'href="{world.server.base}/charter"' in page.text
        sent = _confirm(pages, page)
        assert sent.status_code == 303
        (outcome,) = runtime.watcher().process_ready()
        assert outcome.state == "sent", outcome  # confirmed on the pages: not refused again
        # More than the cap, about no patient: refused here, nothing kept.
        crowd = [g.address for g in gps] + ["dr.envoi9@caducee.test"]
        refused = _send(pages, crowd, "planning.txt", b"Planning des gardes de mars.\n")
        assert refused.status_code == 422 and "7 destinataires (au plus 6" in _text(refused)
        assert _visible(lab.folder("outbox")) == []
        # The outbox, with nobody to ask: the same cases go to errors/ with the reason.
        _drop(lab, "retraite2.txt", RETIREMENT + b"bis\n", [g.address for g in gps])
        _drop(lab, "planning2.txt", b"Planning des gardes d'avril.\n", crowd)
        outcomes = {o.name: (o.state, o.reason) for o in runtime.watcher().process_ready()}
        assert outcomes == {
            "retraite2.txt": ("failed", "announcement"),
            "planning2.txt": ("failed", "bulk-without-patient"),
        }
        reason = (lab.folder("errors") / "retraite2.txt.reason.txt").read_text("utf-8")
        assert "charte" in reason and "English" in reason


def test_a_recipient_reports_the_announcement(world: World) -> None:
    gp = world.gps[0]
    with world.runtime(gp) as runtime:
        report = runtime.receiver().sync_once()
    assert len(report.delivered) == 1
    [name] = _visible(gp.folder("inbox"))
    with world.pages(gp) as pages:
        page = pages.get(f"/inbox/{name}")
        assert "Signaler un message indésirable" in _text(page)
        token = page.text.split('name="token" value="', 1)[1].split('"', 1)[0]
        form = {"token": token, "reason": "bulk", "comment": "Annonce de départ."}
        done = pages.post(f"/inbox/{name}/report", data=form, follow_redirects=False)
        assert done.status_code == 303, _text(done)
        assert "le message est signalé" in _text(pages.get(done.headers["location"]))
        again = pages.post(f"/inbox/{name}/report", data=form)
        assert again.status_code == 409
    reports = world.admin.get("/api/v1/console/reports").json()["reports"]
    assert [(r["reason"], r["comment"]) for r in reports] == [("bulk", "Annonce de départ.")]
    # A message this mailbox never received (a journal that says otherwise): refused.
    other = world.gps[1]
    stray = b"Un document qui ne vient pas de Caducee.\n"
    (other.folder("inbox") / "stray.txt").write_bytes(stray)
    with Journal(other.journal_path) as journal:
        journal.confirm_document(hashlib.sha256(stray).hexdigest(), "absent@caducee.test", "x")
    with world.pages(other) as pages:
        token = _token(pages)
        form = {"token": token, "reason": "bulk", "comment": ""}
        refused = pages.post("/inbox/stray.txt/report", data=form)
        assert refused.status_code == 403
        assert "ne trouve pas ce message dans votre boîte" in _text(refused)
    assert len(world.admin.get("/api/v1/console/reports").json()["reports"]) == 1


def test_a_sanction_is_seen_before_sending(world: World) -> None:
    lab, gp = world.lab, world.gps[0]
    body = {"address": lab.address, "level": "hold", "reason": "annonces en nombre"}
    imposed = world.admin.post("/api/v1/console/sanctions", json=body)
    assert imposed.status_code == 201, imposed.text
    try:
        with world.pages(lab) as pages, world.runtime(lab) as runtime:
            form = _text(pages.get("/send"))
            assert "vérifiés par un modérateur" in form and "annonces en nombre" in form
            data = hprim_file(gp.address, [("FICTIF", "ALICE")], tag="7")
            page = _send(pages, [gp.address], "cr.hpr", data)
            assert "celui-ci aussi" in _text(page)
            assert _confirm(pages, page).status_code == 303
            (outcome,) = runtime.watcher().process_ready()
            assert outcome.state == "held" and "moderator" in outcome.reason
            listing = _text(pages.get("/sent"))
            assert "retenu pour modération" in listing
    finally:
        world.admin.post(f"/api/v1/console/sanctions/{imposed.json()['id']}/lift")


def test_external_recipients_through_the_gateway(world: World) -> None:
    lab, gp = world.lab, world.gps[0]
    data = b"Compte rendu fictif pour le Dr MARTIN et le Dr ENVOI.\n"
    with world.pages(lab) as pages, world.runtime(lab) as runtime:
        page = _send(pages, [gp.address, PEER], "cr-externe.txt", data)
        text = _text(page)
        assert EXTERNAL_FR in text and f"Les destinataires Caducée ({gp.address})" in text
        sent = _confirm(pages, page, external_ok="1")
        assert sent.status_code == 303 and "external=1" in sent.headers["location"]
        world.peer.wait(1)
        rcpt, content, over_tls = world.peer.received[0]
        assert rcpt == [PEER] and over_tls
        [part] = [p for p in message_from_bytes(content).walk() if p.get_filename()]
        assert part.get_payload(decode=True) == data and b"X-MSS-NIL" in content
        (outcome,) = runtime.watcher().process_ready()  # the GP's copy, encrypted
        assert outcome.state == "sent"
        with Journal(lab.journal_path) as journal:
            record = journal.outgoing(hashlib.sha256(data).hexdigest(),
                                      external_name(outcome.name))  # fmt: skip
        assert record is not None and record.reason == EXTERNAL_REASON
        assert record.recipients == (PEER,)
        listing = _text(pages.get(sent.headers["location"]))
        assert "hors Caducée (MSSanté, TLS)" in listing and record.message_id[:8] in listing
        deadline = time.monotonic() + 20
        while "remis à l'opérateur du destinataire" not in (
            state := _text(pages.get(f"/sent/{record.message_id}"))
        ):
            assert time.monotonic() < deadline, state
            time.sleep(0.3)
        # A domain outside the trust list: said clearly, the document kept, nothing sent.
        page = _send(pages, [UNLISTED], "cr2.txt", b"Compte rendu fictif 2.\n")
        assert UNLISTED in _text(page)
        refused = _confirm(pages, page, external_ok="1")
        assert refused.status_code == 409 and "liste blanche" in _text(refused)
        assert len(list((lab.directory / "staging").iterdir())) == 2
        assert _visible(lab.folder("outbox")) == []
    with world.runtime(gp) as runtime:
        delivered = runtime.receiver().sync_once().delivered
    assert len(delivered) == 1  # the Caducée recipient's copy arrived, end to end encrypted


def test_the_outbox_and_external_recipients(world: World) -> None:
    lab = world.lab
    with world.runtime(lab) as runtime:
        _drop(lab, "pour-mssante.txt", b"Compte rendu fictif 3.\n", [PEER])
        (outcome,) = runtime.watcher().process_ready()
        assert (outcome.state, outcome.reason) == ("failed", "external-refused")
        reason = (lab.folder("errors") / "pour-mssante.txt.reason.txt").read_text("utf-8")
        assert PEER in reason and "outbox_allows_external" in reason
    allowed = lab.with_changes(outbox_allows_external=True)
    allowed.save()
    try:
        with world.runtime(AgentConfig.load(lab.directory)) as runtime:
            _drop(lab, "pour-mssante-2.txt", b"Compte rendu fictif 4.\n", [PEER])
            (outcome,) = runtime.watcher().process_ready()
            assert outcome.state == "sent"
        world.peer.wait(2)
        assert b"Compte rendu fictif 4." in b"".join(
            p.get_payload(decode=True) or b""
            for p in message_from_bytes(world.peer.received[1][1]).walk()
        )
    finally:
        lab.save()
    assert json.loads((lab.directory / "agent.json").read_text())["outbox_allows_external"] is False


# -- in Chromium ---------------------------------------------------------------------------


@pytest.fixture
def served(world: World) -> Iterator[str]:
    with serve_pages(create_web_app(world.lab, world.client(world.lab))) as base:
        yield base


def test_the_warnings_in_chromium(world: World, served: str, tmp_path: Path) -> None:
    from tests.browser import chromium

    upload = tmp_path / "retraite.txt"
    upload.write_bytes(RETIREMENT + b"ter\n")
    to = ", ".join([g.address for g in world.gps[:5]] + [PEER])
    staging = world.lab.directory / "staging"
    before = set(staging.iterdir()) if staging.is_dir() else set()

    def overflows(page: Any) -> bool:
        return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))

    def fill(page: Any) -> None:
        page.goto(served + "/send")
        page.fill("#to", to)
        page.set_input_files("#document", str(upload))
        page.click("button[type=submit]")

    with chromium() as browser:
        for viewport, locale in (({"width": 1280, "height": 900}, "fr-FR"),
                                 ({"width": 360, "height": 740}, "fr-FR"),
                                 ({"width": 360, "height": 740}, "en-GB")):  # fmt: skip
            page = browser.new_page(viewport=viewport, locale=locale)
            fill(page)
            french = locale == "fr-FR"
            assert page.locator("h1").inner_text() == (
                "Vérifier avant d'envoyer" if french else "Check before sending"
            )
            bulk = page.locator("section.bulk").inner_text()
            assert ("charte interdit" if french else "charter forbids") in bulk
            assert (
                "2. Les envois en masse sont interdits" in page.locator("blockquote").inner_text()
            )
            external = page.locator("section.external").inner_text()
            assert PEER in external and ("TLS" in external)
            # "Annuler" has the focus: Enter cancels; "Envoyer quand même" needs the box ticked.
            focused = page.evaluate("document.activeElement.value")
            assert focused == "cancel"
            assert not overflows(page), f"the confirmation scrolls sideways at {viewport}"
            page.keyboard.press("Enter")
            page.wait_for_url("**/send?cancelled=1")
            assert (
                page.locator("[role=status]")
                .first.inner_text()
                .startswith("Envoi annulé" if french else "Send cancelled")
            )
        # The refusal, on a phone.
        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
        phone.goto(served + "/send")
        crowd = ", ".join([g.address for g in world.gps] + ["dr.envoi9@caducee.test"])
        phone.fill("#to", crowd)
        plan = tmp_path / "planning.txt"
        plan.write_bytes(b"Planning des gardes de mai.\n")
        phone.set_input_files("#document", str(plan))
        phone.click("button[type=submit]")
        assert phone.locator("h1").inner_text() == "Envoi refusé sur ce poste"
        assert "au plus 6" in phone.locator("[role=alert]").inner_text()
        assert not overflows(phone), "the refusal scrolls sideways on a phone"
    assert (set(staging.iterdir()) if staging.is_dir() else set()) == before
    assert _visible(world.lab.folder("outbox")) == []
