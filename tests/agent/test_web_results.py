"""The results pages: the table with abnormal values marked, the PDF-only badge, the queue.

In-process (TestClient) and in Chromium, French and English, and at phone width.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caducee.agent.config import AgentConfig
from caducee.agent.inbox import InboxWriter
from caducee.agent.journal import Journal
from caducee.agent.tomatch import PatientList
from caducee.agent.web import create_web_app
from tests.agent.helpers import hprim_file
from tests.servers import serve_pages

GP = "dr.testeur@caducee.test"
LAB = "labo.fictif@caducee.test"
PDF = b"%PDF-1.7\n% compte rendu fictif\n%%EOF\n"
CSV = (
    "Identifiant;Nom;Prénom;Date de naissance\n"
    "P001;FICTIF;ALICE;17/05/1980\nP002;ESSAI;BRUNO;17/05/1980\nP003;ESSAI;BRUNA;17/05/1980\n"
)
HIGH = hprim_file(GP, [("FICTIF", "ALICE")]).replace(
    b"|0.95|g/l|0,70|1,10|N|", b"|1.45|g/l|0,70|1,10|H|"
)


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    (tmp_path / "patients.csv").write_text(CSV, "utf-8")
    config = AgentConfig(
        directory=tmp_path, server="http://s.test", address=GP, patients_csv="patients.csv"
    )
    config.ensure_folders()
    with Journal(config.journal_path) as journal:
        writer = InboxWriter(
            journal,
            inbox=config.folder("inbox"),
            archive=config.folder("archive"),
            quarantine=config.folder("quarantine"),
            to_match=config.folder("to_match"),
            patients=PatientList(tmp_path / "patients.csv").patients,
        )
        when = datetime(2026, 1, 2, 3, 4, 5)
        writer.deliver([("r.hpr", HIGH)], sender=LAB, message_id="aaaa0001@x", when=when)
        journal.record_flags("bbbb0002@x", {"pdf-only"})
        writer.deliver([("cr.pdf", PDF)], sender=LAB, message_id="bbbb0002@x", when=when)
        twin = hprim_file(GP, [("ESSAI", "BRUNO")], tag="3")
        writer.deliver([("t.hpr", twin)], sender=LAB, message_id="cccc0003@x", when=when)
    return config


def _names(config: AgentConfig, folder: str) -> list[str]:
    return sorted(p.name for p in config.folder(folder).iterdir() if not p.name.startswith("."))


def test_results_badge_and_queue_in_process(config: AgentConfig) -> None:
    hpr, pdf = _names(config, "inbox")
    assert hpr.endswith("_pat-P001.hpr") and pdf.endswith(".pdf")
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as client:
        inbox = client.get("/inbox", headers={"accept-language": "fr"}).text
        assert inbox.count(">PDF seul<") == 1 and "À rapprocher" in inbox
        page = client.get(f"/inbox/{hpr}").text
        assert '<tr class="abnormal">' in page and "▲ anormal (H)" in page
        assert "0,70 - 1,10" in page and "1.45" in page and "Valeurs de référence" in page
        assert "PDF seul" in client.get(f"/inbox/{pdf}").text
        english = client.get(f"/inbox/{hpr}?lang=en").text
        assert "▲ abnormal (H)" in english and "Reference range" in english

        queue = client.get("/to-match").text
        assert "Documents to match" in queue and "P002" in queue and "P003" in queue
        assert "ESSAI BRUNA" in queue and "near-twin" in queue
        (queued,) = [n for n in _names(config, "to_match") if n.endswith(".hpr")]
        token = queue.split('name="token" value="', 1)[1].split('"', 1)[0]
        refused = client.post(f"/to-match/{queued}", data={"token": "x", "patient": "P002"})
        assert refused.status_code == 403
        stranger = client.post(f"/to-match/{queued}", data={"token": token, "patient": "P001"})
        assert stranger.status_code == 404 and _names(config, "to_match")
        done = client.post(
            f"/to-match/{queued}",
            data={"token": token, "patient": "P003"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and _names(config, "to_match") == []
        assert any(n.endswith("_pat-P003.hpr") for n in _names(config, "inbox"))
        assert "No document to match" in client.get(done.headers["location"]).text


@pytest.fixture
def served(config: AgentConfig) -> Iterator[str]:
    with serve_pages(create_web_app(config)) as base:
        yield base


def test_in_chromium_table_queue_and_phone(served: str, config: AgentConfig) -> None:
    from tests.browser import chromium

    hpr, _pdf = _names(config, "inbox")
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(served + "/inbox")
        assert page.locator(".badge.pdf-only").inner_text() == "PDF seul"
        page.click(f"text={hpr}")
        row = page.locator("tr.abnormal")
        assert row.count() == 1 and "▲ anormal (H)" in row.inner_text()
        assert "0,70 - 1,10" in row.inner_text()
        page.click("text=À rapprocher")
        assert page.locator("h1").inner_text() == "Documents à rapprocher"
        page.check("input[value=__new__]")
        page.click("button[type=submit]")
        assert "Document classé" in page.locator("[role=status]").inner_text()
        assert _names(config, "to_match") == []

        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="en-GB")
        for path in (f"/inbox/{hpr}", "/to-match", "/inbox"):
            phone.goto(served + path)
            overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert overflow is False, f"{path} scrolls sideways on a phone"
        phone.goto(served + f"/inbox/{hpr}")
        assert "abnormal" in phone.locator("tr.abnormal").inner_text()
