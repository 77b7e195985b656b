"""Benchmark of the ledger's pure core: in-memory appends, proof generation and verification.

    .venv/bin/python bench/bench_ledger_core.py [--sizes 1000000 10000000] [--proofs 10000]

The limit is a bare hashlib loop over the same leaves: one SHA-256 per leaf (the leaf hash)
and two per leaf (leaf hash plus the one interior node an append adds on average).
"""

import argparse
import hashlib
import random
import resource
import time
from collections.abc import Callable, Iterable, Iterator

from caducee.ledger.merkle import (
    InMemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_BYTES = 400  # about the size of a signed evidence record in canonical JSON


def leaves(n: int) -> Iterator[bytes]:
    """Leaves made on the fly (10 million of them would not fit in memory twice)."""
    pad = b"x" * (LEAF_BYTES - 8)
    return (i.to_bytes(8, "big") + pad for i in range(n))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_leaf_loop(data: Iterable[bytes]) -> None:
    sha = hashlib.sha256
    for d in data:
        sha(b"\x00" + d).digest()


def bare_tree_loop(data: Iterable[bytes]) -> None:
    sha = hashlib.sha256
    prev = b""
    for d in data:
        h = sha(b"\x00" + d).digest()
        sha(b"\x01" + prev + h).digest()
        prev = h


def run(n: int, proofs: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    t = timed(lambda: bare_leaf_loop(leaves(n)))
    rows.append(("bare hashlib, leaf hashes", f"{n / t:,.0f} leaves/s"))
    t = timed(lambda: bare_tree_loop(leaves(n)))
    rows.append(("bare hashlib, 2 hashes/leaf", f"{n / t:,.0f} leaves/s"))
    tree = InMemoryTree()
    append = tree.append

    def fill() -> None:
        for d in leaves(n):
            append(d)

    t = timed(fill)
    rows.append(("InMemoryTree.append", f"{n / t:,.0f} leaves/s ({t:.1f} s)"))
    t = timed(lambda: tree.root())
    rows.append(("root of the whole tree", f"{t * 1e6:,.0f} µs"))
    rng = random.Random(42)
    cases = [(rng.randrange(n), rng.randrange(1, n + 1)) for _ in range(proofs)]
    cases = [(min(i, s - 1), s) for i, s in cases]
    roots = {s: tree.root(s) for _, s in cases}
    made: list[list[bytes]] = []

    def make_inclusion() -> None:
        for i, s in cases:
            made.append(inclusion_proof(tree, i, s))

    t = timed(make_inclusion)
    rows.append(("inclusion proof, generate", f"{t / proofs * 1e6:,.1f} µs"))
    leaf_hashes = [tree.subtree_hash(i, 0) for i, _ in cases]

    def check_inclusion() -> None:
        for h, (i, s), p in zip(leaf_hashes, cases, made, strict=True):
            verify_inclusion(h, i, s, p, roots[s])

    t = timed(check_inclusion)
    rows.append(("inclusion proof, verify", f"{t / proofs * 1e6:,.1f} µs"))
    pairs: list[tuple[int, int]] = []
    for _ in range(proofs):
        a, b = rng.randrange(1, n + 1), rng.randrange(1, n + 1)
        pairs.append((min(a, b), max(a, b)))
    pair_roots = {s: tree.root(s) for pair in pairs for s in pair}
    made.clear()

    def make_consistency() -> None:
        for m, s in pairs:
            made.append(consistency_proof(tree, m, s))

    t = timed(make_consistency)
    rows.append(("consistency proof, generate", f"{t / proofs * 1e6:,.1f} µs"))

    def check_consistency() -> None:
        for (m, s), p in zip(pairs, made, strict=True):
            verify_consistency(m, s, p, pair_roots[m], pair_roots[s])

    t = timed(check_consistency)
    rows.append(("consistency proof, verify", f"{t / proofs * 1e6:,.1f} µs"))
    rows.append(("proof length (max seen)", f"{max(len(p) for p in made)} hashes"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS of the process", f"{rss:,.0f} MiB"))
    assert leaf_hash(next(leaves(1))) == tree.subtree_hash(0, 0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--proofs", type=int, default=10_000)
    args = parser.parse_args()
    for n in args.sizes:
        rows = run(n, args.proofs)
        print(f"\n{n:,} leaves of {LEAF_BYTES} bytes, {args.proofs:,} random proofs each")
        width = max(len(name) for name, _ in rows)
        print(f"{'measure'.ljust(width)} | value")
        print(f"{'-' * width}-|-{'-' * 30}")
        for name, value in rows:
            print(f"{name.ljust(width)} | {value}")


if __name__ == "__main__":
    main()
