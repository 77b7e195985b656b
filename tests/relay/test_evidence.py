"""The relay's evidence: each event appends its records in the event's own transaction."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import pytest
from sqlalchemy import Connection, func, select

from caducee.evidence import check_log
from caducee.ledger import EvidenceEvent, SignedRecord, verify_record
from caducee.relay import Accepted, Envelope, SubmissionHeld, UnknownRecipient
from caducee.relay.models import Delivery, Message
from caducee.store import Database
from tests.relay.cms_samples import fake_enveloped
from tests.relay.conftest import Relay
from tests.relay.test_service import count, envelope, submit


async def records(relay: Relay, message_id: str) -> list[SignedRecord]:
    return [signed for _, signed in await relay.evidence.records_of(message_id)]


def events(found: Sequence[SignedRecord]) -> list[str]:
    return [s.record.event.value for s in found]


async def test_acceptance_and_one_consignment_per_mailbox_in_one_chain(relay: Relay) -> None:
    receipt = await submit(relay, envelope("ev-1", "gp@caducee.test", "other@caducee.test"))
    found = await records(relay, "ev-1")
    assert events(found) == ["SubmissionAcceptance", "ContentConsignment", "ContentConsignment"]
    accepted = found[0].record
    assert accepted.actor_id == "lab@caducee.test"
    assert accepted.recipient_ids == ("gp@caducee.test", "other@caducee.test")
    assert accepted.ciphertext_sha256 == receipt.ciphertext_sha256  # type: ignore[attr-defined]
    for consigned, address in zip(
        found[1:], ("gp@caducee.test", "other@caducee.test"), strict=True
    ):
        assert consigned.record.recipient_ids == (address,)
        assert consigned.record.previous_record_sha256 == accepted.record_digest()
        assert consigned.record.extra["sequence"] == "1"
    for signed in found:
        verify_record(signed, relay.evidence.verifier_key.public_key)
    report = await check_log(relay.service.database, relay.evidence.verifier_key)
    assert report.tree_size == 3


async def test_a_retry_or_a_refusal_appends_nothing(relay: Relay) -> None:
    body = fake_enveloped()
    await submit(relay, envelope("ev-2", "gp@caducee.test"), body)
    await submit(relay, envelope("ev-2", "gp@caducee.test"), body)
    with pytest.raises(UnknownRecipient):
        await submit(relay, envelope("ev-3", "nobody@caducee.test"))
    assert await relay.evidence.size() == 2
    assert await records(relay, "ev-3") == []


async def test_a_burst_shares_batches_and_every_message_has_its_records(relay: Relay) -> None:
    ids = [f"burst-{i}" for i in range(40)]
    await asyncio.gather(*(submit(relay, envelope(i, "gp@caducee.test")) for i in ids))
    assert await relay.evidence.size() == 80
    for message_id in ids:
        assert events(await records(relay, message_id)) == [
            "SubmissionAcceptance",
            "ContentConsignment",
        ]
    await check_log(relay.service.database, relay.evidence.verifier_key)


async def test_fetch_and_ack_are_recorded_once_each(relay: Relay) -> None:
    await submit(relay, envelope("ev-4", "gp@caducee.test"))
    gp = relay.ids["gp"]
    await relay.service.fetch(gp, "ev-4")
    await relay.service.fetch(gp, "ev-4")  # a second fetch is not a second handover
    await relay.service.acknowledge(gp, "ev-4")
    await relay.service.acknowledge(gp, "ev-4")  # idempotent
    found = await records(relay, "ev-4")
    assert events(found) == [
        "SubmissionAcceptance",
        "ContentConsignment",
        "ContentHandover",
        "ConsignmentAcceptance",
    ]
    handover, accepted = found[2].record, found[3].record
    assert handover.actor_id == accepted.actor_id == "gp@caducee.test"
    assert handover.previous_record_sha256 == found[1].record.record_digest()
    assert accepted.previous_record_sha256 == handover.record_digest()
    assert accepted.extra == {"signed": "no"}


async def test_a_batched_fetch_and_ack_record_each_message_once_chained_to_its_own(
    relay: Relay,
) -> None:
    """A fetch or an acknowledgement of several messages appends their records together
    (one batch: consecutive leaves), each chained to its own message's latest record; an
    id asked twice, or unknown, adds nothing; the log checks whole."""
    ids = [f"batch-{i}" for i in range(6)]
    await asyncio.gather(*(submit(relay, envelope(i, "gp@caducee.test")) for i in ids))
    gp = relay.ids["gp"]
    before = await relay.evidence.size()
    fetched = await relay.service.fetch_many(gp, [*ids, ids[0], "unknown"], max_bytes=10**6)
    assert sum(not isinstance(o, Exception) for o in fetched) == 7  # ids[0] answered twice
    assert await relay.evidence.size() == before + 6
    acknowledged = await relay.service.acknowledge_many(gp, [(i, None) for i in [*ids, ids[1]]])
    assert not any(isinstance(o, Exception) for o in acknowledged)
    assert await relay.evidence.size() == before + 12
    leaves: dict[str, list[int]] = {}
    for message_id in ids:
        found = await records(relay, message_id)
        assert events(found) == [
            "SubmissionAcceptance",
            "ContentConsignment",
            "ContentHandover",
            "ConsignmentAcceptance",
        ]
        for earlier, later in itertools.pairwise(found):
            assert later.record.previous_record_sha256 == earlier.record.record_digest()
        leaves[message_id] = [index for index, _ in await relay.evidence.records_of(message_id)]
    handovers = sorted(leaves[i][2] for i in ids)
    assert handovers == list(range(before, before + 6))  # one batch, in the asked order
    assert [leaves[i][2] for i in ids] == handovers
    await check_log(relay.service.database, relay.evidence.verifier_key)


async def test_mail_from_another_operator_is_received_from_external(relay: Relay) -> None:
    await relay.service.submit(
        sender_mailbox_id=relay.ids["lab"],
        sender_address="lab@caducee.test",
        envelope=envelope("ext-1", "gp@caducee.test"),
        ciphertext=fake_enveloped(),
        external_origin="hopital.mssante.test",
    )
    first = (await records(relay, "ext-1"))[0].record
    assert first.event is EvidenceEvent.RECEIVED_FROM_EXTERNAL
    assert first.extra["origin_domain"] == "hopital.mssante.test"
    assert first.actor_id == relay.evidence.origin


def broken(connection: Connection, accepted: Sequence[Accepted]) -> None:
    """A commit hook that fails the batch's transaction after its evidence was appended."""
    raise RuntimeError("the disk is full")


async def test_a_failing_commit_leaves_neither_message_nor_evidence(relay: Relay) -> None:
    relay.service.committer.hooks.append(broken)
    with pytest.raises(RuntimeError):
        await submit(relay, envelope("ev-5", "gp@caducee.test"))
    relay.service.committer.hooks.remove(broken)
    assert await count(relay, Message) == 0 and await count(relay, Delivery) == 0
    assert await relay.evidence.size() == 0
    await submit(relay, envelope("ev-5", "gp@caducee.test"))  # the same id works afterwards
    assert await relay.evidence.size() == 2


async def test_commit_hooks_see_each_accepted_message_in_the_transaction(relay: Relay) -> None:
    seen: list[tuple[str, tuple[tuple[str, int], ...], int]] = []

    def hook(connection: Connection, accepted: Sequence[Accepted]) -> None:
        stored = connection.scalar(select(func.count()).select_from(Message))
        seen.extend((a.message_id, a.recipients, int(stored or 0)) for a in accepted)

    relay.service.committer.hooks.append(hook)
    await submit(relay, envelope("hook-1", "gp@caducee.test", "other@caducee.test"))
    assert seen == [
        (
            "hook-1",
            (("gp@caducee.test", relay.ids["gp"]), ("other@caducee.test", relay.ids["other"])),
            1,  # the message row is already written, in the same transaction
        )
    ]


class HoldEverything:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str, int]] = []

    async def __call__(
        self, sender_mailbox_id: int, envelope: Envelope, ciphertext_sha256: str, size: int
    ) -> None:
        self.calls.append((sender_mailbox_id, envelope.message_id, ciphertext_sha256, size))
        raise SubmissionHeld("too many recipients", hold_id="h-1", charter_url="/charte")


async def test_a_gate_holds_a_message_with_its_ciphertext_kept(relay: Relay) -> None:
    gate = HoldEverything()
    relay.service.gate = gate
    body = fake_enveloped()
    with pytest.raises(SubmissionHeld) as held:
        await submit(relay, envelope("held-1", "gp@caducee.test"), body)
    assert held.value.hold_id == "h-1"
    [(sender, message_id, sha256, size)] = gate.calls
    assert (sender, message_id, size) == (relay.ids["lab"], "held-1", len(body))
    assert await relay.service.blobs.get(sha256) == body  # not lost
    assert await count(relay, Message) == 0 and await relay.evidence.size() == 0
    # A moderator's release goes past the gate.
    await relay.service.submit(
        sender_mailbox_id=relay.ids["lab"],
        sender_address="lab@caducee.test",
        envelope=envelope("held-1", "gp@caducee.test"),
        ciphertext=body,
        gated=False,
    )
    assert await count(relay, Message) == 1 and len(gate.calls) == 1


async def test_records_survive_a_new_process(relay: Relay, migrated_url: str) -> None:
    await submit(relay, envelope("ev-6", "gp@caducee.test"))
    other = Database(migrated_url)
    try:
        await check_log(other, relay.evidence.verifier_key)
    finally:
        await other.close()


async def test_each_batch_reuses_the_frontier_the_last_one_committed(relay: Relay) -> None:
    remembered = relay.service.committer.frontier
    for number in range(4):
        await submit(relay, envelope(f"chain-{number}", "gp@caducee.test"))
    assert remembered.hits == 3  # the first batch read it from the database
    await check_log(relay.service.database, relay.evidence.verifier_key)


async def test_a_failed_batch_leaves_no_frontier_behind(relay: Relay) -> None:
    """The failed batch staged the frontier of size 4; the log then reaches size 4 by other
    appends (a fetch and an acknowledgement). Had the failed batch's nodes been kept, the next
    batch would build on them and the tree would no longer match its leaves."""
    await submit(relay, envelope("kept", "gp@caducee.test"))
    relay.service.committer.hooks.append(broken)
    with pytest.raises(RuntimeError):
        await submit(relay, envelope("lost", "gp@caducee.test"))
    relay.service.committer.hooks.remove(broken)
    await relay.service.fetch(relay.ids["gp"], "kept")
    await relay.service.acknowledge(relay.ids["gp"], "kept")
    assert await relay.evidence.size() == 4
    hits = relay.service.committer.frontier.hits
    await submit(relay, envelope("after", "gp@caducee.test"))
    assert relay.service.committer.frontier.hits == hits  # read from the database
    report = await check_log(relay.service.database, relay.evidence.verifier_key)
    assert report.tree_size == 6
