"""Who may call each prescriptions endpoint: every kind of caller against every endpoint.

Callers: nobody, the operator token, a lab's mailbox (neither role), the prescriber who
wrote the prescription, another prescriber, the pharmacy holding it, another pharmacy, and
the patient's card (no mailbox). Each endpoint answers its own role and refuses the others
with a stable problem code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from caducee.pki import CertificateAuthority
from tests.prescriptions.helpers import (
    card_token,
    deposit,
    full_dispense,
    make_card,
    pharmacy,
    trust_cards,
)
from tests.server.conftest import OPERATOR_TOKEN, World

API = "/api/v1/prescriptions"
Call = Callable[[dict[str, str]], Awaitable[httpx.Response]]

# caller -> endpoint -> expected status (anything not listed must be refused)
ALLOWED: dict[str, set[str]] = {
    "prescriber": {"create", "list", "view", "abort", "drugs", "receipt-key"},
    "pharmacy": {
        "open-by-code",
        "accept",
        "reject",
        "close",
        "patient",
        "history",
        "drugs",
        "card-challenge",
        "receipt-key",
    },
    "other-pharmacy": {"drugs", "card-challenge", "receipt-key"},
    "other-prescriber": {"create", "list", "drugs", "receipt-key"},
    "lab": {"drugs", "receipt-key"},
    "patient-card": {"access-log", "card-challenge", "receipt-key"},
    "nobody": {"card-challenge", "receipt-key"},
    "operator": {"receipt-key"},
}


async def test_every_endpoint_for_every_caller(world: World, card_ca: CertificateAuthority) -> None:
    trust_cards(world, card_ca)
    doctor, other_doctor = await world.person("Martin"), await world.person("Durand")
    shop, other_shop = await pharmacy(world), await pharmacy(world, "Pharmacie Autre")
    lab_finess = await world.organisation()
    lab = await world.mailbox("lab@caducee.test", "organisational", organisation=lab_finess)
    card = make_card(card_ca)
    c = world.client

    async def scenario() -> dict[str, object]:
        """A fresh prescription held by ``shop``, its code, secret and card tokens."""
        task_id, code = await deposit(world, doctor)
        shop_card = await card_token(world, card, shop)
        accepted = await c.post(
            f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
        )
        assert accepted.status_code == 200
        return {
            "id": task_id,
            "code": code,
            "secret": accepted.json()["secret"],
            "shop_card": shop_card,
            "patient_card": await card_token(world, card, None),
        }

    def endpoints(s: dict[str, object], card_header: str) -> dict[str, Call]:
        t = s["id"]
        with_card = {"X-Card-Access": card_header}
        return {
            "create": lambda h: c.post(f"{API}/tasks", headers=h),
            "list": lambda h: c.get(f"{API}/tasks", headers=h),
            "view": lambda h: c.get(f"{API}/tasks/{t}", headers=h),
            "abort": lambda h: c.post(f"{API}/tasks/{t}/abort", headers=h),
            "open-by-code": lambda h: c.get(
                f"{API}/tasks/{t}", params={"ac": s["code"]}, headers=h
            ),
            "accept": lambda h: c.post(
                f"{API}/tasks/{t}/accept", json={"access_code": s["code"]}, headers=h
            ),
            "reject": lambda h: c.post(
                f"{API}/tasks/{t}/reject", json={"secret": s["secret"]}, headers=h
            ),
            "close": lambda h: c.post(
                f"{API}/tasks/{t}/close",
                json={"secret": s["secret"], "dispense": full_dispense()},
                headers=h,
            ),
            "patient": lambda h: c.get(f"{API}/patient/prescriptions", headers=h | with_card),
            "history": lambda h: c.get(
                f"{API}/patient/history", params={"consent": "true"}, headers=h | with_card
            ),
            "card-challenge": lambda h: c.post(f"{API}/card/challenge", headers=h),
            "access-log": lambda h: c.get(f"{API}/me/access-log", headers=h | with_card),
            "drugs": lambda h: c.get(f"{API}/drugs", params={"q": "para"}, headers=h),
            "receipt-key": lambda h: c.get(f"{API}/receipt-key", headers=h),
        }

    callers: dict[str, dict[str, str]] = {
        "prescriber": doctor.headers,
        "other-prescriber": other_doctor.headers,
        "pharmacy": shop.headers,
        "other-pharmacy": other_shop.headers,
        "lab": lab.headers,
        "patient-card": {},
        "nobody": {},
        "operator": {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    }
    names = list(endpoints({"id": "x", "code": "", "secret": ""}, ""))
    for caller, headers in callers.items():
        for name in names:
            s = await scenario()  # each call on a fresh prescription: no order effects
            card_header = {
                "pharmacy": str(s["shop_card"]),
                "patient-card": str(s["patient_card"]),
            }.get(caller, str(s["shop_card"]) if caller == "other-pharmacy" else "")
            answer = await endpoints(s, card_header)[name](headers)
            allowed = name in ALLOWED[caller]
            if allowed:
                # authorised; 409 = the state refuses it (abort of a held prescription)
                expected = (200, 201, 409) if name == "abort" else (200, 201)
                assert answer.status_code in expected, (caller, name, answer.text)
            else:
                assert answer.status_code in (401, 403, 404, 409), (caller, name, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] in {
                    "unauthenticated",
                    "operator-only",
                    "invalid-token",
                    "not-allowed",
                    "unknown-prescription",
                    "not-holder",
                    "card-rejected",
                    "card-access-not-yours",
                    "access-code-required",
                    "already-accepted",
                }, (caller, name, answer.json())


@pytest.mark.parametrize("path", ["/tasks", "/patient/prescriptions", "/drugs?q=a"])
async def test_no_token_is_401(world: World, path: str) -> None:
    answer = await world.client.get(API + path)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"
