"""A changed record, node, head or checkpoint is caught, by `check_log` and by receipts.

Also: a server showing two histories (rewritten after a checkpoint was seen) is caught by
comparing checkpoints (ForkDetected) and by the consistency proof (RFC 9162 §2.1.4.2).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from caducee.evidence import EvidenceLog, LogCorrupted, check_log
from caducee.evidence.models import CheckpointRow, LogHead, MerkleNode, RecordRow
from caducee.ledger import (
    CheckpointSignatureInvalid,
    ConsistencyProofInvalid,
    ForkDetected,
    InclusionProofInvalid,
    LedgerError,
    RecordSignatureInvalid,
    compare_checkpoints,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_receipt,
)
from tests.evidence.conftest import fill


async def _receipt_error(log: EvidenceLog, index: int) -> LedgerError:
    checkpoint = await log.latest_checkpoint()
    assert checkpoint is not None
    receipt = await log.receipt(index, checkpoint)
    with pytest.raises(LedgerError) as caught:
        verify_receipt(receipt.to_bytes(), log_key=log.verifier_key)
    return caught.value


async def _check_error(log: EvidenceLog) -> str:
    with pytest.raises(LogCorrupted) as caught:
        await check_log(log.database, log.verifier_key)
    return caught.value.reason


@pytest.fixture
async def filled(log: EvidenceLog) -> EvidenceLog:
    await fill(log, 40)
    await log.checkpoint()
    await check_log(log.database, log.verifier_key)  # sound before tampering
    return log


async def test_a_changed_record(filled: EvidenceLog) -> None:
    async with filled.database.transaction() as session:
        row = await session.get(RecordRow, 7)
        assert row is not None
        row.record_json = row.record_json.replace("msg-7@", "msg-8@")
    assert "record 7:" in await _check_error(filled)
    assert "not signed by the ledger key" in await _check_error(filled)
    assert isinstance(await _receipt_error(filled, 7), RecordSignatureInvalid)


async def test_a_changed_leaf_hash(filled: EvidenceLog) -> None:
    async with filled.database.transaction() as session:
        await session.execute(
            update(RecordRow).where(RecordRow.leaf_index == 3).values(leaf_hash=bytes(32))
        )
    assert await _check_error(filled) == (
        "record 3: the stored leaf hash is not the hash of the record"
    )


async def test_a_changed_tree_node(filled: EvidenceLog) -> None:
    where = (MerkleNode.level == 2) & (MerkleNode.node_index == 1)  # leaves 4..7
    async with filled.database.transaction() as session:
        await session.execute(update(MerkleNode).where(where).values(hash=b"\x01" * 32))
    assert await _check_error(filled) == "tree node (level 2, index 1) differs from the records"
    assert isinstance(await _receipt_error(filled, 0), InclusionProofInvalid)
    assert isinstance(await _receipt_error(filled, 2), InclusionProofInvalid)


async def test_a_missing_tree_node(filled: EvidenceLog) -> None:
    where = (MerkleNode.level == 0) & (MerkleNode.node_index == 39)
    async with filled.database.transaction() as session:
        await session.execute(delete(MerkleNode).where(where))
    assert await _check_error(filled) == "1 tree nodes are missing"
    with pytest.raises(LogCorrupted, match="level 0, index 39"):
        await filled.receipt(38, await filled.checkpoint())


async def test_a_changed_head(filled: EvidenceLog) -> None:
    async with filled.database.transaction() as session:
        await session.execute(update(LogHead).values(tree_size=39))
    assert await _check_error(filled) == "the log head says 39 leaves, 40 records are stored"


async def test_a_changed_checkpoint(filled: EvidenceLog) -> None:
    checkpoint = await filled.latest_checkpoint()
    assert checkpoint is not None
    forged = checkpoint.note.replace("\n40\n", "\n39\n")
    async with filled.database.transaction() as session:
        await session.execute(update(CheckpointRow).values(note=forged))
    reason = await _check_error(filled)
    assert reason.startswith(f"checkpoint {checkpoint.id}: ") and "does not verify" in reason
    assert isinstance(await _receipt_error(filled, 5), CheckpointSignatureInvalid)


async def test_changed_checkpoint_columns(filled: EvidenceLog) -> None:
    async with filled.database.transaction() as session:
        await session.execute(update(CheckpointRow).values(tree_size=12))
    assert "the size or root columns differ from the signed note" in await _check_error(filled)


async def test_a_rewritten_history_is_caught(log: EvidenceLog) -> None:
    await fill(log, 15)
    seen = verify_checkpoint((await log.checkpoint()).note, log.verifier_key)  # an agent keeps it
    # The operator rewrites everything after leaf 10 and replays other records.
    async with log.database.transaction() as session:
        await session.execute(delete(RecordRow).where(RecordRow.leaf_index >= 10))
        for level in range(5):
            await session.execute(
                delete(MerkleNode).where(
                    (MerkleNode.level == level) & (MerkleNode.node_index >= 10 >> level)
                )
            )
        await session.execute(delete(CheckpointRow))
        await session.execute(update(LogHead).values(tree_size=10))
    await fill(log, 5, start=10, tag="forged ")
    await check_log(log.database, log.verifier_key)  # internally consistent: only peers see it
    shown = verify_checkpoint((await log.checkpoint()).note, log.verifier_key)
    with pytest.raises(ForkDetected):
        compare_checkpoints(seen, shown)
    await fill(log, 5, start=15)
    later = verify_checkpoint((await log.checkpoint()).note, log.verifier_key)
    proof = await log.consistency(15, 20)
    with pytest.raises(ConsistencyProofInvalid):
        verify_checkpoint_consistency(seen, later, proof)
    verify_checkpoint_consistency(shown, later, proof)  # the rewritten history is self-consistent
