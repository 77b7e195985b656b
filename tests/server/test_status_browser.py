"""The status page in a real browser (Chromium), on a desktop and on a phone."""

from __future__ import annotations

from pathlib import Path

from tests.browser import chromium
from tests.servers import running_server


def test_status_page_in_chromium_french_english_and_phone(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as base, chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(base + "/")
        assert page.locator("h1").inner_text() == "État du service"
        assert "Le service est prêt" in page.locator("[role=status]").inner_text()
        page.click("text=English")
        assert page.locator("h1").inner_text() == "Service status"
        page.goto(base + "/")  # the choice is remembered
        assert page.locator("h1").inner_text() == "Service status"
        root = page.request.get(base + "/pki/root.pem")
        assert root.ok and b"BEGIN CERTIFICATE" in root.body()

        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
        phone.goto(base + "/")
        overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, "the status page scrolls sideways on a phone"
        phone.screenshot(path=str(tmp_path / "status-phone.png"), full_page=True)
