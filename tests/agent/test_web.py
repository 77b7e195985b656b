"""The local pages: in-process (TestClient) and in Chromium (Playwright), French and English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caducee.agent.config import AgentConfig
from caducee.agent.inbox import write_exclusive
from caducee.agent.journal import Journal
from caducee.agent.web import create_web_app
from caducee.agent.web.messages import MESSAGES
from tests.agent.helpers import hprim_file
from tests.servers import serve_pages

GP = "dr.testeur@caducee.test"
DOC = "20260102-030405_labo.fictif_FICTIF-ALICE_3f2a9c01.hpr"


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    config = AgentConfig(directory=tmp_path, server="http://s.test", address=GP)
    config.ensure_folders()
    write_exclusive(config.folder("inbox"), DOC, hprim_file(GP, [("FICTIF", "ALICE")]))
    write_exclusive(
        config.folder("quarantine"),
        "m1-x.test.reason.txt",
        b"message_id: m1@x.test\ncode: certificate-revoked\nreason: revoked on 2026-01-01\n",
    )
    with Journal(config.journal_path) as journal:
        journal.begin_outgoing("ab" * 32, "envoi.hpr", "0123456789abcdef@caducee.test")
        journal.finish_outgoing("ab" * 32, "envoi.hpr", state="sent", recipients=(GP,))
    return config


@pytest.fixture
def client(config: AgentConfig) -> Iterator[TestClient]:
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as client:
        yield client


def test_catalogues_have_the_same_keys() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])


def test_only_loopback_hosts_are_served(config: AgentConfig) -> None:
    with TestClient(create_web_app(config), base_url="http://evil.test") as stranger:
        assert stranger.get("/inbox").status_code == 403


def test_pages(client: TestClient) -> None:
    inbox = client.get("/inbox", headers={"accept-language": "fr-FR"})
    assert inbox.status_code == 200 and DOC in inbox.text and "Documents reçus" in inbox.text
    assert inbox.headers["cache-control"] == "no-store"
    document = client.get(f"/inbox/{DOC}")
    assert "FICTIF" in document.text and "****FIN****" in document.text
    assert client.get(f"/inbox/{DOC}/raw").content.startswith(b"0000424242")
    assert client.get("/inbox/..%2Fagent.json").status_code == 404
    assert client.get("/inbox/journal.sqlite/raw").status_code == 404
    assert "certificate-revoked" in client.get("/quarantine").text
    sent = client.get("/sent?lang=en")
    assert "envoi.hpr" in sent.text and "sent" in sent.text and "Sent" in sent.text
    assert "Received documents" in client.get("/inbox").text  # the cookie keeps English


def test_the_menu_reaches_every_part(client: TestClient) -> None:
    menu = client.get("/inbox?lang=fr").text.split("<main>")[0]
    for href, word in (
        ("/send", "Envoyer"),
        ("/prescriptions", "Ordonnances"),
        ("/account", "Mon compte"),
    ):
        assert f'href="{href}"' in menu and word in menu


def test_send_puts_the_file_and_its_sidecar_in_the_outbox(
    client: TestClient, config: AgentConfig
) -> None:
    form = client.get("/send").text
    token = form.split('name="token" value="', 1)[1].split('"', 1)[0]
    files = {"document": ("compte rendu é.pdf", b"%PDF-1.7 fictif", "application/pdf")}
    refused = client.post("/send", data={"to": GP, "token": "faux"}, files=files)
    assert refused.status_code == 403
    assert (
        client.post("/send", data={"to": "personne", "token": token}, files=files).status_code
        == 422
    )
    answer = client.post(
        "/send",
        data={"to": f"{GP}, b@caducee.test", "token": token},
        files=files,
        follow_redirects=False,
    )
    assert answer.status_code == 303
    names = sorted(p.name for p in config.folder("outbox").iterdir())
    assert (
        len(names) == 2
        and names[0].endswith("_compte-rendu-e.pdf")
        and names[1] == names[0] + ".to"
    )
    assert (config.folder("outbox") / names[1]).read_text() == f"{GP}\nb@caducee.test"
    assert (config.folder("outbox") / names[0]).read_bytes() == b"%PDF-1.7 fictif"


@pytest.fixture
def served(config: AgentConfig) -> Iterator[str]:
    with serve_pages(create_web_app(config)) as base:
        yield base


def test_in_chromium_french_english_and_send(
    served: str, config: AgentConfig, tmp_path: Path
) -> None:
    from tests.browser import chromium

    upload = tmp_path / "résultat.txt"
    upload.write_bytes(b"Compte rendu fictif\n")
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(served + "/")
        assert page.locator("h1").inner_text() == "Documents reçus"
        page.click(f"text={DOC}")
        assert "FICTIF" in page.locator("pre").inner_text()
        page.click("text=English")
        assert page.locator("h1").inner_text() == DOC
        page.click("text=Quarantine")
        assert page.locator("h1").inner_text() == "Messages set aside"
        assert "certificate-revoked" in page.locator("table").inner_text()
        page.click("text=Send")
        page.fill("#to", GP)
        page.set_input_files("#document", str(upload))
        page.click("button[type=submit]")
        assert "is in the outbox" in page.locator("[role=status]").inner_text()
        assert any(p.name.endswith("_resultat.txt") for p in config.folder("outbox").iterdir())

        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
        phone.goto(served + "/sent")
        overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, "the sent page scrolls sideways on a phone"
