"""The whole lifecycle through the API, on SQLite and PostgreSQL, with evidence and receipt."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from caducee.evidence.models import RecordRow
from caducee.ledger import SignedRecord, loads_strict
from caducee.pki import CertificateAuthority
from caducee.prescriptions import verify_receipt
from tests.prescriptions.helpers import (
    METFORMINE,
    NIR_LEA,
    card_token,
    deposit,
    full_dispense,
    make_card,
    pharmacy,
    trust_cards,
)
from tests.server.conftest import World, problem

API = "/api/v1/prescriptions"


async def _transitions(world: World, task_id: str) -> list[dict[str, str]]:
    async with world.state.database.sessions() as session:
        rows = await session.scalars(
            select(RecordRow).where(RecordRow.message_id == task_id).order_by(RecordRow.leaf_index)
        )
        records = [SignedRecord.from_json_dict(loads_strict(r.record_json.encode())) for r in rows]
    chain = None
    out = []
    for signed in records:
        record = signed.record
        assert record.previous_record_sha256 == chain  # chained per prescription
        chain = record.record_digest()
        assert record.event.value == "PrescriptionTransition"
        assert NIR_LEA not in json.dumps(record.to_json_dict())  # ids and digests only
        out.append(dict(record.extra))
    return out


async def test_whole_lifecycle_with_card(world: World, card_ca: CertificateAuthority) -> None:
    trust_cards(world, card_ca)
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    card = make_card(card_ca)
    task_id, _code = await deposit(world, doctor)

    # The pharmacist puts the card in: the patient's open prescriptions, no state change.
    token = await card_token(world, card, shop)
    listed = await world.client.get(
        f"{API}/patient/prescriptions", headers=shop.headers | {"X-Card-Access": token}
    )
    assert listed.status_code == 200, listed.text
    [task] = listed.json()["tasks"]
    assert task["id"] == task_id and task["status"] == "ready"
    assert [line["code"] for line in task["prescription"]["lines"]][:2] == [
        "3400939000053",
        "3400939001470",
    ]
    assert (
        task["prescription"]["lines"][0]["dosage"] == "1 comprimé 3 fois par jour pendant 5 jours"
    )

    # Accept with the card, dispense, close: a signed receipt.
    accepted = await world.client.post(
        f"{API}/tasks/{task_id}/accept", headers=shop.headers | {"X-Card-Access": token}
    )
    assert accepted.status_code == 200, accepted.text
    secret = accepted.json()["secret"]
    assert accepted.json()["status"] == "in-progress"
    again = await world.client.post(
        f"{API}/tasks/{task_id}/accept", headers=shop.headers | {"X-Card-Access": token}
    )
    assert again.status_code == 200 and again.json()["secret"] == secret  # idempotent

    closed = await world.client.post(
        f"{API}/tasks/{task_id}/close",
        json={"secret": secret, "dispense": full_dispense()},
        headers=shop.headers,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "completed"
    receipt_text = closed.json()["receipt"]
    key = await world.client.get(f"{API}/receipt-key")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.json()["key"]))
    receipt = verify_receipt(receipt_text, public)
    assert receipt.body["prescription_id"] == task_id
    assert receipt.body["pharmacy"] == shop.address
    assert receipt.body["prescription_sha256"] == closed.json()["bundle_sha256"]
    assert [d["outcome"] for d in receipt.body["dispense"]] == [
        "full",
        "substituted",
        "not-dispensed",
    ]
    closed_again = await world.client.post(
        f"{API}/tasks/{task_id}/close",
        json={"secret": secret, "dispense": full_dispense()},
        headers=shop.headers,
    )
    assert closed_again.status_code == 200 and closed_again.json()["receipt"] == receipt_text

    # The prescriber sees what was dispensed.
    seen = await world.client.get(f"{API}/tasks/{task_id}", headers=doctor.headers)
    assert seen.status_code == 200
    assert seen.json()["status"] == "completed"
    assert seen.json()["dispense"][1] == {
        "line": 2,
        "outcome": "substituted",
        "quantity": 1,
        "code": METFORMINE,
        "reason": None,
    }

    # Evidence: create, activate, accept, close, each exactly once, chained.
    assert [(t["from"], t["to"]) for t in await _transitions(world, task_id)] == [
        ("-", "draft"),
        ("draft", "ready"),
        ("ready", "in-progress"),
        ("in-progress", "completed"),
    ]

    # The patient, with the card, sees who did what.
    mine = await card_token(world, card, None)
    log = await world.client.get(f"{API}/me/access-log", headers={"X-Card-Access": mine})
    assert log.status_code == 200, log.text
    actions = [(e["actor"], e["action"]) for e in reversed(log.json()["events"])]
    assert actions == [
        (doctor.address, "deposit"),
        (shop.address, "card-read"),
        (shop.address, "list"),
        (shop.address, "accept"),
        (shop.address, "dispense"),
        ("patient", "card-read"),
    ]


async def test_paper_code_opens_one_prescription(world: World) -> None:
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, code = await deposit(world, doctor)
    opened = await world.client.get(
        f"{API}/tasks/{task_id}", params={"ac": code}, headers=shop.headers
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "ready"  # reading changes nothing
    assert "signed_bundle" in opened.json()
    wrong = await world.client.get(
        f"{API}/tasks/{task_id}", params={"ac": "0" * 64}, headers=shop.headers
    )
    problem(wrong, 404, "unknown-prescription")
    accepted = await world.client.post(
        f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
    )
    assert accepted.status_code == 200, accepted.text
    rejected = await world.client.post(
        f"{API}/tasks/{task_id}/reject",
        json={"secret": accepted.json()["secret"]},
        headers=shop.headers,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "ready"
    other = await pharmacy(world, "Pharmacie Autre")
    taken = await world.client.post(
        f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=other.headers
    )
    assert taken.status_code == 200  # released by the first: the patient went elsewhere


async def test_prescriber_cancels_an_open_one_not_a_held_one(world: World) -> None:
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    first, _ = await deposit(world, doctor)
    cancelled = await world.client.post(f"{API}/tasks/{first}/abort", headers=doctor.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await world.client.post(f"{API}/tasks/{first}/abort", headers=doctor.headers)
    assert again.status_code == 200  # idempotent
    seen = await world.client.get(f"{API}/tasks/{first}", headers=doctor.headers)
    assert "signed_bundle" not in seen.json()  # purged, status kept

    second, code = await deposit(world, doctor)
    held = await world.client.post(
        f"{API}/tasks/{second}/accept", json={"access_code": code}, headers=shop.headers
    )
    assert held.status_code == 200
    refused = await world.client.post(f"{API}/tasks/{second}/abort", headers=doctor.headers)
    body = problem(refused, 409, "transition-refused")
    assert body["status_now"] == "in-progress"
    listed = await world.client.get(f"{API}/tasks", headers=doctor.headers)
    assert {t["id"]: t["status"] for t in listed.json()["tasks"]} == {
        first: "cancelled",
        second: "in-progress",
    }


async def test_expired_prescription_is_cancelled(world: World) -> None:
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, code = await deposit(world, doctor)
    world.clock.advance(days=91)
    await world.login(shop)
    await world.login(doctor)
    late = await world.client.post(
        f"{API}/tasks/{task_id}/accept", json={"access_code": code}, headers=shop.headers
    )
    body = problem(late, 409, "transition-refused")
    assert body["status_now"] == "cancelled"
    seen = await world.client.get(f"{API}/tasks/{task_id}", headers=doctor.headers)
    assert seen.json()["cancel_reason"] == "expired"
    transitions = await _transitions(world, task_id)
    assert transitions[-1] == {"action": "expire", "from": "ready", "to": "cancelled"}
