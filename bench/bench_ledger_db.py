"""Benchmark of the database evidence log: appends/s, proof generation and verification.

    .venv/bin/python bench/bench_ledger_db.py [--size 1000000] [--engines sqlite postgresql]
        [--batch 1000] [--budget 240] [--prefill 10000000]

Per engine: one record per transaction (the relay's case: a commit, fsync'd, per event),
then batches of ``--batch`` until ``--size`` records or ``--budget`` seconds (the run stops
by itself and says what size it reached); then inclusion and consistency proofs at that
size, each one database round trip, verified with the pure verifier. The limit is a bare
hashlib loop over the same canonical records in the same run (leaf hash + one node).

``--prefill N`` first bulk-loads a tree of N synthetic leaves (real RFC 9162 hashes of
made-up leaf data, every complete subtree stored as the log stores it, but no record rows:
10 million signed records would take hours to append here), then measures appends on top
of it and proofs at that size: a proof's cost depends on the tree's size, not on what its
leaves say. Proofs of prefilled leaves use the leaf hashes kept from the fill.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.evidence import EvidenceLog, LogIdentity
from caducee.evidence.tree import run_on_database
from caducee.ledger import (
    EvidenceEvent,
    EvidenceRecord,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    sign_record,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from caducee.store import Database, upgrade_database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 11, 29, tzinfo=UTC)
Row = tuple[str, str, str]


def record(i: int) -> EvidenceRecord:
    return EvidenceRecord(
        event=EvidenceEvent.CONTENT_CONSIGNMENT,
        message_id=f"<{i:012d}.bench@caducee.test>",
        ciphertext_sha256=hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
        actor_id="relay",
        time=T0 + timedelta(milliseconds=i),
        sender_id="lab.bench@caducee.test",
        recipient_ids=("gp.bench@caducee.test",),
    )


def bare_hashlib(n: int, key: Ed25519PrivateKey) -> float:
    """Leaves/s of sha256(0x00 || leaf) plus one node hash, over real signed leaves."""
    data = [sign_record(record(i), key).to_leaf_data() for i in range(min(n, 20000))]
    sha, prev = hashlib.sha256, b""
    start = time.perf_counter()
    for k in range(n):
        h = sha(b"\x00" + data[k % len(data)]).digest()
        sha(b"\x01" + prev + h).digest()
        prev = h
    return n / (time.perf_counter() - start)


def synthetic_tree(n: int) -> tuple[list[list[bytes]], dict[int, bytes]]:
    """Every complete subtree of n synthetic leaves, level by level; a sample of leaf hashes."""
    sha = hashlib.sha256
    level = [sha(b"\x00synthetic leaf " + i.to_bytes(8, "big")).digest() for i in range(n)]
    sample = {i: level[i] for i in random.sample(range(n), min(n, 500))}
    levels = [level]
    while len(level) > 1:
        level = [
            sha(b"\x01" + level[j] + level[j + 1]).digest() for j in range(0, len(level) - 1, 2)
        ]
        levels.append(level)
    return levels, sample


def prefill(name: str, url: str, n: int) -> tuple[dict[int, bytes], float]:
    """Bulk-load the tree tables with n synthetic leaves; (sample of leaf hashes, seconds)."""
    start = time.perf_counter()
    levels, sample = synthetic_tree(n)
    rows = ((lv, ix, h) for lv, level in enumerate(levels) for ix, h in enumerate(level))
    if name == "sqlite":
        import sqlite3

        connection = sqlite3.connect(url.split("///", 1)[1])
        connection.execute("PRAGMA synchronous=OFF")
        connection.executemany(
            "INSERT INTO evidence_merkle_node (level, node_index, hash) VALUES (?, ?, ?)", rows
        )
        connection.execute("UPDATE evidence_log_head SET tree_size = ?", (n,))
        connection.commit()
        connection.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", "")) as connection, connection.cursor() as cur:
            with cur.copy("COPY evidence_merkle_node (level, node_index, hash) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("UPDATE evidence_log_head SET tree_size = %s", (n,))
            cur.execute("ANALYZE evidence_merkle_node")
    return sample, time.perf_counter() - start


async def bench_engine(
    name: str, url: str, size: int, batch: int, budget: float, prefilled: int = 0
) -> list[Row]:
    upgrade_database(url)
    sample: dict[int, bytes] = {}
    if prefilled:
        sample, seconds = prefill(name, url, prefilled)
        speed = f"{prefilled:,} leaves in {seconds:.0f} s"
        rows_: list[Row] = [(name, "bulk load of a synthetic tree", speed)]
    database = Database(url)
    log = EvidenceLog(database, LogIdentity("bench.test/caducee-log", Ed25519PrivateKey.generate()))
    rows: list[Row] = rows_ if prefilled else []
    size += prefilled
    try:
        # 1. One record per transaction, for a few seconds.
        n, start = prefilled, time.perf_counter()
        while time.perf_counter() - start < 5 and n < size:
            async with database.transaction() as session:
                await log.append(session, record(n))
            n += 1
        rate = (n - prefilled) / (time.perf_counter() - start)
        done = f"{rate:,.0f} records/s ({n - prefilled})"
        rows.append((name, "append, 1 record/transaction", done))
        # 2. Batches until the size or the budget.
        first, start = n, time.perf_counter()
        while n < size and time.perf_counter() - start < budget:
            count = min(batch, size - n)
            async with database.transaction() as session:
                await log.append_many(session, [record(i) for i in range(n, n + count)])
            n += count
        rate = (n - first) / (time.perf_counter() - start)
        rows.append((name, f"append_many, {batch}/transaction", f"{rate:,.0f} records/s"))
        rows.append((name, "tree size reached", f"{n:,}"))
        # 3. Proofs at that size: generation (one query each) and verification.
        async with database.sessions() as session:
            root = await run_on_database(session, partial(tree_root, tree_size=n))
        picks = list(sample) if sample else [random.randrange(n) for _ in range(500)]
        proofs, start = [], time.perf_counter()
        for i in picks:
            async with database.sessions() as session:
                leaf = sample[i] if sample else (await log.record(i)).leaf_hash()
                proofs.append(
                    (
                        leaf,
                        await run_on_database(
                            session, partial(inclusion_proof, index=i, tree_size=n)
                        ),
                    )
                )
        gen = (time.perf_counter() - start) / len(picks)
        start = time.perf_counter()
        for i, (leaf_h, proof) in zip(picks, proofs, strict=True):
            verify_inclusion(leaf_h, i, n, proof, root)
        ver = (time.perf_counter() - start) / len(picks)
        what = "inclusion proof" if sample else "inclusion proof + record read"
        rows.append((name, what, f"{gen * 1e3:.2f} ms"))
        rows.append((name, "inclusion proof verification", f"{ver * 1e6:.0f} µs"))
        pairs = [tuple(sorted(random.sample(range(1, n + 1), 2))) for _ in range(200)]
        start, total = time.perf_counter(), []
        for m, k in pairs:
            async with database.sessions() as session:
                proof = await run_on_database(
                    session, partial(consistency_proof, first=m, second=k)
                )
                old = await run_on_database(session, partial(tree_root, tree_size=m))
                new = await run_on_database(session, partial(tree_root, tree_size=k))
            total.append((m, k, proof, old, new))
        gen = (time.perf_counter() - start) / len(pairs)
        start = time.perf_counter()
        for m, k, proof, old, new in total:
            verify_consistency(m, k, proof, old, new)
        ver = (time.perf_counter() - start) / len(pairs)
        rows.append((name, "consistency proof + 2 roots", f"{gen * 1e3:.2f} ms"))
        rows.append((name, "consistency proof verification", f"{ver * 1e6:.0f} µs"))
        start = time.perf_counter()
        checkpoint = await log.checkpoint()
        rows.append(
            (
                name,
                "checkpoint (root + sign + store)",
                f"{(time.perf_counter() - start) * 1e3:.1f} ms",
            )
        )
        assert checkpoint.root_hash == root
    finally:
        await database.close()
    return rows


def _pg_database() -> tuple[str, str]:
    import psycopg

    name = f"caducee_bench_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=240.0, help="seconds of filling/engine")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--prefill", type=int, default=0, help="synthetic leaves loaded first")
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    rows: list[Row] = [
        ("-", "bare hashlib (leaf + node)", f"{bare_hashlib(args.size, key):,.0f} leaves/s")
    ]
    start = time.perf_counter()
    data = [sign_record(record(i), key) for i in range(20000)]
    rate = len(data) / (time.perf_counter() - start)
    rows.append(("-", "record build + Ed25519 sign + canonical JSON", f"{rate:,.0f} records/s"))
    assert leaf_hash(data[0].to_leaf_data()) == data[0].leaf_hash()
    for engine in args.engines:
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                rows += asyncio.run(
                    bench_engine(engine, url, args.size, args.batch, args.budget, args.prefill)
                )
        else:
            name, url = _pg_database()
            try:
                rows += asyncio.run(
                    bench_engine(engine, url, args.size, args.batch, args.budget, args.prefill)
                )
            finally:
                _pg_drop(name)
    print("| engine | measure | result |\n|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
