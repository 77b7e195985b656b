"""Every tree size 1..64, every leaf and every (m, n) pair, against pymerkle as the oracle.

pymerkle is GPL: it is imported here, in a test, and never from ``src/``. Its leaves are
1-based, its roots are RFC 9162 MTH (``get_state(n)``), its inclusion path is
``[leaf hash] + audit path``; its consistency proofs have another shape, so ours are checked
against its roots (and its own proofs against the same roots).
"""

import warnings

import pytest

from caducee.ledger.errors import ConsistencyProofInvalid, InclusionProofInvalid
from caducee.ledger.merkle import (
    InMemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

pymerkle = pytest.importorskip("pymerkle")
N = 64


@pytest.fixture(scope="module")
def trees() -> tuple[InMemoryTree, object, list[bytes]]:
    oracle = pymerkle.InmemoryTree(algorithm="sha256")
    ours = InMemoryTree()
    for i in range(N):
        data = f"leaf {i}".encode()
        oracle.append_entry(data)
        ours.append(data)
    assert oracle.get_leaf(1) == leaf_hash(b"leaf 0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        roots = [oracle.get_state(n) for n in range(N + 1)]
    return ours, oracle, roots


def test_roots(trees) -> None:
    ours, _, roots = trees
    for n in range(N + 1):
        assert ours.root(n) == roots[n], n


def test_every_inclusion_proof(trees) -> None:
    ours, oracle, roots = trees
    for n in range(1, N + 1):
        for i in range(n):
            proof = inclusion_proof(ours, i, n)
            path = oracle.prove_inclusion(i + 1, n).serialize()["path"]
            assert [h.hex() for h in proof] == path[1:], (i, n)
            leaf = leaf_hash(f"leaf {i}".encode())
            verify_inclusion(leaf, i, n, proof, roots[n])
            # The same proof does not prove another leaf, index or size.
            with pytest.raises(InclusionProofInvalid):
                verify_inclusion(leaf_hash(b"other"), i, n, proof, roots[n])
            if n > 1:
                with pytest.raises(InclusionProofInvalid):
                    verify_inclusion(leaf, (i + 1) % n, n, proof, roots[n])
            with pytest.raises(InclusionProofInvalid):
                verify_inclusion(leaf, i, n + 1, proof, roots[n + 1] if n < N else roots[n])


def test_every_consistency_proof(trees) -> None:
    ours, oracle, roots = trees
    for n in range(1, N + 1):
        for m in range(0, n + 1):
            proof = consistency_proof(ours, m, n)
            verify_consistency(m, n, proof, roots[m], roots[n])
            if 0 < m < n:
                theirs = oracle.prove_consistency(m, n)
                pymerkle.verify_consistency(roots[m], roots[n], theirs)
                for bad_m in {m - 1, m + 1} - {0}:
                    if bad_m <= n:
                        with pytest.raises(ConsistencyProofInvalid):
                            verify_consistency(bad_m, n, proof, roots[bad_m], roots[n])
                with pytest.raises(ConsistencyProofInvalid):
                    verify_consistency(m, n, proof, roots[m - 1], roots[n])
                with pytest.raises(ConsistencyProofInvalid):
                    verify_consistency(m, n, proof, roots[m], roots[n - 1])
