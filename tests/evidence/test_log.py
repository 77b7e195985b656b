"""Appends, proofs and checkpoints of the database log, checked with the pure verifiers."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caducee.evidence import (
    EvidenceLog,
    InvalidTreeRange,
    LogIdentity,
    UnknownRecord,
    check_log,
)
from caducee.evidence.models import CheckpointRow, LogHead, MerkleNode, RecordRow
from caducee.ledger import (
    InMemoryTree,
    parse_receipt,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from caducee.store import Database
from tests.evidence.conftest import fill
from tests.evidence.samples import make_record


async def _nodes(database: Database) -> dict[tuple[int, int], bytes]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(MerkleNode.level, MerkleNode.node_index, MerkleNode.hash)
        )
        return {(lv, ix): bytes(h) for lv, ix, h in rows}


def _oracle(log: EvidenceLog, count: int) -> tuple[InMemoryTree, dict[tuple[int, int], bytes]]:
    """The in-memory tree of the same signed records, and every complete subtree of it."""
    from caducee.ledger import sign_record

    tree = InMemoryTree()
    for i in range(count):
        tree.append_hash(sign_record(make_record(i), log.identity.private_key).leaf_hash())
    nodes = {
        (level, index): tree.subtree_hash(index << level, level)
        for level in range(count.bit_length())
        for index in range(count >> level)
    }
    return tree, nodes


async def test_every_receipt_and_many_consistency_proofs_verify(log: EvidenceLog) -> None:
    await fill(log, 100)
    checkpoint = await log.checkpoint()
    assert checkpoint.tree_size == 100
    tree, _ = _oracle(log, 100)
    assert checkpoint.root_hash == tree.root()
    for index in range(100):
        receipt = await log.receipt(index, checkpoint)
        verified = verify_receipt(receipt.to_bytes(), log_key=log.verifier_key)
        assert verified.leaf_index == index
        assert verified.record == make_record(index)
    for first, second in itertools.combinations_with_replacement(range(0, 101, 7), 2):
        proof = await log.consistency(first, second)
        verify_consistency(first, second, proof, tree.root(first), tree.root(second))


async def test_one_by_one_and_batched_appends_store_the_same_tree(log: EvidenceLog) -> None:
    for i in range(13):  # one per transaction, as the relay does
        async with log.database.transaction() as session:
            index, signed = await log.append(session, make_record(i))
            assert index == i and signed.record == make_record(i)
    start = 13
    for batch in (1, 2, 3, 16, 31, 1, 33):  # crosses several powers of two
        async with log.database.transaction() as session:
            done = await log.append_many(
                session, [make_record(i) for i in range(start, start + batch)]
            )
        assert [index for index, _ in done] == list(range(start, start + batch))
        start += batch
    tree, nodes = _oracle(log, start)
    assert await _nodes(log.database) == nodes
    assert await log.size() == start
    report = await check_log(log.database, log.verifier_key)
    assert (report.tree_size, report.root_hash) == (start, tree.root())


async def test_a_rolled_back_append_leaves_nothing(log: EvidenceLog) -> None:
    await fill(log, 5)
    with pytest.raises(RuntimeError):
        async with log.database.transaction() as session:
            await log.append_many(session, [make_record(i) for i in range(5, 9)])
            raise RuntimeError("the relay's own write failed")
    async with log.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RecordRow)) == 5
        assert await session.scalar(select(func.count()).select_from(MerkleNode)) == 8
        assert await session.scalar(select(LogHead.tree_size)) == 5
    async with log.database.transaction() as session:
        index, _ = await log.append(session, make_record(5))
    assert index == 5
    await check_log(log.database, log.verifier_key)


async def test_concurrent_appends_are_serialised(log: EvidenceLog) -> None:
    async def writer(w: int) -> list[int]:
        indices = []
        for k in range(5):
            async with log.database.transaction() as session:
                index, _ = await log.append(session, make_record(100 * w + k))
                indices.append(index)
        return indices

    results = await asyncio.gather(*(writer(w) for w in range(6)))
    assert sorted(itertools.chain.from_iterable(results)) == list(range(30))
    report = await check_log(log.database, log.verifier_key)
    assert report.tree_size == 30 and report.nodes == 2 * 30 - 4


async def test_checkpoints_are_signed_and_reused_while_fresh(log: EvidenceLog) -> None:
    empty = await log.checkpoint()
    assert empty.tree_size == 0
    await fill(log, 3)
    first = await log.current_checkpoint(max_age=timedelta(0))  # stale: a new one
    assert first.tree_size == 3 and first.id != empty.id
    assert (await log.current_checkpoint(max_age=timedelta(0))).id == first.id  # nothing new
    await fill(log, 2, start=3)
    assert (await log.current_checkpoint()).id == first.id  # fresh enough
    assert (await log.current_checkpoint(covering=4)).tree_size == 5
    checkpoint = verify_checkpoint((await log.latest_checkpoint() or first).note, log.verifier_key)
    assert checkpoint.origin == log.origin and checkpoint.size == 5
    async with log.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CheckpointRow)) == 3


async def test_records_of_a_message_and_chaining(log: EvidenceLog) -> None:
    await fill(log, 4)
    async with log.database.transaction() as session:
        previous = await log.last_record_digest(session, "msg-2@caducee.test")
        assert previous == make_record(2).record_digest()
        await log.append(session, make_record(9, message="msg-2@caducee.test"))
    found = await log.records_of("msg-2@caducee.test")
    assert [index for index, _ in found] == [2, 4]
    assert await log.records_of("nobody@caducee.test") == []
    checkpoint = await log.checkpoint()
    receipt = parse_receipt((await log.receipt(4, checkpoint)).to_bytes())
    verify_inclusion(
        receipt.record.leaf_hash(), 4, 5, receipt.inclusion_proof, checkpoint.root_hash
    )


async def test_out_of_range_requests_are_refused(log: EvidenceLog) -> None:
    await fill(log, 3)
    checkpoint = await log.checkpoint()
    with pytest.raises(UnknownRecord):
        await log.receipt(3, checkpoint)
    with pytest.raises(UnknownRecord):
        await log.record(7)
    with pytest.raises(InvalidTreeRange):
        await log.consistency(2, 4)
    with pytest.raises(InvalidTreeRange):
        await log.consistency(3, 2)


async def test_the_head_row_is_recreated_after_a_truncation(
    database: Database, identity: LogIdentity
) -> None:
    async with database.transaction() as session:
        await session.execute(LogHead.__table__.delete())
    log = EvidenceLog(database, identity)
    await fill(log, 3)
    assert await log.size() == 3
    await check_log(database, log.verifier_key)


async def test_stored_leaves_are_the_canonical_signed_records(log: EvidenceLog) -> None:
    """The spliced leaf (record bytes reused) equals ``SignedRecord.to_leaf_data``."""
    from caducee.ledger import EvidenceEvent, EvidenceRecord, leaf_hash

    odd = EvidenceRecord(
        event=EvidenceEvent.CONTENT_HANDOVER,
        message_id='<"quoted"\\back\u2028slash\u00e9\U0001f600\x01@caducee.test>',
        ciphertext_sha256="0" * 64,
        actor_id="agent é",
        time=make_record(0).time,
        extra={"z": "\x7f", "a": "</script>", "é": ""},
    )
    async with log.database.transaction() as session:
        done = await log.append_many(session, [odd, make_record(1)])
    for index, signed in done:
        async with log.database.sessions() as session:
            row = await session.get(RecordRow, index)
        assert row is not None
        assert row.record_json.encode() == signed.to_leaf_data()
        assert bytes(row.leaf_hash) == leaf_hash(signed.to_leaf_data())
    await check_log(log.database, log.verifier_key)
