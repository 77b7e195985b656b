"""RFC 9162 §2.1 Merkle Tree Hash, inclusion and consistency proofs (SHA-256).

Proofs are generated from a :class:`TreeReader`, which answers the hash of one complete
subtree ``[start, start + 2**level)``; a proof needs O(log n) such reads, so a database
table of subtree hashes can serve it. :class:`InMemoryTree` is the in-memory reader.
"""

import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol

from caducee.ledger.errors import ConsistencyProofInvalid, InclusionProofInvalid

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InMemoryTree",
    "TreeReader",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # §2.1.1: MTH({}) = HASH()


def leaf_hash(data: bytes) -> bytes:
    """§2.1.1: MTH({d0}) = HASH(0x00 || d0)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """§2.1.1: HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """§2.1.1: k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeReader(Protocol):
    """The hashes of complete subtrees of an append-only tree."""

    def subtree_hash(self, start: int, level: int) -> bytes:
        """MTH(D[start : start + 2**level]); ``start`` is a multiple of ``2**level``."""
        ...


class InMemoryTree:
    """An append-only tree keeping every complete subtree hash (about 2n hashes)."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, data: bytes) -> int:
        """Append a leaf's data; return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, hash_: bytes) -> int:
        """Append an already computed leaf hash; return its index."""
        levels = self._levels
        index = len(levels[0])
        levels[0].append(hash_)
        level = 0
        while len(levels[level]) % 2 == 0:
            row = levels[level]
            if level + 1 == len(levels):
                levels.append([])
            levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1
        return index

    def subtree_hash(self, start: int, level: int) -> bytes:
        return self._levels[level][start >> level]

    def root(self, tree_size: int | None = None) -> bytes:
        return tree_root(self, self.size if tree_size is None else tree_size)


def _range_hash(reader: TreeReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a ``start`` aligned on the range's split, from complete subtrees."""
    n = end - start
    if n & (n - 1) == 0:
        return reader.subtree_hash(start, n.bit_length() - 1)
    k = _split(n)
    return node_hash(_range_hash(reader, start, start + k), _range_hash(reader, start + k, end))


def tree_root(reader: TreeReader, tree_size: int) -> bytes:
    """MTH(D[tree_size]), in O(log n) reads."""
    if tree_size < 0:
        raise ValueError("tree_size must be >= 0")
    return EMPTY_ROOT if tree_size == 0 else _range_hash(reader, 0, tree_size)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf data (§2.1.1), for small lists and tests."""
    tree = InMemoryTree()
    for data in leaves:
        tree.append(data)
    return tree.root()


def inclusion_proof(reader: TreeReader, index: int, tree_size: int) -> list[bytes]:
    """§2.1.3.1: PATH(m, D[n]), the audit path of leaf ``index`` in the first ``tree_size``."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is not in a tree of size {tree_size}")
    path: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:  # m < k: PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(_range_hash(reader, start + k, end))
            end = start + k
        else:  # m >= k: PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(_range_hash(reader, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(reader: TreeReader, first: int, second: int) -> list[bytes]:
    """§2.1.4.1: PROOF(m, D[n]); empty when ``first`` is 0 or equals ``second``."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    m, start, end, flag = first, 0, second, True
    while True:
        n = end - start
        if m == n:  # SUBPROOF(m, D[m], true) = {}; with false: {MTH(D[m])}
            if not flag:
                proof.append(_range_hash(reader, start, end))
            break
        k = _split(n)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.append(_range_hash(reader, start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            proof.append(_range_hash(reader, start, start + k))
            m, start, flag = m - k, start + k, False
    proof.reverse()
    return proof


def _check_hashes(hashes: Sequence[bytes], error: type[Exception]) -> None:
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise error(f"a proof element is not a {HASH_SIZE}-byte hash")


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """§2.1.3.2: raise :class:`InclusionProofInvalid` unless ``leaf`` (a leaf hash) is in."""
    _check_hashes([leaf, root, *proof], InclusionProofInvalid)
    # 1. leaf_index must be smaller than tree_size.
    if not 0 <= index < tree_size:
        raise InclusionProofInvalid(f"leaf index {index} is not below tree size {tree_size}")
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = index, tree_size - 1, leaf
    # 4. For each p in inclusion_path:
    for p in proof:
        # 4a. sn == 0: the path is too long.
        if sn == 0:
            raise InclusionProofInvalid("the inclusion proof is longer than the tree is deep")
        # 4b. LSB(fn) set or fn == sn: p is on the left.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # 4b2. fn == sn on an even fn: climb the edge
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # 4c. Shift once.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r the root.
    if sn != 0:
        raise InclusionProofInvalid("the inclusion proof is shorter than the tree is deep")
    if not hmac.compare_digest(r, root):
        raise InclusionProofInvalid("the inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """§2.1.4.2: raise :class:`ConsistencyProofInvalid` unless ``first`` is a prefix."""
    _check_hashes([first_root, second_root, *proof], ConsistencyProofInvalid)
    if not 0 <= first <= second:
        raise ConsistencyProofInvalid(f"size {second} is not an extension of size {first}")
    if first == 0 or first == second:  # trivially consistent; the proof must be empty
        if proof:
            raise ConsistencyProofInvalid("a trivial consistency proof must be empty")
        if first == second and not hmac.compare_digest(first_root, second_root):
            raise ConsistencyProofInvalid(f"two different roots for size {first}")
        return
    # 1. An empty consistency_path fails.
    if not proof:
        raise ConsistencyProofInvalid("the consistency proof is empty")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. While LSB(fn) is set, shift both.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        # 6a. sn == 0: the path is too long.
        if sn == 0:
            raise ConsistencyProofInvalid("the consistency proof is too long")
        # 6b. LSB(fn) set or fn == sn: c is on the left of both.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # 6b2. fn == sn on an even fn: climb the edge
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        # 6c. Shift once.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    if sn != 0:
        raise ConsistencyProofInvalid("the consistency proof is too short")
    if not hmac.compare_digest(fr, first_root):
        raise ConsistencyProofInvalid(f"the proof does not lead to the root of size {first}")
    if not hmac.compare_digest(sr, second_root):
        raise ConsistencyProofInvalid(f"the proof does not lead to the root of size {second}")
