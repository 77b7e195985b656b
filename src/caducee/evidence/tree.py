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
    "CommittedFrontier",
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


class CommittedFrontier:
    """One writer's memory of the frontier its last committed append left, to spare the next
    append reading it back (a round trip on the group commit's serial path).

    The frontier of size *n* depends only on leaves 0..n-1, which never change once
    committed; and the log's size only grows. So when the next append finds the log at
    exactly the remembered size, nobody appended in between and the remembered nodes are
    the frontier. An append's nodes are only *staged* in its transaction, and remembered once
    the writer saw that transaction commit: a rolled-back batch never leaves its nodes here.
    One writer thread uses it (the group commit's).
    """

    def __init__(self) -> None:
        self._committed: tuple[int, dict[NodeKey, bytes]] | None = None
        self._staged: tuple[int, dict[NodeKey, bytes]] | None = None
        self.hits = 0  # appends that did not read the frontier, for the tests

    def known(self, size: int) -> dict[NodeKey, bytes] | None:
        """The frontier of ``size``, if it is the one remembered."""
        committed = self._committed
        if committed is None or committed[0] != size:
            return None
        self.hits += 1
        return committed[1]

    def stage(self, size: int, nodes: dict[NodeKey, bytes]) -> None:
        self._staged = (size, nodes)

    def commit(self) -> None:
        """The transaction that staged the nodes has committed."""
        if self._staged is not None:
            self._committed, self._staged = self._staged, None

    def forget(self) -> None:
        """The transaction failed (or the log was reset): remember nothing of it."""
        self._staged = None


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
