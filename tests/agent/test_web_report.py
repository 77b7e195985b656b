"""Reporting an unwanted message from a received document's page, in-process against the
in-memory server of ``test_external`` (the real server: ``test_web_send_end_to_end.py``)."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.inbox import write_exclusive
from caducee.agent.journal import Journal
from caducee.agent.web import create_web_app
from tests.agent.test_external import GP, KEY, Server

ANNOUNCEMENT = "Chers confrères, je vous invite à notre soirée FMC.\n".encode()
DOC = "20260102-030405_dr.annonce_soiree_a1b2c3d4.txt"
LOOSE = "depose-a-la-main.txt"
MESSAGE_ID = "a1b2c3d4e5f6@caducee.test"


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    config = AgentConfig(directory=tmp_path, server="http://s.test", address=GP)
    config.ensure_folders()
    write_exclusive(config.folder("inbox"), DOC, ANNOUNCEMENT)
    write_exclusive(config.folder("inbox"), LOOSE, b"Un fichier sans message.\n")
    with Journal(config.journal_path) as journal:  # as the inbox writer records a document
        journal.confirm_document(hashlib.sha256(ANNOUNCEMENT).hexdigest(), MESSAGE_ID, DOC)
    return config


@pytest.fixture
def pages(config: AgentConfig, server: Server) -> Iterator[TestClient]:
    transport = httpx.MockTransport(server)
    client = ServerClient("http://s.test", Credentials(GP, "02", KEY), transport=transport,
                          sleep=lambda _: None)  # fmt: skip
    with TestClient(create_web_app(config, client), base_url="http://127.0.0.1") as pages:
        yield pages


def _page(pages: TestClient, name: str = DOC) -> str:
    return html.unescape(pages.get(f"/inbox/{name}").text)


def _token(text: str) -> str:
    return text.split('name="token" value="', 1)[1].split('"', 1)[0]


def _report(pages: TestClient, token: str, name: str = DOC, **form: str) -> httpx.Response:
    data = {"token": token, "reason": "bulk", "comment": "", **form}
    return pages.post(f"/inbox/{name}/report", data=data, follow_redirects=False)


def test_report_a_message(pages: TestClient, server: Server) -> None:
    page = _page(pages)
    assert "Signaler un message indésirable" in page and 'value="not-for-me"' in page
    token = _token(page)
    assert _report(pages, "faux").status_code == 403
    assert _report(pages, token, reason="spam").status_code == 422
    assert _report(pages, token, comment="x" * 501).status_code == 422
    assert server.reports == []

    server.report_refusal = (403, "not-a-recipient")
    refused = _report(pages, token)
    assert refused.status_code == 403
    assert "ne trouve pas ce message dans votre boîte" in html.unescape(refused.text)
    server.report_refusal = None

    done = _report(pages, token, reason="advertising", comment="  Publicité pour un congrès. ")
    assert done.status_code == 303 and done.headers["location"].endswith("?reported=1")
    assert server.reports == [
        {"message_id": MESSAGE_ID, "reason": "advertising", "comment": "Publicité pour un congrès."}
    ]
    after = html.unescape(pages.get(done.headers["location"]).text)
    assert "Merci : le message est signalé à la modération." in after
    assert "Vous avez signalé ce message le" in after and "(Publicité)" in after
    assert 'action="/inbox/' not in after  # the form is gone
    again = _report(pages, token)
    assert again.status_code == 409 and "déjà signalé" in html.unescape(again.text)
    assert len(server.reports) == 1

    english = pages.get(f"/inbox/{DOC}?lang=en").text
    assert "You reported this message on" in html.unescape(english)


def test_what_cannot_be_reported(pages: TestClient, server: Server, config: AgentConfig) -> None:
    token = _token(_page(pages))
    loose = _page(pages, LOOSE)
    assert "ne peut pas être rattaché à un message reçu" in loose and "token" not in loose
    assert _report(pages, token, LOOSE).status_code == 404
    assert _report(pages, token, "absent.txt").status_code == 404
    server.down = True
    unreachable = _report(pages, token)
    assert unreachable.status_code == 503
    assert "le signalement n'est pas parti" in html.unescape(unreachable.text)
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as offline:
        assert "Signalement indisponible" in html.unescape(offline.get(f"/inbox/{DOC}").text)
