"""The ledger endpoints: checkpoint, key, receipts, consistency, and a message's records."""

from __future__ import annotations

import base64
import hashlib

from caducee.evidence import EvidenceLog
from caducee.ledger import (
    EvidenceEvent,
    EvidenceRecord,
    parse_verifier_key,
    verify_checkpoint,
    verify_consistency,
    verify_receipt,
)
from caducee.ledger.canonical_json import canonicalize
from tests.server.conftest import World, problem

LEDGER = "/api/v1/ledger"


def _log(world: World) -> EvidenceLog:
    log = world.state.extras["evidence_log"]
    assert isinstance(log, EvidenceLog)
    return log


async def _append(world: World, message_id: str, count: int = 1) -> None:
    log = _log(world)
    async with world.state.database.transaction() as session:
        for i in range(count):
            record = EvidenceRecord(
                event=EvidenceEvent.SUBMISSION_ACCEPTANCE
                if i == 0
                else EvidenceEvent.CONTENT_CONSIGNMENT,
                message_id=message_id,
                ciphertext_sha256=hashlib.sha256(message_id.encode()).hexdigest(),
                actor_id="relay",
                time=world.clock(),
                previous_record_sha256=await log.last_record_digest(session, message_id),
            )
            await log.append(session, record)


async def _key(world: World) -> str:
    response = await world.client.get(f"{LEDGER}/key")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text.strip()


async def test_checkpoint_key_receipts_and_consistency(world: World) -> None:
    key = parse_verifier_key(await _key(world))
    assert key.name == "caducee.test/caducee-log"
    response = await world.client.get(f"{LEDGER}/checkpoint")
    assert response.status_code == 200, response.text
    empty = verify_checkpoint(response.text, key)
    assert empty.size == 0
    await _append(world, "a@caducee.test", 5)
    response = await world.client.get(f"{LEDGER}/records/3")
    assert response.status_code == 200, response.text
    verified = verify_receipt(response.content, log_key=key)
    assert verified.leaf_index == 3 and verified.checkpoint.size == 5
    assert response.content == canonicalize(response.json())
    later = verify_checkpoint((await world.client.get(f"{LEDGER}/checkpoint")).text, key)
    assert later.size == 5  # the receipt's checkpoint is now the latest
    response = await world.client.get(f"{LEDGER}/consistency", params={"first": 2, "second": 5})
    assert response.status_code == 200, response.text
    proof = [base64.b64decode(h) for h in response.json()["proof"]]
    async with world.state.database.sessions() as session:
        first_root = await _log(world).root(session, 2)
    verify_consistency(2, 5, proof, first_root, later.root_hash)


async def test_bad_requests_are_problems(world: World) -> None:
    await _append(world, "b@caducee.test", 2)
    problem(await world.client.get(f"{LEDGER}/records/2"), 404, "evidence-unknown-record")
    problem(await world.client.get(f"{LEDGER}/records/-1"), 404, "evidence-unknown-record")
    bad = {"first": 2, "second": 9}
    problem(
        await world.client.get(f"{LEDGER}/consistency", params=bad),
        400,
        "evidence-invalid-tree-range",
    )
    problem(await world.client.get(f"{LEDGER}/consistency"), 422, "invalid-request")


async def test_a_messages_records_are_for_its_sender_and_recipients_only(world: World) -> None:
    sender, recipient, stranger = (
        await world.person("Lab"),
        await world.person("Gp"),
        await world.person("Autre"),
    )
    message_id = "result-42@caducee.test"
    response = await world.send(sender, [recipient.address], message_id=message_id)
    assert response.status_code == 201, response.text
    await _append(world, "unrelated@caducee.test")
    key = parse_verifier_key(await _key(world))
    path = f"{LEDGER}/messages/{message_id}/records"
    for party in (sender, recipient):
        response = await world.client.get(path, headers=party.headers)
        assert response.status_code == 200, response.text
        receipts = response.json()["receipts"]
        verified = [verify_receipt(canonicalize(r), log_key=key) for r in receipts]
        assert [v.leaf_index for v in verified] == [0, 1]  # the relay's own records
        assert [v.record.event.value for v in verified] == [
            "SubmissionAcceptance",
            "ContentConsignment",
        ]
    problem(await world.client.get(path, headers=stranger.headers), 404, "unknown-message")
    problem(await world.client.get(path), 401, "unauthenticated")
    unknown = f"{LEDGER}/messages/nothing@caducee.test/records"
    problem(await world.client.get(unknown, headers=sender.headers), 404, "unknown-message")
