"""Typing and presence in the MISS web app, in Chromium against a real server: Bob types in a
case and Alice's page says "… écrit…" for a few seconds (his page sends one frame, with the
case only, never the text); Alice sees a labelled green dot by Bob while his page is open,
and none once it is closed.

SYNTHETIC TEST MATERIAL: invented people and patient.
"""

from __future__ import annotations

import json

from playwright.sync_api import Page, WebSocket, expect

from tests.instant.test_pwa import ALICE, BOB, TIMEOUT, Setup, pair, setup

__all__ = ["setup"]  # the office and browser of test_pwa, a fresh one for this module

TYPED = "Je regarde l'ECG fictif"


def test_typing_and_presence_between_two_browsers(setup: Setup) -> None:
    alice_ctx = setup.browser.new_context(locale="fr-FR")
    bob_ctx = setup.browser.new_context(locale="fr-FR")
    sent: list[str] = []

    def watch(page: Page) -> None:
        def frames(socket: WebSocket) -> None:
            socket.on("framesent", lambda payload: sent.append(str(payload)))

        page.on("websocket", frames)

    bob_ctx.on("page", watch)
    try:
        alice = pair(setup, alice_ctx, ALICE, "Poste du Dr Alice")
        bob = pair(setup, bob_ctx, BOB, "Téléphone du Dr Bob")

        alice.click("details:has(#new-case) > summary")
        alice.fill("#new-case [name=participants]", BOB)
        alice.fill("#new-case [name=patient_name]", "Ninon Fictive-Présence")
        alice.click("#new-case button[type=submit]")
        expect(alice.locator("#patient")).to_contain_text("Ninon", timeout=TIMEOUT)

        # Both were connected when the case was made: each now sees the other online.
        bobs_dot = alice.locator(f"#people li[data-address='{BOB}'] .online")
        expect(bobs_dot).to_have_attribute("aria-label", "en ligne", timeout=TIMEOUT)
        expect(bobs_dot).to_have_attribute("role", "img")

        bob.locator("#case-list button").first.click(timeout=TIMEOUT)
        expect(bob.locator("#patient")).to_contain_text("Ninon", timeout=TIMEOUT)
        expect(bob.locator(f"#people li[data-address='{ALICE}'] .online")).to_have_count(1)
        bob.locator("#send textarea").press_sequentially(TYPED)
        expect(alice.locator("#typing")).to_have_text(f"{BOB} écrit…", timeout=TIMEOUT)
        expect(bob.locator("#typing")).to_have_text("")  # not to one's own page
        expect(alice.locator("#typing")).to_have_text("", timeout=10_000)  # ~5 s after

        typing = [json.loads(f) for f in sent if '"typing"' in f]
        assert len(typing) == 1, sent  # one frame per 3 s at most, however fast he types
        assert set(typing[0]) == {"type", "case_id"}
        assert not any("ECG" in f for f in sent)  # nothing of what is typed

        bob.close()
        expect(bobs_dot).to_have_count(0, timeout=TIMEOUT)
        expect(alice.locator(f"#people li[data-address='{BOB}']")).to_have_text(BOB)
    finally:
        alice_ctx.close()
        bob_ctx.close()
