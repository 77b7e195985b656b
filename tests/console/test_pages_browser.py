"""The console's pages in Chromium: log in, the dashboard's charts, one-click moderation, a phone.

A real server process on a small synthetic year (``caducee console generate``), Chromium
through Playwright; a held message is put in the queue by the moderation service on the
server's own database, then refused by a click.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.sync_api import expect

from caducee.policy.moderation import ModerationService
from caducee.relay import Envelope
from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token
from caducee.store import Database
from tests.browser import chromium
from tests.servers import caducee, running_server


def _hold(data_dir: Path) -> int:
    async def put() -> int:
        database = Database(f"sqlite+aiosqlite:///{data_dir / 'caducee.db'}")
        try:
            held = await ModerationService(database).hold(
                sender_mailbox_id=1,
                envelope=Envelope("these@synthetique.test", "u0@synthetique.caducee.test",
                                  tuple(f"u{i}@synthetique.caducee.test" for i in range(1, 40)),
                                  "", "Document concernant votre patient"),
                ciphertext_sha256="ab" * 32,
                size=4096,
                reason="too-many-recipients",
                detail="39 recipients in one message, at most 20",
            )  # fmt: skip
            return held.id
        finally:
            await database.close()

    return asyncio.run(put())


def test_console_in_chromium(tmp_path: Path) -> None:
    data = tmp_path / "data"
    caducee("console", "generate", "--data-dir", str(data), "--users", "400", "--days", "60")
    hold_id = _hold(data)  # before the browser: Playwright's sync API runs its own loop
    with running_server(data) as base, chromium() as browser:
        ensure_operator_token(data)  # the server makes it on first use; the test reads it
        token = (data / OPERATOR_TOKEN_FILE).read_text().strip()
        page = browser.new_page(locale="fr-FR")
        page.goto(base + "/console")
        expect(page.locator("h1")).to_have_text("Console de l’opérateur")  # the login page
        page.fill("#token", "pas le bon")
        page.click("button[type=submit]")
        expect(page.locator("[role=alert]")).to_have_text("Jeton incorrect.")
        page.fill("#token", token)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Chiffres du réseau")
        expect(page.locator("#active-users")).not_to_have_text("0")
        page.wait_for_function("window.caduceeCharts && window.caduceeCharts.length === 2")
        drawn = page.evaluate(
            "window.caduceeCharts.map(c => c.data.datasets.reduce((n, d) => n + d.data.length, 0))"
        )
        assert all(n > 0 for n in drawn), drawn
        assert page.evaluate("document.getElementById('chart-active').height") > 0
        expect(page.locator("#chu dt").first).to_be_visible()
        page.click("text=English")
        expect(page.locator("h1")).to_have_text("Network figures")
        page.goto(base + "/console?lang=fr")

        page.click("text=Modération")
        row = page.locator(f"#hold-{hold_id}")
        expect(row).to_contain_text("39 recipients")
        row.locator("button.refuse").click()
        expect(page.locator(f"#hold-{hold_id}")).to_have_count(0)
        expect(page.locator("#decided")).to_contain_text("refusé")

        page.click("text=Établissements")
        expect(page.locator("h1")).to_have_text("Établissements")
        charter = page.request.get(base + "/charter")
        assert charter.ok and "Charte de bon usage" in charter.text()

        phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        phone_page = phone.new_page()
        phone_page.goto(base + "/console/login")
        phone_page.fill("#token", token)
        phone_page.click("button[type=submit]")
        expect(phone_page.locator("h1")).to_have_text("Chiffres du réseau")
        for path in ("/console", "/console/moderation"):
            phone_page.goto(base + path)
            overflow = phone_page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"
            )
            assert overflow is False, f"{path} scrolls sideways on a phone"
        phone_page.screenshot(path=str(tmp_path / "console-phone.png"), full_page=True)
