"""The ledger endpoints: checkpoint, key, receipts, consistency, and a message's records.

A record read by index is for the parties it names and the operator; anyone else gets the
404 of an absent index, word for word (on SQLite and PostgreSQL, by the ``world`` fixture).
"""

from __future__ import annotations

import base64
import hashlib

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from caducee.directory.certificates import certificate_log_id
from caducee.evidence import EvidenceLog
from caducee.instant.cases import case_log_id
from caducee.ledger import (
    EvidenceEvent,
    EvidenceRecord,
    parse_verifier_key,
    verify_checkpoint,
    verify_consistency,
    verify_receipt,
)
from caducee.ledger.canonical_json import canonicalize
from tests.instant.miss import acknowledge, open_case, with_device
from tests.instant.test_pairing_support import paired_device
from tests.instant.test_routing_escalation import staffed
from tests.server.conftest import OPERATOR_TOKEN, World, problem

LEDGER = "/api/v1/ledger"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
UNKNOWN = "evidence-unknown-record"


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
    response = await world.client.get(f"{LEDGER}/records/3", headers=OPERATOR)
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
    for headers in ({}, OPERATOR):  # beyond the log, or below it: absent even for the operator
        for index in (2, -1, 2**62, 2**63):
            problem(
                await world.client.get(f"{LEDGER}/records/{index}", headers=headers), 404, UNKNOWN
            )
    problem(await world.client.get(f"{LEDGER}/records/x", headers=OPERATOR), 422, "invalid-request")
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


# -- a record by index: its parties and the operator only ---------------------------------


async def _record(world: World, index: int, headers: dict[str, str]) -> httpx.Response:
    return await world.client.get(f"{LEDGER}/records/{index}", headers=headers)


async def _indexes(world: World, log_id: str) -> list[int]:
    return [index for index, _ in await _log(world).records_of(log_id)]


async def _assert_readable(world: World, index: int, headers: dict[str, str]) -> None:
    """200 with a receipt of exactly that record, verified against the log's key."""
    reply = await _record(world, index, headers)
    assert reply.status_code == 200, reply.text
    key = parse_verifier_key(await _key(world))
    assert verify_receipt(reply.content, log_key=key).leaf_index == index


async def _assert_hidden(world: World, index: int, headers: dict[str, str]) -> None:
    """The very answer of an index beyond the log: nobody can tell the two apart."""
    beyond = await _record(world, await _log(world).size() + 7, headers)
    reply = await _record(world, index, headers)
    assert problem(reply, 404, UNKNOWN) == problem(beyond, 404, UNKNOWN)
    assert reply.content == beyond.content and reply.headers == beyond.headers


async def test_a_mail_record_is_for_its_parties_and_the_operator_only(world: World) -> None:
    lab, gp, stranger = (
        await world.person("Lab"),
        await world.person("Gp"),
        await world.person("Autre"),
    )
    finess = await world.organisation()
    clinic = await world.mailbox("accueil@caducee.test", "organisational", organisation=finess)
    message_id = "result-43@caducee.test"
    assert (await world.send(lab, [gp.address], message_id=message_id)).status_code == 201
    indexes = await _indexes(world, message_id)  # SubmissionAcceptance, ContentConsignment
    assert len(indexes) == 2
    for index in indexes:
        for party in (lab.headers, gp.headers, OPERATOR):
            await _assert_readable(world, index, party)
        for outsider in ({}, stranger.headers, clinic.headers):
            await _assert_hidden(world, index, outsider)
    world.clock.advance(minutes=16)
    for index in (*indexes, 99):
        problem(await _record(world, index, gp.headers), 401, "token-expired")
    forged = {"Authorization": "Bearer forged"}
    problem(await _record(world, indexes[0], forged), 401, "unauthenticated")


async def test_a_miss_record_is_for_its_parties_and_the_operator_only(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp, eve = await world.person("Generaliste"), await world.person("Eve")
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    mine = await with_device(world, primary)
    await acknowledge(world, primary, case_id, mine, "ack-ledger-1")
    routed, acknowledged = await _indexes(world, case_log_id(case_id))
    # CaseRouted names the creator (sender) and the person reached (recipient);
    # CaseAcknowledged names who acknowledged (actor) and the creator (recipient).
    for index in (routed, acknowledged):
        for party in (gp.headers, primary.headers, OPERATOR):
            await _assert_readable(world, index, party)
        for outsider in ({}, eve.headers, backup.headers):  # backup: on duty, never reached
            await _assert_hidden(world, index, outsider)
    # A paired browser's device token is for the instant API only, here as everywhere.
    _, device_token = await paired_device(world, gp)
    device = {"Authorization": f"Bearer {device_token}"}
    problem(await _record(world, routed, device), 403, "device-token-out-of-scope")
    world.clock.advance(minutes=16)
    problem(await _record(world, routed, gp.headers), 401, "token-expired")


async def test_an_outsiders_request_signs_no_checkpoint(world: World) -> None:
    """Who may read is settled first: a refused request leaves the log as it was."""
    lab, gp, eve = await world.person("Lab"), await world.person("Gp"), await world.person("Eve")
    assert (await world.send(lab, [gp.address], message_id="quiet@caducee.test")).status_code == 201
    [index, _] = await _indexes(world, "quiet@caducee.test")
    before = await _log(world).latest_checkpoint()
    for outsider in ({}, eve.headers):
        problem(await _record(world, index, outsider), 404, UNKNOWN)
    assert await _log(world).latest_checkpoint() == before
    await _assert_readable(world, index, gp.headers)
    assert await _log(world).latest_checkpoint() != before  # the party's receipt needed one


async def test_a_certificate_record_is_read_by_index_by_its_subject_only(world: World) -> None:
    """Certificate records name their subject: no exception for them, since key transparency
    reads them through ``certificates/{sha256}`` (for any agent), never by index."""
    gp, other = await world.person("Gp"), await world.person("Autre")
    renewed = await world.certify(gp.address, ec.generate_private_key(ec.SECP256R1()))
    await world.login(renewed)
    revoked = await world.client.post(
        f"/api/v1/certificates/{gp.serial_hex}/revoke", json={}, headers=OPERATOR
    )
    assert revoked.status_code == 200, revoked.text
    fingerprint = gp.certificate.fingerprint(hashes.SHA256()).hex()
    [(index, signed)] = await _log(world).records_of(certificate_log_id(fingerprint))
    assert signed.record.event is EvidenceEvent.CERTIFICATE_REVOKED
    assert signed.record.recipient_ids == (gp.address,)
    for party in (renewed.headers, OPERATOR):
        await _assert_readable(world, index, party)
    for outsider in ({}, other.headers):
        await _assert_hidden(world, index, outsider)
