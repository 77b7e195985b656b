"""The MISS web app in Chromium as the escalation's backup: the desktop client opens a case to
an on-call role (Bob on duty, Carol behind), writes the question and is closed; the escalation
adds Carol, whose browser, never online while the question was written by anyone else, shows
the patient's card and the question (sealed to her browser ahead of time, from the start of
the generation).

Reuses the web app test's set-up (``tests.instant.test_pwa``: a server process on SQLite,
three people's agent folders, a browser paired through the app and approved by the agent) and
the role of ``test_history``. SYNTHETIC TEST MATERIAL: invented people and patient.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from caducee.agent.config import AgentConfig
from caducee.agent.instant import InstantClient
from caducee.instant.payloads import PatientCard
from tests.agent.instant.test_history import on_call_role
from tests.instant.test_pwa import (  # noqa: F401 (setup is the module's server fixture)
    ALICE,
    BOB,
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
ESCALATION_TIMEOUT = 60_000  # 10 s of delay, a timer that looks every 5 s, a busy machine


def test_the_backup_browser_reads_the_question_after_the_escalation(
    setup: Setup,  # noqa: F811
) -> None:
    context = setup.browser.new_context()
    try:
        carol = pair(setup, context, CAROL, "Téléphone du Dr Carol")
        role = on_call_role(setup.office, BOB, CAROL)
        desktop = InstantClient.open(
            AgentConfig.load(setup.folders[ALICE]), agent_client(setup, ALICE)
        )
        case = desktop.create_case([], PATIENT, "Douleur thoracique, avis urgent ?", role=role)
        assert case.metadata["escalation_reach"] == [CAROL]
        del case, desktop  # Alice's workstation is closed from now on

        expect(carol.locator("#no-cases")).to_be_visible(timeout=TIMEOUT)
        carol.locator("#case-list button").first.click(timeout=ESCALATION_TIMEOUT)
        expect(carol.locator("#patient")).to_contain_text(PATIENT.name, timeout=TIMEOUT)
        expect(entries(carol).filter(has_text="avis urgent")).to_have_count(1, timeout=TIMEOUT)
        errors = carol.evaluate(
            "import('/static/instant/app/app.js').then((m) =>"
            " [...m.state.cases.values()][0].entries.filter((e) => e.error).length)"
        )
        assert errors == 0
    finally:
        context.close()
