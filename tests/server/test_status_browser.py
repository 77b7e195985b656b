"""The status page in a real browser (Chromium), on a desktop and on a phone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser import chromium
from tests.servers import running_server


def test_status_page_in_chromium_french_english_and_phone(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as base, chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(base + "/")
        expect(page.locator("h1")).to_have_text("État du service")
        expect(page.locator("[role=status]")).to_contain_text("Le service est prêt")
        page.click("text=English")
        expect(page.locator("h1")).to_have_text("Service status")
        page.goto(base + "/")  # the choice is remembered
        expect(page.locator("h1")).to_have_text("Service status")
        root = page.request.get(base + "/pki/root.pem")
        assert root.ok and b"BEGIN CERTIFICATE" in root.body()

        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
        phone.goto(base + "/")
        expect(phone.locator("h1")).to_have_text("État du service")
        overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, "the status page scrolls sideways on a phone"
        phone.screenshot(path=str(tmp_path / "status-phone.png"), full_page=True)
