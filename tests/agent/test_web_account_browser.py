"""The account pages in Chromium against a real server: an application password made, seen
once and revoked; the manager signs the charter, adds a person and gets a code; a phone's
width. (The database engines are covered by ``test_web_account``; this is the browser.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page

from caducee.agent.config import AgentConfig
from caducee.agent.web import create_web_app
from caducee.directory.identifiers import luhn_complete
from tests.agent.test_web_account import AccountWorld, account_world, agent_client
from tests.servers import serve_pages

pytestmark = pytest.mark.slow
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountWorld]:
    folder = tmp_path_factory.mktemp("account-browser")
    with account_world(folder, f"sqlite+aiosqlite:///{folder / 'caducee.db'}") as found:
        yield found


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """The agent's pages on a loopback port, as ``caducee agent run`` serves them."""
    with serve_pages(app) as base:
        yield base


@pytest.fixture
def gp_pages(world: AccountWorld) -> Iterator[str]:
    with _serve(create_web_app(world.gp, agent_client(world.gp))) as base:
        yield base


@pytest.fixture
def manager_pages(world: AccountWorld) -> Iterator[str]:
    with _serve(create_web_app(world.manager, agent_client(world.manager))) as base:
        yield base


WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className).slice(0, 5)"""


def _fits_a_phone(page: Page) -> None:
    """The page, at a phone's width, does not scroll sideways (checked in place: reloading
    would spend a secret that is shown once)."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False, f"{page.url} scrolls sideways on a phone: {page.evaluate(WIDER)}"
    finally:
        if size is not None:
            page.set_viewport_size(size)


def test_an_app_password_in_chromium(gp_pages: str, world: AccountWorld) -> None:
    from tests.browser import chromium

    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(gp_pages + "/inbox")
        page.click("text=Mon compte")
        assert page.locator("h1").inner_text() == "Mon compte"
        assert "support@caducee.test" in page.locator("#support").inner_text()
        assert "Aucune sanction" in page.locator("#sanctions").inner_text()
        page.fill("#label", "Thunderbird cabinet")
        page.click("#new-password-form button")
        secret = page.locator("#new-password").inner_text()
        assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", secret), secret
        created = page.locator("#created").inner_text()
        assert "plus jamais affiché" in created and "STARTTLS" in created
        assert "/.well-known/autoconfig/mail/config-v1.1.xml" in created
        _fits_a_phone(page)  # with the one-time box
        page.reload()
        assert page.locator("#new-password").count() == 0, "shown a second time"
        assert secret not in page.content()
        row = page.locator("#passwords tr", has_text="Thunderbird cabinet")
        assert "actif" in row.inner_text()
        row.locator("button").click()
        assert "Mot de passe révoqué" in page.locator("[role=status]").first.inner_text()
        row = page.locator("#passwords tr", has_text="Thunderbird cabinet")
        assert "révoqué le" in row.inner_text() and row.locator("button").count() == 0
        page.click("text=English")
        assert page.locator("h1").inner_text() == "My account"
        _fits_a_phone(page)
    with agent_client(world.gp) as client:
        rows = client.request("GET", "/api/v1/interop/app-passwords").json()["passwords"]
    assert [r["revoked_at"] is not None for r in rows if r["label"] == "Thunderbird cabinet"] == [
        True
    ]


def test_the_manager_in_chromium(manager_pages: str, world: AccountWorld) -> None:
    from tests.browser import chromium

    rpps = luhn_complete("6600000301")
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(manager_pages + "/account")
        page.click("#establishment-link")
        assert page.locator("h1").inner_text() == "Mon établissement"
        assert page.locator("#charter-state").get_attribute("data-state") == "missing"
        assert "Pas d'envois en nombre." in page.locator("#charter-text").inner_text()
        _fits_a_phone(page)

        page.fill("#rpps", "12345678901")  # a wrong Luhn key
        page.fill("#given_name", "Lou")
        page.fill("#family_name", "ESSAI")
        page.fill("#profession", "sage-femme")
        page.fill("#mailbox", "lou.essai@caducee.test")
        page.click("#add-form button")
        assert "RPPS invalide" in page.locator("[role=alert]").inner_text()
        assert page.locator("#family_name").input_value() == "ESSAI"  # the form is kept
        page.fill("#rpps", rpps)
        page.click("#add-form button")
        assert "Membre ajouté" in page.locator("[role=status]").first.inner_text()

        page.locator(f"tr[data-rpps='{rpps}'] button").click()
        assert "accepter la charte" in page.locator("[role=alert]").inner_text()
        assert page.locator("#enrolment-code").count() == 0

        page.click("#sign-form button")
        assert "Charte signée" in page.locator("[role=status]").first.inner_text()
        assert page.locator("#charter-state").get_attribute("data-state") == "signed"
        assert page.locator("#sign-form").count() == 0

        page.locator(f"tr[data-rpps='{rpps}'] button").click()
        code = page.locator("#enrolment-code").inner_text()
        assert code and "lou.essai@caducee.test" in page.locator("#code").inner_text()
        _fits_a_phone(page)  # with the code and the people
        page.reload()
        assert page.locator("#enrolment-code").count() == 0, "a code is shown only once"


def test_the_phone_width_without_a_server(tmp_path: Path) -> None:
    """Even the notice for a missing identity fits a phone."""
    from tests.browser import chromium

    config = AgentConfig(directory=tmp_path, server="http://127.0.0.1:9", address="x@caducee.test")
    config.ensure_folders()
    with _serve(create_web_app(config)) as base, chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        page.goto(base + "/account")
        assert "connecté au serveur" in page.locator("[role=alert]").inner_text()
        _fits_a_phone(page)
