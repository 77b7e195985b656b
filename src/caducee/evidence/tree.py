"""The RFC 9162 §2.1 tree over ``evidence_merkle_node``: appends and proof reads.

Every proof of :mod:`caducee.ledger.merkle` reads complete subtrees only, and which ones does
not depend on their values. So a proof is run twice: once against a :class:`_Recorder` that
notes the (level, index) pairs it needs, then against a :class:`DatabaseTreeReader` holding
exactly those rows, fetched in one query: O(log n) rows, one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.evidence.errors import LogCorrupted
from caducee.evidence.models import MerkleNode
from caducee.ledger import TreeReader, node_hash

__all__ = [
    "DatabaseTreeReader",
    "frontier",
    "load_nodes",
    "new_nodes",
    "run_on_database",
]

T = TypeVar("T")
NodeKey = tuple[int, int]  # (level, node_index)
_PLACEHOLDER = bytes(32)


def frontier(size: int) -> list[NodeKey]:
    """The complete subtrees that MTH(D[0:size]) splits into, left to right (§2.1.1)."""
    keys = []
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            keys.append((level, (size >> level) - 1))
    return keys


def new_nodes(
    size: int, leaf_hashes: Sequence[bytes], known: Mapping[NodeKey, bytes]
) -> dict[NodeKey, bytes]:
    """The subtrees completed by appending ``leaf_hashes`` to a tree of ``size`` leaves.

    ``known`` holds the :func:`frontier` of ``size``; the result includes level 0.
    """
    made: dict[NodeKey, bytes] = {(0, size + i): h for i, h in enumerate(leaf_hashes)}
    end = size + len(leaf_hashes)
    level = 1
    while end >> level > size >> level:  # some subtree of this level completes
        for j in range(size >> level, end >> level):
            left, right = (level - 1, 2 * j), (level - 1, 2 * j + 1)
            try:
                left_hash = made[left] if left in made else known[left]
            except KeyError:
                raise LogCorrupted(f"tree node {left} of size {size} is missing") from None
            made[(level, j)] = node_hash(left_hash, made[right])
        level += 1
    return made


def load_nodes(connection: Connection, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """Read these nodes in one query (grouped by level), on a blocking connection."""
    by_level: dict[int, set[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, set()).add(index)
    if not by_level:
        return {}
    clause = or_(
        *(
            and_(MerkleNode.level == level, MerkleNode.node_index.in_(sorted(indices)))
            for level, indices in by_level.items()
        )
    )
    rows = connection.execute(
        select(MerkleNode.level, MerkleNode.node_index, MerkleNode.hash).where(clause)
    )
    return {(level, index): bytes(h) for level, index, h in rows}


class _Recorder:
    """A reader that answers zeros and remembers what was asked."""

    def __init__(self) -> None:
        self.keys: set[NodeKey] = set()

    def subtree_hash(self, start: int, level: int) -> bytes:
        self.keys.add((level, start >> level))
        return _PLACEHOLDER


class DatabaseTreeReader:
    """A :class:`~caducee.ledger.TreeReader` over rows read from ``evidence_merkle_node``."""

    def __init__(self, nodes: Mapping[NodeKey, bytes]) -> None:
        self._nodes = nodes

    @classmethod
    async def load(cls, session: AsyncSession, keys: Iterable[NodeKey]) -> DatabaseTreeReader:
        wanted = list(keys)
        return cls(await session.run_sync(lambda s: load_nodes(s.connection(), wanted)))

    def subtree_hash(self, start: int, level: int) -> bytes:
        key = (level, start >> level)
        try:
            return self._nodes[key]
        except KeyError:
            raise LogCorrupted(f"tree node (level {level}, index {key[1]}) is missing") from None


async def run_on_database(session: AsyncSession, compute: Callable[[TreeReader], T]) -> T:
    """Run a proof or root computation against the stored tree in one read."""
    recorder = _Recorder()
    compute(recorder)
    reader = await DatabaseTreeReader.load(session, recorder.keys)
    return compute(reader)
