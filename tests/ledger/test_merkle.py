"""RFC 9162 §2.1 against the transparency-dev/merkle reference vectors (see VECTORS.md)."""

import json
from pathlib import Path

import pytest

from caducee.ledger.errors import ConsistencyProofInvalid, InclusionProofInvalid
from caducee.ledger.merkle import (
    EMPTY_ROOT,
    InMemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaves,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "ledger" / "rfc6962_merkle.json").read_text()
)
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture(scope="module")
def tree() -> InMemoryTree:
    t = InMemoryTree()
    for data in LEAVES:
        t.append(data)
    return t


def test_empty_tree_root() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert root_from_leaves([]) == EMPTY_ROOT
    assert tree_root(InMemoryTree(), 0) == EMPTY_ROOT


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"").hex() == VECTORS["roots"][0]
    assert node_hash(leaf_hash(LEAVES[0]), leaf_hash(LEAVES[1])) == ROOTS[1]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots(tree: InMemoryTree, size: int) -> None:
    assert tree.root(size) == ROOTS[size - 1]
    assert root_from_leaves(LEAVES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-{c['size']}")
def test_inclusion_vectors(tree: InMemoryTree, case: dict) -> None:
    index, size = case["index"], case["size"]
    expected = [bytes.fromhex(h) for h in case["proof"]]
    assert inclusion_proof(tree, index, size) == expected
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, expected, ROOTS[size - 1])


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['first']}-{c['second']}"
)
def test_consistency_vectors(tree: InMemoryTree, case: dict) -> None:
    m, n = case["first"], case["second"]
    expected = [bytes.fromhex(h) for h in case["proof"]]
    assert consistency_proof(tree, m, n) == expected
    verify_consistency(m, n, expected, ROOTS[m - 1], ROOTS[n - 1])


def _inclusion_probes(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):
    """The corruptions transparency-dev applies (proof/verify_test.go), re-expressed."""
    yield index - 1, size, proof, root, leaf
    yield index + 1, size, proof, root, leaf
    yield index ^ 2, size, proof, root, leaf
    yield index, size * 2, proof, root, leaf
    yield index, size // 2, proof, root, leaf
    yield index, size, proof, root, leaf_hash(b"WrongLeaf")
    yield index, size, proof, EMPTY_ROOT, leaf
    yield index, size, proof, SOME_HASH, leaf
    yield index, size, [*proof, b""], root, leaf
    yield index, size, [*proof, root], root, leaf
    yield index, size, [b"", *proof], root, leaf
    yield index, size, [root, *proof], root, leaf
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield index, size, bad, root, leaf
    if proof:
        yield index, size, proof[:-1], root, leaf
    if len(proof) > 1:
        yield index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf


@pytest.mark.parametrize(
    "case", VECTORS["inclusion"][1:], ids=lambda c: f"{c['index']}-{c['size']}"
)
def test_inclusion_corruptions_fail(case: dict) -> None:
    index, size = case["index"], case["size"]
    proof = [bytes.fromhex(h) for h in case["proof"]]
    for probe in _inclusion_probes(index, size, proof, ROOTS[size - 1], leaf_hash(LEAVES[index])):
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(probe[4], probe[0], probe[1], probe[2], probe[3])


@pytest.mark.parametrize(
    "case", VECTORS["consistency"][1:], ids=lambda c: f"{c['first']}-{c['second']}"
)
def test_consistency_corruptions_fail(case: dict) -> None:
    m, n = case["first"], case["second"]
    p = [bytes.fromhex(h) for h in case["proof"]]
    r1, r2 = ROOTS[m - 1], ROOTS[n - 1]
    probes = [
        (m - 1, n, p, r1, r2),
        (m + 1, n, p, r1, r2),
        (m ^ 2, n, p, r1, r2),
        (m, n * 2, p, r1, r2),
        (m, n // 2, p, r1, r2),
        (m, n, p, SOME_HASH, r2),
        (m, n, p, r1, SOME_HASH),
        (m, n, p, r2, r1),
        (m, n, [], r1, r2),
        (m, n, [*p, b""], r1, r2),
        (m, n, [*p, r1], r1, r2),
        (m, n, [*p, r2], r1, r2),
        (m, n, [b"", *p], r1, r2),
        (m, n, [r1, *p], r1, r2),
        (m, n, [r2, *p], r1, r2),
        (m, n, [p[0], *p], r1, r2),
        (m, n, p[:-1], r1, r2),
    ]
    for i in range(len(p)):
        bad = list(p)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((m, n, bad, r1, r2))
    for first, second, proof, root1, root2 in probes:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(first, second, proof, root1, root2)


def test_trivial_consistency() -> None:
    a, b = ROOTS[0], ROOTS[1]
    verify_consistency(0, 0, [], a, a)
    verify_consistency(0, 5, [], a, b)  # every tree extends the empty tree
    verify_consistency(1, 1, [], b, b)
    for first, second, proof, r1, r2 in [
        (1, 1, [], a, b),  # one size, two roots: a fork
        (1, 0, [], a, b),  # time travel to the past
        (2, 1, [], a, b),
        (1, 2, [], a, b),  # empty proof
        (0, 0, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT),  # trivial but not empty
        (1, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT),
    ]:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(first, second, proof, r1, r2)


def test_single_leaf_inclusion() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)
    for leaf, root in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(leaf, 0, 1, [], root)
    for index, size in [(0, 0), (1, 0), (2, 1), (-1, 1)]:
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(h, index, size, [], h)


def test_generation_refuses_impossible_requests(tree: InMemoryTree) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(tree, 8, 8)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(tree, 5, 4)
    with pytest.raises(ValueError):
        tree_root(tree, -1)


def test_reader_reads_are_logarithmic() -> None:
    """A database-backed reader answers a proof in O(log n) subtree reads."""

    class CountingTree(InMemoryTree):
        reads = 0

        def subtree_hash(self, start: int, level: int) -> bytes:
            CountingTree.reads += 1
            return super().subtree_hash(start, level)

    t = CountingTree()
    for i in range(1000):
        t.append_hash(leaf_hash(i.to_bytes(4, "big")))
    for index in (0, 500, 999):
        CountingTree.reads = 0
        inclusion_proof(t, index, 1000)
        assert CountingTree.reads <= 2 * 10
    CountingTree.reads = 0
    consistency_proof(t, 333, 1000)
    assert CountingTree.reads <= 2 * 10
