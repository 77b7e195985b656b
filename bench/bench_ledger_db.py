"""Benchmark of the database evidence log: appends/s, proof generation and verification.

    .venv/bin/python bench/bench_ledger_db.py [--size 1000000] [--engines sqlite postgresql]
        [--batch 1000] [--budget 240]

Per engine: one record per transaction (the relay's case: a commit, fsync'd, per event),
then batches of ``--batch`` until ``--size`` records or ``--budget`` seconds (the run stops
by itself and says what size it reached); then inclusion and consistency proofs at that
size, each one database round trip, verified with the pure verifier. The limit is a bare
hashlib loop over the same canonical records in the same run (leaf hash + one node).
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


async def bench_engine(name: str, url: str, size: int, batch: int, budget: float) -> list[Row]:
    upgrade_database(url)
    database = Database(url)
    log = EvidenceLog(database, LogIdentity("bench.test/caducee-log", Ed25519PrivateKey.generate()))
    rows: list[Row] = []
    try:
        # 1. One record per transaction, for a few seconds.
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < 5 and n < size:
            async with database.transaction() as session:
                await log.append(session, record(n))
            n += 1
        rate = n / (time.perf_counter() - start)
        rows.append((name, "append, 1 record/transaction", f"{rate:,.0f} records/s ({n})"))
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
        picks = [random.randrange(n) for _ in range(500)]
        proofs, start = [], time.perf_counter()
        for i in picks:
            async with database.sessions() as session:
                leaf = await log.record(i)
                proofs.append(
                    (
                        leaf.leaf_hash(),
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
        rows.append((name, "inclusion proof + record read", f"{gen * 1e3:.2f} ms"))
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
                rows += asyncio.run(bench_engine(engine, url, args.size, args.batch, args.budget))
        else:
            name, url = _pg_database()
            try:
                rows += asyncio.run(bench_engine(engine, url, args.size, args.batch, args.budget))
            finally:
                _pg_drop(name)
    print("| engine | measure | result |\n|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
