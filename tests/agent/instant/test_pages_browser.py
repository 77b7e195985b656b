"""The case pages in Chromium, served as ``caducee agent run`` serves them, against a real
server (SQLite; both engines are covered in-process by ``test_pages``): from the menu to the
list, open a case another person's Python client started, see their photo (decrypted here,
served by the attachment route: the pages' CSP forbids ``data:`` URLs), write, reply, say
"je m'en occupe", export to the patient's record; at a phone's width nothing scrolls
sideways.

SYNTHETIC TEST MATERIAL: invented people and patient (``conftest``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from caducee.agent.web import create_web_app
from caducee.instant.payloads import Text
from tests.agent.instant.conftest import ALICE, BOB, CAROL, PATIENT, Office, open_office
from tests.agent.instant.test_client import PNG
from tests.servers import serve_pages

pytestmark = pytest.mark.slow
PHONE: ViewportSize = {"width": 360, "height": 740}
TIMEOUT = 30_000
WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className).slice(0, 5)"""


@pytest.fixture(scope="module")
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("miss-pages")
    with open_office(request, root, (ALICE, BOB, CAROL), first_number=31) as found:
        yield found


@pytest.fixture
def served(office: Office) -> Iterator[str]:
    app = create_web_app(office.configs[ALICE], office.client(ALICE))
    with serve_pages(app) as base:
        yield base


def fits_a_phone(page: Page) -> None:
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"{page.url} scrolls sideways on a phone: {page.evaluate(WIDER)}"
    finally:
        if size is not None:
            page.set_viewport_size(size)


def test_the_case_pages_in_chromium(office: Office, served: str) -> None:
    from tests.browser import chromium

    office.instant(ALICE)  # Alice's workstation has its device before Bob writes to her
    bob = office.instant(BOB)
    case = bob.create_case([ALICE], PATIENT, "Alice, peux-tu regarder ce tracé ?")
    case.attach("ecg.png", "image/png", PNG, caption="ECG de 8 h")
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.goto(served + "/inbox")
        page.click("header >> text=Conversations")
        expect(page.locator("h1")).to_have_text("Conversations sur un patient (MISS)")
        row = page.locator(f"#cases tr[data-case='{case.case_id}']")
        expect(row).to_contain_text(PATIENT.name)
        expect(row.locator(".unread")).to_have_text("3 non lu(s)")
        fits_a_phone(page)

        row.locator("a.open").click()
        expect(page.locator("#patient")).to_contain_text(PATIENT.name)
        expect(page.locator("#patient")).to_contain_text(f"INS {PATIENT.ins}")
        image = page.locator("figure img")
        expect(image).to_be_visible()
        page.wait_for_function("() => document.querySelector('figure img').naturalWidth > 0")
        assert "/attachments/" in (image.get_attribute("src") or "")
        fits_a_phone(page)

        # Write, then reply to Bob's question (the form shows what is answered).
        page.fill("#text", "Je regarde tout de suite.")
        page.click("#send-form button[type=submit]")
        expect(page.locator("[role=status]")).to_have_text("Message envoyé.")
        expect(page.locator("#entries li.mine").last).to_contain_text("Je regarde tout de suite.")
        page.locator("#entries li.text:not(.mine) a.reply").first.click()
        expect(page.locator("#replying")).to_contain_text("peux-tu regarder ce tracé")
        page.fill("#text", "Rythme sinusal, pas de sus-décalage.")
        page.click("#send-form button[type=submit]")
        answered = page.locator("#entries li.mine").last
        expect(answered.locator("blockquote.quote")).to_contain_text("peux-tu regarder")
        page.click("#ack")
        expect(page.locator("#entries li.ack")).to_contain_text("moi : je m'en occupe")

        # Export to the patient's record: queued in the outbox, recorded on the page.
        page.click("#export-button")
        expect(page.locator("[role=status]")).to_contain_text("Export déposé")
        expect(page.locator("#exports")).to_contain_text(f"vers {ALICE}")
        fits_a_phone(page)

        # The English page.
        page.goto(served + f"/cases/{case.case_id}?lang=en")
        expect(page.locator("#export-button")).to_have_text("Export to the patient's record")
    assert errors == []
    outbox = office.configs[ALICE].folder("outbox")
    queued = sorted(p.name for p in outbox.iterdir())
    assert sorted(n.rsplit(".", 1)[1] for n in queued) == ["png", "to", "to", "txt"], queued
    case.sync()
    said = [e.payload.text for e in case.entries if isinstance(e.payload, Text)]
    assert said[-2:] == ["Je regarde tout de suite.", "Rythme sinusal, pas de sus-décalage."]
    assert any(e.kind == "ack" and e.sender == ALICE for e in case.entries)
