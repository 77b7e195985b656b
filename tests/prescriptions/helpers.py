"""Synthetic prescriptions, cards and parties for the prescriptions tests (all invented)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from caducee.crypto.cms_sign import sign_data
from caducee.pki import CertificateAuthority
from caducee.prescriptions import (
    CardVerifier,
    Dosage,
    PrescriptionLine,
    build_bundle,
    issue_card_certificate,
    parse_drug_code,
    sign_card_challenge,
)
from caducee.server.routes_prescriptions import service
from tests.server.conftest import Identity, World

# Invented NIRs with valid keys (checked against python-stdnum in test_core.py).
NIR_LEA = "253072B07300470"
NIR_PAUL = "184127510801234"[:13]  # body only; the key is computed in test_core
PARACETAMOL = "3400939000053"  # from the synthetic BDPM sample
AMOXICILLINE = "3400939001470"
METFORMINE = "3400939003603"


def nir_with_key(body: str) -> str:
    from caducee.formats.nir import compute_nir_key

    return body + compute_nir_key(body)


NIR_OTHER = nir_with_key(NIR_PAUL)


def standard_lines() -> list[PrescriptionLine]:
    return [
        PrescriptionLine(
            Dosage.checked("1", "comprimé", 3, "d", 5),
            2,
            drug=parse_drug_code(PARACETAMOL),
            label="PARACÉTAMOL SYNTHÈSE 500 mg",
        ),
        PrescriptionLine(
            Dosage.checked("1", "comprimé", 2, "d", 7), 1, drug=parse_drug_code(AMOXICILLINE)
        ),
        PrescriptionLine(
            Dosage.checked("5", "mL", 3, "d", 5), 1, preparation="Sirop magistral synthétique"
        ),
    ]


def bundle_for(
    task_id: str,
    prescriber: Identity,
    nir: str = NIR_LEA,
    lines: list[PrescriptionLine] | None = None,
    **overrides: Any,
) -> bytes:
    fields: dict[str, Any] = {
        "prescription_id": task_id,
        "nir": nir,
        "patient_family": "IMAGINAIRE",
        "patient_given": "Léa",
        "birth_date": date(1953, 7, 14),
        "gender": "female",
        "rpps": prescriber.extra["rpps"],
        "prescriber_name": "Dr Claire MARTIN",
        "authored_on": datetime.now(UTC).replace(microsecond=0),
        "lines": lines or standard_lines(),
    }
    fields.update(overrides)
    return build_bundle(**fields)


def sign(identity: Identity, content: bytes) -> str:
    cms = sign_data(content, identity.certificate, identity.key)
    return base64.b64encode(cms).decode("ascii")


@dataclass
class Card:
    """A card: a key (software here, or a token key) and its certificate."""

    key: Any
    der: bytes
    nir: str


def make_card(ca: CertificateAuthority, nir: str = NIR_LEA, **kw: Any) -> Card:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_card_certificate(ca, key.public_key(), nir, **kw)
    return Card(key, cert.public_bytes(serialization.Encoding.DER), nir)


def trust_cards(world: World, *anchors: CertificateAuthority) -> None:
    service(world.state).access.verifier = CardVerifier([a.certificate for a in anchors])


async def pharmacy(world: World, name: str = "Pharmacie Synthèse") -> Identity:
    finess = await world.organisation(name, type="pharmacy", city="Nantes")
    slug = name.lower().replace(" ", "-").replace("è", "e")
    return await world.mailbox(
        f"{slug}.{finess}@caducee.test", "organisational", organisation=finess
    )


async def deposit(
    world: World, prescriber: Identity, nir: str = NIR_LEA, **kw: Any
) -> tuple[str, str]:
    """Create and activate a prescription; returns (id, access code)."""
    created = await world.client.post("/api/v1/prescriptions/tasks", headers=prescriber.headers)
    assert created.status_code == 201, created.text
    task_id, code = created.json()["id"], created.json()["access_code"]
    signed = sign(prescriber, bundle_for(task_id, prescriber, nir, **kw))
    activated = await world.client.post(
        f"/api/v1/prescriptions/tasks/{task_id}/activate",
        json={"signed_bundle": signed},
        headers=prescriber.headers,
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "ready"
    return task_id, code


async def card_in(world: World, card: Card, who: Identity | None) -> Any:
    """The card answers a challenge for ``who`` (a pharmacy, or None: the patient)."""
    headers = who.headers if who is not None else {}
    challenge = await world.client.post("/api/v1/prescriptions/card/challenge", headers=headers)
    assert challenge.status_code == 200, challenge.text
    body = challenge.json()
    signature = sign_card_challenge(card.key, body["challenge"], body["audience"])
    return await world.client.post(
        "/api/v1/prescriptions/card/access",
        json={
            "challenge": body["challenge"],
            "certificate": base64.b64encode(card.der).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
        headers=headers,
    )


async def card_token(world: World, card: Card, who: Identity | None) -> str:
    response = await card_in(world, card, who)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def full_dispense() -> list[dict[str, Any]]:
    return [
        {"line": 1, "outcome": "full", "quantity": 2},
        {"line": 2, "outcome": "substituted", "quantity": 1, "code": METFORMINE},
        {
            "line": 3,
            "outcome": "not-dispensed",
            "quantity": 0,
            "reason": "préparation indisponible",
        },
    ]
