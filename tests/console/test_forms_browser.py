"""The console's forms in Chromium: register, publish the charter, set limits, sanction; a phone.

A real server process (``caducee server run``) on a fresh data folder, Chromium through
Playwright. The one step a browser cannot do here, a manager signing the charter with their
certificate, is done by the charter service on the server's own database.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, expect

from caducee.directory.identifiers import luhn_complete
from caducee.policy.charter import CharterService
from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token
from caducee.store import Database
from tests.browser import chromium
from tests.servers import running_server

FINESS = luhn_complete("99200001")
RPPS = luhn_complete("9920000001")
MANAGER = "direction.roses@console.test"
PAGES = ("/console", "/console/establishments", "/console/charter", "/console/limits",
         "/console/moderation", "/console/sanctions")  # fmt: skip


def _sign(data_dir: Path, finess: str, rpps: str) -> None:
    """The manager accepts the current charter (in a thread: Playwright owns this one's loop)."""

    async def sign() -> None:
        database = Database(f"sqlite+aiosqlite:///{data_dir / 'caducee.db'}")
        try:
            service = CharterService(database)
            charter = await service.current()
            assert charter is not None
            await service.sign(
                finess=finess, signer_rpps=rpps, signer_address=MANAGER,
                charter_sha256=charter.sha256,
            )  # fmt: skip
        finally:
            await database.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, sign()).result()


def _log_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/console/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Chiffres du réseau")


def _register(page: Page, finess: str) -> None:
    page.fill("#reg-name", "EHPAD Les Roses (synthétique)")
    page.fill("#reg-finess", finess)
    page.select_option("#reg-type", "nursing_home")
    page.fill("#reg-beds", "72")
    page.fill("#reg-address", "12 avenue des Roses")
    page.fill("#reg-postcode", "44000")
    page.fill("#reg-city", "Nantes")
    page.fill("#reg-region", "Pays de la Loire")
    page.fill("#reg-rpps", RPPS)
    page.fill("#reg-given-name", "Claude")
    page.fill("#reg-family-name", "DIRECTION")
    page.fill("#reg-mailbox", MANAGER)
    page.click("#register-form button[type=submit]")


def _publish(page: Page, text: str) -> None:
    page.click("nav >> text=Charte")
    page.fill("#charter-text", text)
    page.click("#charter-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("doit la signer à nouveau")


def test_the_console_forms_in_chromium(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as base, chromium() as browser:
        ensure_operator_token(data)
        token = (data / OPERATOR_TOKEN_FILE).read_text().strip()
        page = browser.new_page(locale="fr-FR")
        _log_in(page, base, token)
        expect(page.locator("#support")).to_contain_text("Assistance")

        # 1. Register an establishment; then a forged FINESS is refused, nothing created.
        page.click("nav >> text=Établissements")
        _register(page, FINESS)
        expect(page.locator("#notice")).to_contain_text("Établissement enregistré")
        row = page.locator(f"#est-{FINESS}")
        expect(row).to_contain_text("72 lits")
        expect(row).to_contain_text("aucune charte")
        forged = FINESS[:-1] + str((int(FINESS[-1]) + 1) % 10)
        page.fill("#reg-rpps", luhn_complete("9920000002"))
        _register(page, forged)
        expect(page.locator("#form-errors")).to_contain_text("clé de Luhn")
        expect(page.locator("#reg-finess")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#establishments tbody tr")).to_have_count(1)

        # 2. Publish the charter; the manager signs; a new version puts them out of date.
        _publish(page, "Charte de bon usage v1 (synthétique)")
        expect(page.locator("#charter-signed")).to_have_text("0 / 1 établissements")
        _sign(data, FINESS, RPPS)
        page.reload()
        expect(page.locator("#charter-signed")).to_have_text("1 / 1 établissements")
        _publish(page, "Charte de bon usage v2 : pas d’annonces en nombre (synthétique)")
        expect(page.locator("#charter-version")).to_have_text("2")
        page.click("#notice >> text=Voir les établissements")
        expect(page.locator(f"#est-{FINESS} .charter-state")).to_contain_text("pas à jour")
        expect(page.locator(f"#est-{FINESS} .charter-state")).to_contain_text("v1 → v2")

        # 3. Limits: set a scope; a value out of range is refused and the scope unchanged.
        page.click("nav >> text=Limites d’envoi")
        page.fill("#limit-scope", "type:nursing_home")
        page.fill("#limit-recipients_per_message", "15")
        page.fill("#limit-messages_per_hour", "300")
        page.fill("#limit-new_recipients_per_hour", "25")
        page.click("#limits-form button[type=submit]")
        scope = page.locator('#scopes tr[data-scope="type:nursing_home"]')
        expect(scope).to_contain_text("300")
        scope.locator("text=Modifier").click()
        expect(page.locator("#limit-messages_per_hour")).to_have_value("300")
        page.fill("#limit-recipients_per_message", "0")
        page.click("#limits-form button[type=submit]")
        expect(page.locator("#form-errors")).to_contain_text("Un nombre entier de 1 à 100")
        expect(page.locator('#scopes tr[data-scope="type:nursing_home"] td').nth(1)).to_have_text(
            "15"
        )

        # 4. A sanction on the manager's mailbox: given, listed, lifted.
        page.click("nav >> text=Sanctions")
        page.fill("#sanction-address", MANAGER)
        page.check("input[name=level][value=hold]")
        page.fill("#sanction-reason", "Annonce envoyée à tout le réseau (synthétique)")
        page.click("#sanction-form button[type=submit]")
        expect(page.locator("#notice")).to_contain_text("prononcée")
        listed = page.locator("#sanctions tbody tr", has_text=MANAGER)
        expect(listed).to_contain_text("retenue de chaque message")
        listed.locator("button.lift").click()
        expect(page.locator("#notice")).to_contain_text("levée")
        expect(page.locator("#sanctions tbody tr", has_text=MANAGER)).to_have_count(0)

        # 5. A phone: every page fits its width, and a form still answers.
        phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        small = phone.new_page()
        _log_in(small, base, token)
        for path in PAGES:
            small.goto(base + path)
            overflow = small.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert overflow is False, f"{path} scrolls sideways on a phone"
        small.goto(base + "/console/establishments")
        _register(small, forged)
        expect(small.locator("#form-errors")).to_contain_text("clé de Luhn")
        assert small.evaluate("document.documentElement.scrollWidth > window.innerWidth") is False
        small.screenshot(path=str(tmp_path / "console-forms-phone.png"), full_page=True)
