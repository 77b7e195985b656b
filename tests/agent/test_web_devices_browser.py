"""The "Mes appareils" page in Chromium at a phone's width, against a real server: from "Mon
compte" to the list, a device revoked through the confirmation, seen revoked. (The database
engines are covered by ``test_web_devices``; this is the browser.)

SYNTHETIC TEST MATERIAL: invented people; device keys made afresh.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ViewportSize

from caducee.agent.instant.device import ensure_device
from caducee.agent.web import create_web_app
from tests.agent.test_web_account_browser import WIDER
from tests.agent.test_web_devices import PERSON, browser, on_server
from tests.live_office import Office, open_office
from tests.servers import serve_pages

pytestmark = pytest.mark.slow
PHONE = ViewportSize(width=360, height=740)


@pytest.fixture(scope="module")
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("devices-browser")
    with open_office(request, root, (PERSON,), first_number=72) as found:
        yield found


def test_a_device_revoked_in_chromium_at_a_phone_width(office: Office) -> None:
    from tests.browser import chromium

    workstation = ensure_device(office.configs[PERSON], office.client(PERSON))
    phone = browser(office)
    app = create_web_app(office.configs[PERSON], office.client(PERSON))
    with serve_pages(app) as base, chromium() as chrome:
        page = chrome.new_page(locale="fr-FR", viewport=PHONE)
        page.goto(base + "/account")
        page.click("#devices-link")
        assert page.locator("h1").inner_text() == "Mes appareils"
        own = page.locator(f"tr[data-device='{workstation.device_id}']")
        assert "Ce poste" in own.inner_text() and "post-quantique" in own.inner_text()
        row = page.locator(f"tr[data-device='{phone.device_id}']")
        assert "actif" in row.inner_text() and "non post-quantique" in row.inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"the list scrolls sideways: {page.evaluate(WIDER)}"

        row.locator("button").click()
        assert page.locator("h1").inner_text() == "Révoquer cet appareil ?"
        assert "ne peut plus lire les nouveaux messages" in page.locator("#meaning").inner_text()
        assert page.locator("#this-workstation-warning").count() == 0
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"the confirmation scrolls sideways: {page.evaluate(WIDER)}"
        assert on_server(office)[phone.device_id]["revoked_at"] is None, "asking revoked it"

        page.click("#revoke-form button")
        assert "Appareil révoqué" in page.locator("#done").inner_text()
        row = page.locator(f"tr[data-device='{phone.device_id}']")
        assert row.get_attribute("data-state") == "revoked"
        assert "révoqué le" in row.inner_text() and row.locator("button").count() == 0
        assert own.get_attribute("data-state") == "active"

        page.click("text=English")
        assert page.locator("h1").inner_text() == "My devices"
        assert "revoked on" in row.inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"the English list scrolls sideways: {page.evaluate(WIDER)}"
    assert on_server(office)[phone.device_id]["revoked_at"] is not None
