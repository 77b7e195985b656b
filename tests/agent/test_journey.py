"""A sent message's journey in the agent's pages, in Chromium, against a real server.

The lab sends, the GP's agent receives and signs its acknowledgement; the lab's page shows
the four steps (accepted, in the GP's mailbox, fetched, acknowledged with a verified signed
acknowledgement) in French then English, on a phone too; the saved receipt is checked by
``caducee verify`` with the log key, offline.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.ledger_watch import KEY_FILE
from caducee.agent.web import create_web_app
from tests.agent.conftest import GP, World, drop, open_runtime
from tests.agent.helpers import hprim_file
from tests.servers import serve_pages

pytestmark = pytest.mark.slow


@contextmanager
def pages(config: AgentConfig, client: ServerClient | None) -> Iterator[str]:
    """The agent's local pages on a free loopback port, as ``caducee agent run`` serves them."""
    with serve_pages(create_web_app(config, client), "/sent") as base:
        yield base


def test_the_journey_page_in_chromium_and_the_saved_receipt_verifies(
    world: World, tmp_path: Path
) -> None:
    from tests.browser import chromium

    _, lab, gp, _ = world
    with open_runtime(lab) as sender:
        drop(lab / "outbox", "parcours.hpr", hprim_file(GP, [("PARCOURS", "ALICE")], tag="8"))
        (outcome,) = sender.watcher().process_ready()
        assert outcome.state == "sent"
        with open_runtime(gp) as receiver:
            assert receiver.receiver().sync_once().delivered == [outcome.message_id]
        config = AgentConfig.load(lab)
        with pages(config, sender.client) as base, chromium() as browser:
            page = browser.new_page(locale="fr-FR")
            page.goto(f"{base}/sent")
            page.get_by_role("link", name="parcours").click()
            page.get_by_role("heading", name="Parcours du message").wait_for()
            rows = page.locator("tr.step")
            assert rows.count() == 4
            text = page.locator("table").inner_text()
            for expected in (
                "Accepté par le serveur",
                f"Déposé dans la boîte de {GP}",
                f"Retiré par le poste de {GP}",
                f"Accusé de réception de {GP}",
                "accusé signé par le destinataire, signature vérifiée",
            ):
                assert expected in text, expected
            assert page.locator("tr.abnormal").count() == 0
            acknowledged = rows.filter(has_text="Accusé de réception")
            with page.expect_download() as download:
                acknowledged.get_by_role("link", name="Enregistrer le reçu").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)

            page.goto(f"{base}/sent/{outcome.message_id}?lang=en")
            english = page.locator("table").inner_text()
            assert f"Acknowledged by {GP}" in english and "signature verified" in english

            phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
            phone.goto(f"{base}/sent/{outcome.message_id}")
            assert phone.locator("tr.step").count() == 4
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 360 + 1, f"the page overflows a phone: {width}px"

    log_key = (lab / KEY_FILE).read_text().strip()
    result = subprocess.run(
        [sys.executable, "-m", "caducee.cli", "verify", str(saved), "--log-key", log_key],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Reçu valide" in result.stdout and "ConsignmentAcceptance" in result.stdout


def test_without_the_server_the_page_says_so(world: World) -> None:
    _, lab, _, _ = world
    with open_runtime(lab) as sender:
        drop(lab / "outbox", "r.hpr", hprim_file(GP, [("SANS", "SERVEUR")], tag="9"))
        (outcome,) = sender.watcher().process_ready()
    config = AgentConfig.load(lab)
    gone = ServerClient("http://127.0.0.1:9", retries=0)
    with pages(config, gone) as base:
        answer = httpx.get(f"{base}/sent/{outcome.message_id}")
        assert answer.status_code == 503
        assert "le serveur ne répond pas" in answer.text
        assert httpx.get(f"{base}/sent/inconnu@caducee.test").status_code == 404
        assert httpx.get(f"{base}/sent/{outcome.message_id}/receipts/0").status_code == 503
