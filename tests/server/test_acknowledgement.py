"""The recipient's signed acknowledgement: checked, kept, referenced by its evidence record."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from caducee.crypto.cms_sign import sign_data
from caducee.ledger import AckStatement, MalformedRecord
from caducee.relay import InvalidAcknowledgement
from caducee.relay.acknowledgement import check_acknowledgement
from tests.peers import require_tool
from tests.server.conftest import Identity, World, problem

MAILBOX = "/api/v1/mailbox/messages"


def signed_ack(who: Identity, message_id: str, sha256: str, recipient: str | None = None) -> bytes:
    statement = AckStatement(
        message_id, sha256, recipient or who.address, datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    )
    return sign_data(statement.to_bytes(), who.certificate, who.key)  # type: ignore[arg-type]


async def delivered(world: World) -> tuple[Identity, Identity, str, str]:
    lab, gp = await world.person("Labo"), await world.person("Generaliste")
    reply = await world.send(lab, [gp.address], message_id="ack-1@caducee.test")
    assert reply.status_code == 201, reply.text
    fetched = await world.client.get(f"{MAILBOX}/ack-1@caducee.test", headers=gp.headers)
    assert fetched.status_code == 200
    return lab, gp, "ack-1@caducee.test", hashlib.sha256(fetched.content).hexdigest()


async def post_ack(world: World, who: Identity, message_id: str, body: object) -> object:
    return await world.client.post(f"{MAILBOX}/{message_id}/ack", json=body, headers=who.headers)


async def test_many_acknowledgements_in_one_request_each_get_their_own_answer(
    world: World,
) -> None:
    lab, gp = await world.person("Labo"), await world.person("Generaliste")
    digests = {}
    for name in ("a", "b", "d"):
        message_id = f"{name}@batch.caducee.test"
        assert (await world.send(lab, [gp.address], message_id=message_id)).status_code == 201
        fetched = await world.client.get(f"{MAILBOX}/{message_id}", headers=gp.headers)
        digests[message_id] = hashlib.sha256(fetched.content).hexdigest()
    a, b, d = (f"{n}@batch.caducee.test" for n in "abd")
    good = base64.b64encode(signed_ack(gp, a, digests[a])).decode()
    wrong = base64.b64encode(signed_ack(gp, a, digests[a])).decode()  # about a, sent for b
    body = {
        "acknowledgements": [
            {"message_id": a, "acknowledgement": good},
            {"message_id": b, "acknowledgement": wrong},
            {"message_id": "unknown@batch.caducee.test"},
            {"message_id": d},
            {"message_id": a},  # again in the same request: already done
        ]
    }
    reply = await world.client.post(
        "/api/v1/mailbox/acknowledgements", json=body, headers=gp.headers
    )
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["message_id"] for r in results] == [a, b, "unknown@batch.caducee.test", d, a]
    assert [r.get("state") for r in results] == [
        "acknowledged",
        None,
        None,
        "acknowledged",
        "acknowledged",
    ]
    assert results[1]["problem"]["code"] == "invalid-acknowledgement"
    assert results[2]["problem"] == {
        "status": 404,
        "code": "unknown-message",
        "detail": "no message unknown@batch.caducee.test in this mailbox",
    }
    # The refused one changed nothing; the others have their evidence, signed or not.
    listed = await world.client.get(MAILBOX, headers=gp.headers)
    assert [(m["message_id"], m["state"]) for m in listed.json()["messages"]] == [(b, "fetched")]
    for message_id, signed in ((a, "yes"), (d, "no")):
        records = await world.client.get(
            f"/api/v1/ledger/messages/{message_id}/records", headers=lab.headers
        )
        last = records.json()["receipts"][-1]["record"]["record"]
        assert (last["event"], last["extra"]["signed"]) == ("ConsignmentAcceptance", signed)
        assert len(records.json()["receipts"]) == 4  # acknowledged once, not twice
    # Bad requests are refused whole.
    bad_bodies: list[dict[str, object]] = [
        {"acknowledgements": []},
        {"acknowledgements": [{"message_id": a}] * 201},
        {},
    ]
    for bad in bad_bodies:
        problem(
            await world.client.post(
                "/api/v1/mailbox/acknowledgements", json=bad, headers=gp.headers
            ),
            422,
            "invalid-request",
        )
    not_base64 = {"acknowledgements": [{"message_id": b, "acknowledgement": "***"}]}
    problem(
        await world.client.post(
            "/api/v1/mailbox/acknowledgements", json=not_base64, headers=gp.headers
        ),
        422,
        "invalid-acknowledgement",
    )


async def test_a_signed_acknowledgement_is_kept_and_referenced(
    world: World, tmp_path: Path
) -> None:
    lab, gp, message_id, sha256 = await delivered(world)
    der = signed_ack(gp, message_id, sha256)
    reply = await world.client.post(
        f"{MAILBOX}/{message_id}/ack",
        json={"acknowledgement": base64.b64encode(der).decode()},
        headers=gp.headers,
    )
    assert reply.status_code == 200, reply.text
    records = await world.client.get(
        f"/api/v1/ledger/messages/{message_id}/records", headers=lab.headers
    )
    events = [r["record"]["record"]["event"] for r in records.json()["receipts"]]
    assert events == [
        "SubmissionAcceptance",
        "ContentConsignment",
        "ContentHandover",
        "ConsignmentAcceptance",
    ]
    last = records.json()["receipts"][-1]["record"]["record"]
    assert last["extra"] == {"signed": "yes", "ack_sha256": hashlib.sha256(der).hexdigest()}
    assert last["actor"] == gp.address
    # The sender gets the signed statement, and openssl (the peer) reads and verifies it.
    acks = await world.client.get(
        f"/api/v1/ledger/messages/{message_id}/acknowledgements", headers=lab.headers
    )
    [item] = acks.json()["acknowledgements"]
    assert item["recipient"] == gp.address
    kept = base64.b64decode(item["acknowledgement"])
    assert kept == der
    require_tool("openssl", "openssl")
    (tmp_path / "ack.der").write_bytes(kept)
    out = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-noverify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "ack.der"),
        ],
        capture_output=True,
        check=True,
    )
    assert AckStatement.from_bytes(out.stdout).ciphertext_sha256 == sha256


async def test_bad_acknowledgements_are_refused_and_change_nothing(world: World) -> None:
    lab, gp, message_id, sha256 = await delivered(world)
    other = await world.person("Autre")
    bad_bodies = [
        {"acknowledgement": "%%% not base64"},
        {"acknowledgement": base64.b64encode(b"junk").decode()},
        # signed by someone else's key and certificate
        {
            "acknowledgement": base64.b64encode(
                signed_ack(other, message_id, sha256, gp.address)
            ).decode()
        },
        # about another ciphertext
        {"acknowledgement": base64.b64encode(signed_ack(gp, message_id, "0" * 64)).decode()},
        # about another message
        {
            "acknowledgement": base64.b64encode(
                signed_ack(gp, "other@caducee.test", sha256)
            ).decode()
        },
    ]
    for body in bad_bodies:
        problem(await post_ack(world, gp, message_id, body), 422, "invalid-acknowledgement")  # type: ignore[arg-type]
    listing = await world.client.get(MAILBOX, headers=gp.headers)
    assert [m["state"] for m in listing.json()["messages"]] == ["fetched"]  # not acknowledged
    problem(await post_ack(world, gp, message_id, {"extra": 1}), 422, "invalid-request")  # type: ignore[arg-type]
    # Another mailbox cannot acknowledge it; the sender neither.
    problem(await post_ack(world, other, message_id, None), 404, "unknown-message")  # type: ignore[arg-type]
    problem(await post_ack(world, lab, message_id, None), 404, "unknown-message")  # type: ignore[arg-type]
    acks = await world.client.get(
        f"/api/v1/ledger/messages/{message_id}/acknowledgements", headers=other.headers
    )
    problem(acks, 404, "unknown-message")


async def test_a_revoked_certificate_cannot_sign_an_acknowledgement(world: World) -> None:
    _, gp, message_id, sha256 = await delivered(world)
    world.state.extras["auth_cache_seconds"] = 0
    second = await world.certify(gp.address, gp.key)  # a second certificate, same key
    second.token = await world.login(second)
    der = signed_ack(gp, message_id, sha256)  # with the first certificate
    await world.revoke(gp)
    body = {"acknowledgement": base64.b64encode(der).decode()}
    problem(await post_ack(world, second, message_id, body), 422, "invalid-acknowledgement")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_pass_as_an_acknowledgement(data: bytes) -> None:
    with pytest.raises(InvalidAcknowledgement):
        check_acknowledgement(
            data, message_id="m", ciphertext_sha256="0" * 64, recipient="a@b", fingerprints={"x"}
        )


@given(st.binary(max_size=300))
def test_the_statement_reader_accepts_only_canonical_statements(data: bytes) -> None:
    try:
        statement = AckStatement.from_bytes(data)
    except MalformedRecord:
        return
    assert statement.to_bytes() == data
