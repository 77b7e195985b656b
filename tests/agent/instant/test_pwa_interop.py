"""The workstation's Python client and the MISS web app in Chromium talk in one case: the
desktop opens the case (the patient's card, a text), the paired browser reads both and
answers, and the desktop reads the browser's text and its "je m'en occupe".

Reuses the web app test's set-up (``tests.instant.test_pwa``: a server process on SQLite,
three people's agent folders, a browser paired through the app and approved by the agent).
SYNTHETIC TEST MATERIAL: invented people and patient.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from caducee.agent.config import AgentConfig
from caducee.agent.instant import InstantClient
from caducee.instant.payloads import Acknowledgement, PatientCard, Text
from tests.instant.test_pwa import (  # noqa: F401 (setup is the module's server fixture)
    ALICE,
    CAROL,
    TIMEOUT,
    Setup,
    agent_client,
    entries,
    pair,
    setup,
)

pytestmark = pytest.mark.slow
PATIENT = PatientCard("280017512345612", "Lou ESSAI-FICTIF", "1980-01-02")


def test_the_desktop_and_the_browser_talk(setup: Setup) -> None:  # noqa: F811
    desktop = InstantClient.open(AgentConfig.load(setup.folders[CAROL]), agent_client(setup, CAROL))
    context = setup.browser.new_context()
    try:
        alice = pair(setup, context, ALICE, "Poste du Dr Alice")
        case = desktop.create_case([ALICE], PATIENT, "Depuis le poste de Carol")

        alice.locator("#case-list button").first.click(timeout=TIMEOUT)
        expect(alice.locator("#patient")).to_contain_text(PATIENT.name, timeout=TIMEOUT)
        expect(entries(alice).filter(has_text="Depuis le poste de Carol")).to_have_count(
            1, timeout=TIMEOUT
        )
        alice.fill("#send textarea", "Lu depuis le navigateur, je passe le voir.")
        alice.click("#send button")
        alice.click("#ack")
        expect(alice.locator("#entries .entry.ack").first).to_be_visible(timeout=TIMEOUT)

        case.sync()
        said = [(e.sender, e.payload) for e in case.entries if e.sender == ALICE]
        assert (ALICE, Text("Lu depuis le navigateur, je passe le voir.")) in said
        assert (ALICE, Acknowledgement()) in said
        assert all(e.error is None for e in case.entries), [e.error for e in case.entries]
    finally:
        context.close()
