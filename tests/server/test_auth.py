"""Password-less authentication: challenges, tokens, expiry, revocation, enrolment codes."""

from __future__ import annotations

import asyncio
import base64
import os
import stat

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.server.auth import OPERATOR_TOKEN_FILE
from caducee.server.deployment import init_deployment
from tests.server.conftest import Identity, World, problem

MAILBOX = "/api/v1/mailbox/messages"


async def _challenge(world: World, address: str) -> str:
    response = await world.client.post("/api/v1/auth/challenge", json={"address": address})
    assert response.status_code == 200, response.text
    return str(response.json()["challenge"])


async def _token(
    world: World, who: Identity, challenge: str, signature: bytes, serial: str
) -> httpx.Response:
    body = {
        "address": who.address,
        "challenge": challenge,
        "signature": base64.b64encode(signature).decode(),
        "certificate_serial": serial,
    }
    return await world.client.post("/api/v1/auth/token", json=body)


async def test_ec_and_rsa_keys_log_in_and_the_token_works(world: World) -> None:
    gp = await world.person("Ecdsa")
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    rpps = gp.extra["rpps"]
    for pss in (False, True):
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        address = f"rsa{int(pss)}.{rpps}@caducee.test"
        holder = await world.mailbox(address, "personal", person=rpps, key=rsa_key)
        await world.login(holder, pss=pss)
        assert (await world.client.get(MAILBOX, headers=holder.headers)).status_code == 200


async def test_a_challenge_is_single_use_and_expires(world: World) -> None:
    gp = await world.person()
    challenge = await _challenge(world, gp.address)
    signature = gp.sign(challenge.encode())
    assert (await _token(world, gp, challenge, signature, gp.serial_hex)).status_code == 200
    problem(await _token(world, gp, challenge, signature, gp.serial_hex), 401, "invalid-challenge")
    challenge = await _challenge(world, gp.address)
    world.clock.advance(minutes=3)
    reply = await _token(world, gp, challenge, gp.sign(challenge.encode()), gp.serial_hex)
    problem(reply, 401, "invalid-challenge")


async def test_concurrent_uses_of_one_challenge_yield_one_token(world: World) -> None:
    gp = await world.person()
    challenge = await _challenge(world, gp.address)
    signature = gp.sign(challenge.encode())
    replies = await asyncio.gather(
        *(_token(world, gp, challenge, signature, gp.serial_hex) for _ in range(10))
    )
    assert sorted(r.status_code for r in replies) == [200] + [401] * 9


async def test_bad_signatures_and_foreign_certificates_are_refused(world: World) -> None:
    gp, other = await world.person("Gp"), await world.person("Other")
    challenge = await _challenge(world, gp.address)
    reply = await _token(world, gp, challenge, other.sign(challenge.encode()), gp.serial_hex)
    problem(reply, 401, "invalid-signature")
    # The challenge was spent by the failed attempt: no second try with it.
    reply = await _token(world, gp, challenge, gp.sign(challenge.encode()), gp.serial_hex)
    problem(reply, 401, "invalid-challenge")
    # Signing with your own key but naming another mailbox's certificate.
    challenge = await _challenge(world, gp.address)
    reply = await _token(world, gp, challenge, other.sign(challenge.encode()), other.serial_hex)
    problem(reply, 401, "certificate-not-valid")
    challenge = await _challenge(world, gp.address)
    problem(await _token(world, gp, challenge, b"x", "zz"), 401, "certificate-not-valid")
    reply = await world.client.post("/api/v1/auth/token", json={"address": gp.address})
    problem(reply, 422, "invalid-request")
    reply = await world.client.post("/api/v1/auth/challenge", json={"address": "no@caducee.test"})
    problem(reply, 404, "unknown-mailbox")


async def test_tokens_expire_with_the_clock(world: World) -> None:
    gp = await world.person()
    world.clock.advance(minutes=14)
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    world.clock.advance(minutes=2)
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "token-expired")
    await world.login(gp)  # a new challenge, a new token
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200


async def test_revoking_the_certificate_kills_its_tokens_and_logins(world: World) -> None:
    gp = await world.person()
    await world.revoke(gp)
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "certificate-revoked")
    challenge = await _challenge(world, gp.address)
    reply = await _token(world, gp, challenge, gp.sign(challenge.encode()), gp.serial_hex)
    problem(reply, 401, "certificate-not-valid")


async def test_missing_malformed_and_unknown_tokens(world: World) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        problem(await world.client.get(MAILBOX, headers=headers), 401, "unauthenticated")


async def test_closing_a_mailbox_closes_its_sessions(world: World) -> None:
    gp = await world.person()
    reply = await world.admin(f"/mailboxes/{gp.address}/active", {"active": False})
    assert reply.status_code == 200, reply.text
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "unauthenticated")


async def test_the_operator_token_file_is_created_private_and_required(world: World) -> None:
    del world.state.extras["operator_token_sha256"]
    problem(await world.admin("/organisations", {}), 401, "operator-only")
    path = world.state.settings.data_dir / OPERATOR_TOKEN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = path.read_text().strip()
    reply = await world.client.post(
        "/api/v1/admin/organisations",
        json={"finess": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    problem(reply, 422, "invalid-request")  # past the operator check, into validation


def _csr(key: ec.EllipticCurvePrivateKey) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


async def test_enrolment_code_issues_one_certificate_once(world: World) -> None:
    gp = await world.person("Enrolee")
    problem(await world.client.post("/api/v1/enrol", json={"code": "x", "csr_pem": "y"}), 503,
            "ca-not-initialised")  # fmt: skip
    world.state.authority = await asyncio.to_thread(init_deployment, world.state.settings)
    reply = await world.admin(f"/people/{gp.extra['rpps']}/enrolment-code")
    assert reply.status_code == 201, reply.text
    code = reply.json()["code"]
    key = ec.generate_private_key(ec.SECP256R1())
    broken = await world.client.post("/api/v1/enrol", json={"code": code, "csr_pem": "junk"})
    problem(broken, 400, "invalid-csr")  # the failed issuance left the code usable
    reply = await world.client.post(
        "/api/v1/enrol", json={"code": code.lower(), "csr_pem": _csr(key)}
    )
    assert reply.status_code == 201, reply.text
    answer = reply.json()
    assert answer["address"] == gp.address
    certificate = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
    assert certificate.public_key() == key.public_key()
    again = await world.client.post("/api/v1/enrol", json={"code": code, "csr_pem": _csr(key)})
    problem(again, 403, "invalid-enrolment-code")
    enrolled = Identity(address=gp.address, key=key, certificate=certificate)
    await world.login(enrolled)  # the new certificate is usable at once
    listed = await world.client.get(
        f"/api/v1/directory/mailboxes/{gp.address}/certificates", headers=enrolled.headers
    )
    assert len(listed.json()["certificates"]) == 2
    world.clock.advance(days=8)
    reply = await world.admin(f"/mailboxes/{gp.address}/enrolment-code")
    code = reply.json()["code"]
    world.clock.advance(days=8)
    late = await world.client.post("/api/v1/enrol", json={"code": code, "csr_pem": _csr(key)})
    problem(late, 403, "invalid-enrolment-code")


@pytest.mark.parametrize("body", [None, {"mailbox": "nope@caducee.test"}])
async def test_an_enrolment_code_needs_one_clear_mailbox(world: World, body: object) -> None:
    gp = await world.person()
    rpps = gp.extra["rpps"]
    await world.mailbox(f"second.{rpps}@caducee.test", "personal", person=rpps)
    problem(await world.admin(f"/people/{rpps}/enrolment-code", body), 422, "choose-mailbox")  # type: ignore[arg-type]


async def test_a_token_in_use_is_remembered_for_at_most_five_seconds(world: World) -> None:
    """The authentication cache: a revocation reaches a token already in use within 5 s."""
    gp = await world.person()
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    await world.revoke(gp)
    world.clock.advance(seconds=4.9)  # still remembered: the documented delay
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    world.clock.advance(seconds=0.2)
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "certificate-revoked")


async def test_the_cache_never_outlives_the_token(world: World) -> None:
    gp = await world.person()
    world.clock.advance(minutes=15, seconds=-2)
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    world.clock.advance(seconds=2)  # within 5 s of the lookup, but the token has expired
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "token-expired")


async def test_without_the_cache_a_revocation_takes_effect_at_once(world: World) -> None:
    world.state.extras["auth_cache_seconds"] = 0
    gp = await world.person()
    assert (await world.client.get(MAILBOX, headers=gp.headers)).status_code == 200
    await world.revoke(gp)
    problem(await world.client.get(MAILBOX, headers=gp.headers), 401, "certificate-revoked")


async def test_concurrent_requests_share_one_lookup(world: World) -> None:
    gp = await world.person()
    replies = await asyncio.gather(
        *(world.client.get(MAILBOX, headers=gp.headers) for _ in range(20))
    )
    assert {r.status_code for r in replies} == {200}
    assert not world.state.extras["auth_lookups"]  # every lookup finished and was forgotten
    bad = {"Authorization": "Bearer nope"}
    replies = await asyncio.gather(*(world.client.get(MAILBOX, headers=bad) for _ in range(5)))
    assert {r.status_code for r in replies} == {401}
