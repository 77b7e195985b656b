"""Every refusal the issue lists, each with its clear reason, and nothing half-done after it."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from caducee.crypto.cms_sign import sign_data
from caducee.pki import CertificateAuthority
from caducee.prescriptions import sign_card_challenge
from caducee.server.routes_prescriptions import service
from tests.prescriptions.helpers import (
    NIR_OTHER,
    bundle_for,
    card_in,
    card_token,
    deposit,
    full_dispense,
    make_card,
    pharmacy,
    sign,
    trust_cards,
)
from tests.server.conftest import Identity, World, problem

API = "/api/v1/prescriptions"


async def _draft(world: World, doctor: Identity) -> str:
    created = await world.client.post(f"{API}/tasks", headers=doctor.headers)
    assert created.status_code == 201
    task_id: str = created.json()["id"]
    return task_id


async def _activate(world: World, doctor: Identity, task_id: str, signed: str) -> object:
    return await world.client.post(
        f"{API}/tasks/{task_id}/activate", json={"signed_bundle": signed}, headers=doctor.headers
    )


async def _status(world: World, doctor: Identity, task_id: str) -> str:
    seen = await world.client.get(f"{API}/tasks/{task_id}", headers=doctor.headers)
    status: str = seen.json()["status"]
    return status


async def test_double_dispensing_race_exactly_one_wins(world: World) -> None:
    doctor = await world.person("Martin")
    shops = [await pharmacy(world, f"Pharmacie {n}") for n in ("Une", "Deux", "Trois", "Quatre")]
    for _round in range(3):
        task_id, code = await deposit(world, doctor)
        answers = await asyncio.gather(
            *(
                world.client.post(
                    f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=s.headers
                )
                for s in shops
            )
        )
        winners = [a for a in answers if a.status_code == 200]
        assert len(winners) == 1, [a.text for a in answers]
        for loser in (a for a in answers if a.status_code != 200):
            problem(loser, 409, "already-accepted")
        winner = shops[[a.status_code for a in answers].index(200)]
        assert winners[0].json()["pharmacy"] == winner.address
        # The losers can neither close nor reject it.
        loser_shop = next(s for s in shops if s is not winner)
        stolen = await world.client.post(
            f"{API}/tasks/{task_id}/close",
            json={"secret": winners[0].json()["secret"], "dispense": full_dispense()},
            headers=loser_shop.headers,
        )
        problem(stolen, 403, "not-holder")


async def test_concurrent_closes_store_one_dispensing(world: World) -> None:
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, code = await deposit(world, doctor)
    accepted = await world.client.post(
        f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
    )
    secret = accepted.json()["secret"]
    answers = await asyncio.gather(
        *(
            world.client.post(
                f"{API}/tasks/{task_id}/close",
                json={"secret": secret, "dispense": full_dispense()},
                headers=shop.headers,
            )
            for _ in range(4)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["receipt"] for a in answers}) == 1
    seen = await world.client.get(f"{API}/tasks/{task_id}", headers=doctor.headers)
    assert len(seen.json()["dispense"]) == 3


async def test_card_from_another_ca(
    world: World, card_ca: CertificateAuthority, rogue_ca: CertificateAuthority
) -> None:
    trust_cards(world, card_ca)
    shop = await pharmacy(world)
    forged = make_card(rogue_ca)  # same CA name, another key
    problem(await card_in(world, forged, shop), 403, "card-untrusted")


async def test_no_card_ca_configured(world: World, card_ca: CertificateAuthority) -> None:
    shop = await pharmacy(world)
    problem(await card_in(world, make_card(card_ca), shop), 403, "card-untrusted")


async def test_expired_card_certificate(world: World, card_ca: CertificateAuthority) -> None:
    trust_cards(world, card_ca)
    shop = await pharmacy(world)
    old = make_card(card_ca, now=datetime.now(UTC) - timedelta(days=30), days=10)
    problem(await card_in(world, old, shop), 403, "card-expired")


async def test_expired_card_access(world: World, card_ca: CertificateAuthority) -> None:
    trust_cards(world, card_ca)
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    await deposit(world, doctor)
    token = await card_token(world, make_card(card_ca), shop)
    world.clock.advance(minutes=31)
    await world.login(shop)
    late = await world.client.get(
        f"{API}/patient/prescriptions", headers=shop.headers | {"X-Card-Access": token}
    )
    problem(late, 401, "card-access-expired")


async def test_another_pharmacy_reusing_a_token(
    world: World, card_ca: CertificateAuthority
) -> None:
    trust_cards(world, card_ca)
    doctor = await world.person("Martin")
    shop, thief = await pharmacy(world), await pharmacy(world, "Pharmacie Voisine")
    task_id, _ = await deposit(world, doctor)
    token = await card_token(world, make_card(card_ca), shop)
    for call in (
        world.client.get(
            f"{API}/patient/prescriptions", headers=thief.headers | {"X-Card-Access": token}
        ),
        world.client.post(
            f"{API}/tasks/{task_id}/accept", headers=thief.headers | {"X-Card-Access": token}
        ),
        world.client.get(f"{API}/me/access-log", headers={"X-Card-Access": token}),
    ):
        problem(await call, 403, "card-access-not-yours")
    assert await _status(world, doctor, task_id) == "ready"


async def test_card_signature_for_another_pharmacy_is_refused(
    world: World, card_ca: CertificateAuthority
) -> None:
    trust_cards(world, card_ca)
    shop, thief = await pharmacy(world), await pharmacy(world, "Pharmacie Voisine")
    card = make_card(card_ca)
    challenge = (await world.client.post(f"{API}/card/challenge", headers=shop.headers)).json()
    signature = sign_card_challenge(card.key, challenge["challenge"], shop.address)
    body = {
        "challenge": challenge["challenge"],
        "certificate": base64.b64encode(card.der).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    relayed = await world.client.post(f"{API}/card/access", json=body, headers=thief.headers)
    problem(relayed, 403, "card-rejected")
    first = await world.client.post(f"{API}/card/access", json=body, headers=shop.headers)
    assert first.status_code == 200
    replay = await world.client.post(f"{API}/card/access", json=body, headers=shop.headers)
    problem(replay, 403, "card-rejected")  # a challenge is used once


@pytest.mark.parametrize(
    "garbage",
    [
        {"signature": base64.b64encode(b"\x00" * 64).decode()},
        {"signature": base64.b64encode(b"no").decode()},
        {"certificate": base64.b64encode(b"not a certificate").decode()},
        {"signature": "***"},
    ],
)
async def test_card_answering_garbage(
    world: World, card_ca: CertificateAuthority, garbage: dict[str, str]
) -> None:
    trust_cards(world, card_ca)
    shop = await pharmacy(world)
    card = make_card(card_ca)
    challenge = (await world.client.post(f"{API}/card/challenge", headers=shop.headers)).json()
    signature = sign_card_challenge(card.key, challenge["challenge"], shop.address)
    body = {
        "challenge": challenge["challenge"],
        "certificate": base64.b64encode(card.der).decode(),
        "signature": base64.b64encode(signature).decode(),
    } | garbage
    answer = await world.client.post(f"{API}/card/access", json=body, headers=shop.headers)
    assert answer.status_code in (400, 403), answer.text
    assert answer.json()["code"] in ("card-rejected", "invalid-base64")
    # The challenge was not spent by the bad answer: the real card still works.
    if "signature" in garbage and garbage["signature"] != "***":
        body["signature"] = base64.b64encode(signature).decode()
        retry = await world.client.post(f"{API}/card/access", json=body, headers=shop.headers)
        assert retry.status_code == 200


async def test_card_pulled_out_mid_way(world: World, card_ca: CertificateAuthority) -> None:
    """The challenge is asked, the card never answers: nothing is granted, nothing changes."""
    trust_cards(world, card_ca)
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, _ = await deposit(world, doctor)
    await world.client.post(f"{API}/card/challenge", headers=shop.headers)
    world.clock.advance(minutes=3)
    listing = await world.client.get(f"{API}/patient/prescriptions", headers=shop.headers)
    problem(listing, 403, "card-rejected")
    assert await _status(world, doctor, task_id) == "ready"


async def test_prescription_altered_after_signature(world: World) -> None:
    doctor = await world.person("Martin")
    task_id = await _draft(world, doctor)
    bundle = bundle_for(task_id, doctor)
    cms = bytearray(sign_data(bundle, doctor.certificate, doctor.key))
    at = bytes(cms).index(b'"quantity":{"value":2')
    cms[at + len(b'"quantity":{"value":')] = ord("9")  # 2 boxes become 9
    answer = await _activate(world, doctor, task_id, base64.b64encode(bytes(cms)).decode())
    body = problem(answer, 422, "signature-rejected")
    assert "signature" in body["detail"]
    assert await _status(world, doctor, task_id) == "draft"


async def test_signed_by_someone_else(world: World) -> None:
    doctor, other = await world.person("Martin"), await world.person("Durand")
    task_id = await _draft(world, doctor)
    answer = await _activate(world, doctor, task_id, sign(other, bundle_for(task_id, doctor)))
    problem(answer, 422, "signature-rejected")


async def test_bundle_for_another_prescription_id(world: World) -> None:
    doctor = await world.person("Martin")
    first, second = await _draft(world, doctor), await _draft(world, doctor)
    answer = await _activate(world, doctor, second, sign(doctor, bundle_for(first, doctor)))
    problem(answer, 422, "signature-rejected")


def _edit_line(bundle: bytes, edit: object) -> bytes:
    document = json.loads(bundle)
    request = next(
        e["resource"]
        for e in document["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    )
    edit(request)  # type: ignore[operator]
    return json.dumps(document).encode()


async def test_wrong_cip13_key(world: World) -> None:
    doctor = await world.person("Martin")
    task_id = await _draft(world, doctor)

    def wrong_key(request: dict) -> None:  # type: ignore[type-arg]
        request["medicationCodeableConcept"]["coding"][0]["code"] = "3400939000054"

    bad = _edit_line(bundle_for(task_id, doctor), wrong_key)
    body = problem(
        await _activate(world, doctor, task_id, sign(doctor, bad)), 422, "invalid-drug-code"
    )
    assert "EAN-13" in body["detail"]


async def test_unknown_drug_code(world: World) -> None:
    doctor = await world.person("Martin")
    task_id = await _draft(world, doctor)

    def unknown(request: dict) -> None:  # type: ignore[type-arg]
        request["medicationCodeableConcept"]["coding"][0]["code"] = "3400930000014"

    bad = _edit_line(bundle_for(task_id, doctor), unknown)
    body = problem(await _activate(world, doctor, task_id, sign(doctor, bad)), 422, "unknown-drug")
    assert "3400930000014" in body["detail"]


async def test_impossible_dosage(world: World) -> None:
    doctor = await world.person("Martin")
    task_id = await _draft(world, doctor)

    def absurd(request: dict) -> None:  # type: ignore[type-arg]
        request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 1000

    bad = _edit_line(bundle_for(task_id, doctor), absurd)
    problem(await _activate(world, doctor, task_id, sign(doctor, bad)), 422, "implausible-dosage")


async def test_not_valid_fhir(world: World) -> None:
    doctor = await world.person("Martin")
    task_id = await _draft(world, doctor)
    document = json.loads(bundle_for(task_id, doctor))
    document["entry"][1]["resource"]["birthDate"] = "le 14 juillet"
    bad = json.dumps(document).encode()
    body = problem(
        await _activate(world, doctor, task_id, sign(doctor, bad)), 422, "invalid-prescription"
    )
    assert "FHIR" in body["detail"]
    for garbage in (b"{}", b"\xff\xfe", b"[1,2"):
        problem(
            await _activate(world, doctor, task_id, sign(doctor, garbage)),
            422,
            "invalid-prescription",
        )
    problem(await _activate(world, doctor, task_id, "not base64!"), 400, "invalid-base64")
    assert await _status(world, doctor, task_id) == "draft"  # still there, untouched


async def test_close_must_cover_every_line(world: World) -> None:
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, code = await deposit(world, doctor)
    secret = (
        await world.client.post(
            f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
        )
    ).json()["secret"]
    for dispense, why in (
        (full_dispense()[:2], "one entry per line"),
        ([{**full_dispense()[0], "quantity": 3}, *full_dispense()[1:]], "prescribed"),
        ([*full_dispense()[:2], {"line": 3, "outcome": "not-dispensed", "quantity": 0}], "reason"),
        (
            [
                full_dispense()[0],
                {"line": 2, "outcome": "substituted", "quantity": 1, "code": "3400930000014"},
                full_dispense()[2],
            ],
            "drug database",
        ),
    ):
        answer = await world.client.post(
            f"{API}/tasks/{task_id}/close",
            json={"secret": secret, "dispense": dispense},
            headers=shop.headers,
        )
        assert answer.status_code == 422, answer.text
        assert why in answer.json()["detail"]
    seen = await world.client.get(f"{API}/tasks/{task_id}", headers=doctor.headers)
    assert seen.json()["status"] == "in-progress" and seen.json()["dispense"] == []


async def test_history_needs_consent_and_respects_refusal(
    world: World, card_ca: CertificateAuthority
) -> None:
    trust_cards(world, card_ca)
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    card = make_card(card_ca)
    task_id, code = await deposit(world, doctor)
    await deposit(world, doctor, nir=NIR_OTHER)  # another patient's: never shown
    secret = (
        await world.client.post(
            f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
        )
    ).json()["secret"]
    await world.client.post(
        f"{API}/tasks/{task_id}/close",
        json={"secret": secret, "dispense": full_dispense()},
        headers=shop.headers,
    )
    token = await card_token(world, card, shop)
    headers = shop.headers | {"X-Card-Access": token}
    problem(
        await world.client.get(f"{API}/patient/history", headers=headers), 403, "consent-required"
    )
    history = await world.client.get(
        f"{API}/patient/history", params={"consent": "true"}, headers=headers
    )
    assert [t["id"] for t in history.json()["tasks"]] == [task_id]
    listed = await world.client.get(f"{API}/patient/prescriptions", headers=headers)
    assert listed.json()["tasks"] == []  # the other patient's is not this card's

    mine = await card_token(world, card, None)
    refused = await world.client.put(
        f"{API}/me/history-refusal", json={"refused": True}, headers={"X-Card-Access": mine}
    )
    assert refused.json() == {"history_refused": True}
    problem(
        await world.client.get(
            f"{API}/patient/history", params={"consent": "true"}, headers=headers
        ),
        403,
        "history-refused",
    )


async def test_ended_challenges_and_grants_are_purged(
    world: World, card_ca: CertificateAuthority
) -> None:
    trust_cards(world, card_ca)
    shop = await pharmacy(world)
    token = await card_token(world, make_card(card_ca), shop)
    await world.client.post(f"{API}/card/challenge", headers=shop.headers)
    access = service(world.state).access
    assert await access.purge() == 0  # nothing has ended yet
    world.clock.advance(minutes=31)
    assert await access.purge() == 3  # the used and the unused challenge, the grant
    await world.login(shop)
    gone = await world.client.get(
        f"{API}/patient/prescriptions", headers=shop.headers | {"X-Card-Access": token}
    )
    problem(gone, 403, "card-rejected")
