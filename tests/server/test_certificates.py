"""Renewal, revocation and key transparency: every certificate issued or revoked is evidence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from caducee.ledger import canonicalize, parse_verifier_key, verify_receipt
from caducee.server.deployment import init_deployment
from tests.server.conftest import OPERATOR_TOKEN, Identity, World, problem
from tests.server.test_auth import _csr

LEDGER = "/api/v1/ledger"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


async def enrolled(world: World, family_name: str = "Durand") -> Identity:
    """A person enrolled through the real CA (so their certificate is in the log)."""
    if world.state.authority is None:
        world.state.authority = await asyncio.to_thread(init_deployment, world.state.settings)
    seeded = await world.person(family_name)
    code = (await world.admin(f"/people/{seeded.extra['rpps']}/enrolment-code")).json()["code"]
    key = ec.generate_private_key(ec.SECP256R1())
    reply = await world.client.post("/api/v1/enrol", json={"code": code, "csr_pem": _csr(key)})
    assert reply.status_code == 201, reply.text
    certificate = x509.load_pem_x509_certificate(reply.json()["certificate_pem"].encode())
    identity = Identity(address=seeded.address, key=key, certificate=certificate)
    await world.login(identity)
    return identity


async def log_key(world: World) -> Any:
    return parse_verifier_key((await world.client.get(f"{LEDGER}/key")).text.strip())


async def test_an_enrolled_certificate_is_in_the_log_with_a_verifiable_receipt(
    world: World,
) -> None:
    gp = await enrolled(world)
    reply = await world.client.get(
        f"{LEDGER}/certificates/{sha256(gp.certificate)}", headers=gp.headers
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["revoked"] is None
    verified = verify_receipt(canonicalize(reply.json()["issued"]), log_key=await log_key(world))
    record = verified.record
    assert record.event.value == "CertificateIssued"
    assert record.ciphertext_sha256 == sha256(gp.certificate)
    assert record.extra["subject_address"] == gp.address
    assert record.extra["serial"] == gp.serial_hex
    assert record.recipient_ids == (gp.address,)


async def test_a_certificate_made_behind_the_logs_back_is_not_found(world: World) -> None:
    """``World.certify`` writes a certificate straight into the tables, as a rogue CA would."""
    await enrolled(world)
    rogue = await world.person("Rogue")
    reply = await world.client.get(
        f"{LEDGER}/certificates/{sha256(rogue.certificate)}", headers=rogue.headers
    )
    problem(reply, 404, "certificate-not-in-log")
    listing = await world.client.get(
        f"{LEDGER}/certificates", params={"address": rogue.address}, headers=rogue.headers
    )
    [entry] = listing.json()["certificates"]
    assert entry["sha256"] == sha256(rogue.certificate) and entry["issued_index"] is None


async def test_renewal_issues_a_second_logged_certificate(world: World) -> None:
    gp = await enrolled(world)
    key = ec.generate_private_key(ec.SECP256R1())
    reply = await world.client.post(
        "/api/v1/certificates/renew", json={"csr_pem": _csr(key)}, headers=gp.headers
    )
    assert reply.status_code == 201, reply.text
    renewed = x509.load_pem_x509_certificate(reply.json()["certificate_pem"].encode())
    assert renewed.public_key().public_numbers() == key.public_key().public_numbers()
    listing = await world.client.get(
        f"{LEDGER}/certificates", params={"address": gp.address}, headers=gp.headers
    )
    logged = {e["sha256"]: e for e in listing.json()["certificates"]}
    for certificate in (gp.certificate, renewed):
        entry = logged[sha256(certificate)]
        assert entry["issued_index"] is not None and entry["revoked_index"] is None
    fresh = Identity(address=gp.address, key=key, certificate=renewed)
    await world.login(fresh)  # the new certificate works at once; the old one still does
    await world.login(gp)
    problem(
        await world.client.post("/api/v1/certificates/renew", json={"csr_pem": _csr(key)}),
        401,
        "unauthenticated",
    )
    problem(
        await world.client.post(
            "/api/v1/certificates/renew", json={"csr_pem": "junk"}, headers=gp.headers
        ),
        400,
        "invalid-csr",
    )


async def test_revocation_by_its_owner_takes_effect_at_once_and_is_logged(world: World) -> None:
    gp = await enrolled(world)
    stranger = await enrolled(world, "Autre")
    path = f"/api/v1/certificates/{gp.serial_hex}/revoke"
    problem(await world.client.post(path, json={}), 401, "unauthenticated")
    problem(
        await world.client.post(path, json={"reason": "key_compromise"}, headers=stranger.headers),
        404,
        "unknown-certificate",
    )
    problem(
        await world.client.post(path, json={"reason": "because"}, headers=gp.headers),
        400,
        "invalid-entry",
    )
    reply = await world.client.post(path, json={"reason": "key_compromise"}, headers=gp.headers)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"serial_hex": gp.serial_hex, "revoked": True, "changed": True}
    # The token of that certificate is refused now, not in five seconds.
    problem(
        await world.client.get("/api/v1/mailbox/messages", headers=gp.headers),
        401,
        "certificate-revoked",
    )
    again = await world.client.post(path, json={"reason": "key_compromise"}, headers=OPERATOR)
    assert again.json()["changed"] is False  # idempotent
    crl = x509.load_der_x509_crl((await world.client.get("/pki/crl/issuing.crl")).content)
    entry = crl.get_revoked_certificate_by_serial_number(gp.certificate.serial_number)
    assert entry is not None
    reply = await world.client.get(
        f"{LEDGER}/certificates/{sha256(gp.certificate)}", headers=stranger.headers
    )
    key = await log_key(world)
    issued = verify_receipt(canonicalize(reply.json()["issued"]), log_key=key).record
    revoked = verify_receipt(canonicalize(reply.json()["revoked"]), log_key=key).record
    assert revoked.event.value == "CertificateRevoked"
    assert revoked.actor_id == gp.address and revoked.extra["reason"] == "key_compromise"
    assert revoked.previous_record_sha256 == issued.record_digest()


async def test_the_operator_revokes_any_certificate(world: World) -> None:
    gp = await enrolled(world)
    reply = await world.client.post(
        f"/api/v1/certificates/{gp.serial_hex}/revoke", json={}, headers=OPERATOR
    )
    assert reply.status_code == 200, reply.text
    problem(
        await world.client.post("/api/v1/certificates/zz/revoke", json={}, headers=OPERATOR),
        404,
        "unknown-certificate",
    )


@pytest.mark.parametrize("who", ["nobody", "bad-token"])
async def test_certificate_listings_need_an_agent(world: World, who: str) -> None:
    gp = await enrolled(world)
    headers = {} if who == "nobody" else {"Authorization": "Bearer nope"}
    for path, params in (
        (f"{LEDGER}/certificates/{sha256(gp.certificate)}", None),
        (f"{LEDGER}/certificates", {"address": gp.address}),
    ):
        problem(
            await world.client.get(path, params=params, headers=headers), 401, "unauthenticated"
        )
    problem(
        await world.client.get(f"{LEDGER}/certificates/xyz", headers=gp.headers),
        422,
        "invalid-request",
    )
    problem(
        await world.client.get(
            f"{LEDGER}/certificates", params={"address": "nobody@caducee.test"}, headers=gp.headers
        ),
        404,
        "unknown-mailbox",
    )
