"""MISS fan-out against Synapse, measured in the same run (issue #8).

One case (a Matrix room for Synapse) with ``--members`` people (50) and ``--clients``
connected clients (1,000). Two honest readings of "a 50-member case with 1,000 connected
clients", chosen with ``--idle``:

- default: **every client is a device of a member**, 20 per person, so each message goes to
  all 1,000 sockets (the heaviest reading; nobody idle);
- ``--idle``: one device per member in the case (50 deliveries per message) and 950 more
  connected devices of 50 other people, each alone in a case of their own (a room for
  Synapse): connected, receiving nothing.

Caducée: ``caducee server run`` (uvicorn, one process, SQLite; ``--postgres URL`` adds a
PostgreSQL row), devices registered with statements signed by their person's key, hub
WebSockets at ``/api/v1/instant/ws``. Synapse (PyPI, own venv under /tmp): users registered
with the shared secret, one access token per device, one ``/sync`` long poll per device.

A few senders (``--senders``) post ``--messages`` real sender-key ciphertexts (made with
the Python core's ``SenderKeyGroup`` before the clock starts; Synapse gets the same bytes as
``m.room.encrypted`` events) first at a steady ``--rate``, then as fast as the server
answers. Measured, per phase:

- fan-out latency: from writing the post to a client's socket holding the frame (Caducée:
  the hub's ``message`` frame, which carries the id; fetching the ciphertext is a further
  request not counted here. Synapse: the ``/sync`` answer, which carries the event), p50
  and p99 over every (message, client) delivery; a delivery that does not come within
  ``--drain`` seconds is lost and counts as infinitely late;
- messages accepted per second by the one server process (burst phase), and delivered per
  second (until the last client had the last message);
- the server's CPU per message (user + system, /proc), which tells its cost apart from the
  machine's load, and the clients' CPU.

The clients are Python too (``--client-processes``, 2), on the same cores as the server:
1,000 busy sockets cost the client side about 40 % of the server's CPU, so the client CPU
and the load average are printed with the figures. Nothing is pinned to a core. Key
distributions are not posted (each sender's chain is made with no other member): they are
set-up, not fan-out. A whole run takes about 10 minutes, most of it Synapse's.

Run: ``.venv/bin/python bench/bench_instant.py [--idle] [--quick]``. Results (JSON):
``bench/results/``. Synapse is installed on first use in ``/tmp/caducee-synapse-venv``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from host_speed import host_speed
from instant_caducee import CaduceePeer
from instant_load import (
    PhaseResult,
    Post,
    ReceiverPool,
    cpu_seconds,
    percentile,
    post_burst,
    post_steady,
)
from instant_synapse import SynapsePeer
from server_process import drop_postgres, fresh_postgres

RESULTS = Path(__file__).parent / "results"


class Peer(Protocol):
    name: str
    host: str
    port: int
    pid: int

    def setup(self) -> None: ...
    def receiver_specs(self) -> list[dict[str, Any]]: ...
    def posts(self, ciphertexts: list[tuple[int, bytes]]) -> list[Post]: ...
    def key_of(self, status: int, data: bytes) -> str: ...
    def stop(self) -> None: ...


def _phase(
    name: str,
    peer: Peer,
    pool: ReceiverPool,
    send: Callable[[], tuple[dict[str, float], float]],
    drain: float,
    clients: int,
) -> dict[str, Any]:
    """Post, wait for the deliveries, and sum up one phase."""
    cpu_before = cpu_seconds(peer.pid)
    started = time.perf_counter()
    posted, took = send()
    result: PhaseResult = pool.collect(posted, drain)
    server_cpu = cpu_seconds(peer.pid) - cpu_before
    count = len(posted)
    end = result.last_arrival if result.lost == 0 else math.inf
    row = {
        "phase": name,
        "messages": count,
        "deliveries": len(result.latencies),
        "lost": result.lost,
        "p50_ms": percentile(result.latencies, 0.50) * 1000,
        "p99_ms": percentile(result.latencies, 0.99) * 1000,
        "max_ms": max(result.latencies, default=math.inf) * 1000,
        "accepted_per_s": count / took,
        "delivered_per_s": count / (end - started) if end != math.inf else 0.0,
        "server_cpu_ms_per_msg": server_cpu / count * 1000,
        "client_cpu_ms_per_msg": result.client_cpu / count * 1000,
        "closed_clients": result.closed[:5],
        "lost_messages": result.lost_keys,
        "clients": clients,
    }
    print(
        f"  {peer.name:22} {name:6} {count} messages: p50 {row['p50_ms']:.1f} ms, "
        f"p99 {row['p99_ms']:.1f} ms, lost {result.lost}, accepted {row['accepted_per_s']:.0f}/s,"
        f" server CPU {row['server_cpu_ms_per_msg']:.1f} ms/msg",
        flush=True,
    )
    if result.lost_keys:
        print(f"    never delivered to some client: {', '.join(result.lost_keys)}", flush=True)
    return row


def measure(
    peer: Peer, shared: list[list[tuple[int, bytes]]], args: argparse.Namespace
) -> dict[str, Any]:
    """Set up, connect the clients, then the steady and the burst phase.

    The ciphertexts are made by Caducée's core for its case, before any clock; Synapse
    carries the first Caducée run's bytes (``shared``), opaque to it as to Caducée.
    """
    started = time.perf_counter()
    peer.setup()
    if isinstance(peer, CaduceePeer):
        ciphertexts = peer.ciphertexts(2 * args.messages, args.senders)
        shared.append(ciphertexts)
    else:
        ciphertexts = shared[0]
    specs = peer.receiver_specs()
    posts = peer.posts(ciphertexts)
    steady, burst = posts[: args.messages], posts[args.messages :]
    print(f"  {peer.name}: set up in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    pool = ReceiverPool(specs, args.client_processes)
    print(
        f"  {peer.name}: {len(specs)} clients connected in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    try:
        time.sleep(1)  # let the connection storm settle
        rows = [
            _phase(
                "steady",
                peer,
                pool,
                lambda: asyncio.run(
                    post_steady(peer.host, peer.port, steady, args.rate, peer.key_of)
                ),
                args.drain,
                len(specs),
            ),
            _phase(
                "burst",
                peer,
                pool,
                lambda: asyncio.run(
                    post_burst(peer.host, peer.port, burst, args.per_sender, peer.key_of)
                ),
                args.drain,
                len(specs),
            ),
        ]
    finally:
        pool.stop()
    return {"peer": peer.name, "clients": len(specs), "phases": rows}


def _fmt(value: float, digits: int = 1) -> str:
    return "∞" if value == math.inf else f"{value:,.{digits}f}"


def _ratio(ours: float, theirs: float, *, lower_is_better: bool = False) -> str:
    if lower_is_better:
        ours, theirs = theirs, ours
    if theirs == 0 or ours == math.inf or theirs == math.inf:
        return "∞" if ours == math.inf or theirs == 0 else "0"
    return f"{ours / theirs:.1f}×"


def report(results: list[dict[str, Any]], load: Sequence[tuple[float, ...]]) -> None:
    print(f"\nload average before: {load[0]}  after: {load[1]}  ({os.cpu_count()} CPUs)")
    header = (
        f"{'':22} {'phase':6} {'p50 ms':>8} {'p99 ms':>9} {'lost':>6} {'accepted/s':>10} "
        f"{'delivered/s':>11} {'server CPU ms/msg':>17} {'client CPU ms/msg':>17}"
    )
    print(header)
    for result in results:
        for row in result["phases"]:
            print(
                f"{result['peer']:22} {row['phase']:6} {_fmt(row['p50_ms']):>8} "
                f"{_fmt(row['p99_ms']):>9} {row['lost']:>6} {_fmt(row['accepted_per_s'], 0):>10} "
                f"{_fmt(row['delivered_per_s'], 0):>11} {_fmt(row['server_cpu_ms_per_msg'], 2):>17}"
                f" {_fmt(row['client_cpu_ms_per_msg'], 2):>17}"
            )
    synapse = next((r for r in results if r["peer"].startswith("Synapse")), None)
    if synapse is None:
        return
    for result in results:
        if result is synapse:
            continue
        ours, theirs = result["phases"], synapse["phases"]
        cpu = _ratio(
            ours[1]["server_cpu_ms_per_msg"],
            theirs[1]["server_cpu_ms_per_msg"],
            lower_is_better=True,
        )
        print(
            f"{result['peer']} / Synapse: steady p50 "
            f"{_ratio(ours[0]['p50_ms'], theirs[0]['p50_ms'], lower_is_better=True)} faster, "
            f"p99 {_ratio(ours[0]['p99_ms'], theirs[0]['p99_ms'], lower_is_better=True)} faster;"
            f" burst accepted/s {_ratio(ours[1]['accepted_per_s'], theirs[1]['accepted_per_s'])},"
            f" delivered/s {_ratio(ours[1]['delivered_per_s'], theirs[1]['delivered_per_s'])};"
            f" server CPU per message {cpu} less"
        )
    caducee = results[0]["phases"]
    goal = (
        caducee[0]["p99_ms"] < 50
        and caducee[1]["accepted_per_s"] >= 10 * synapse["phases"][1]["accepted_per_s"]
    )
    print(f"goal (≥ 10× Synapse's messages/s, p99 < 50 ms): {'met' if goal else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="connected clients in all")
    parser.add_argument("--members", type=int, default=50, help="people in the case")
    parser.add_argument("--idle", action="store_true", help="one device per member, the rest idle")
    parser.add_argument("--messages", type=int, default=100, help="messages per phase")
    parser.add_argument("--rate", type=float, default=5.0, help="steady phase, messages/s")
    parser.add_argument("--senders", type=int, default=5, help="people who post")
    parser.add_argument("--per-sender", type=int, default=4, help="burst: connections each")
    parser.add_argument("--drain", type=float, default=60.0, help="s before a delivery is lost")
    parser.add_argument("--client-processes", type=int, default=2, help="receiver processes")
    parser.add_argument("--postgres", help="also Caducée on PostgreSQL (an admin URL)")
    parser.add_argument("--no-synapse", action="store_true", help="Caducée only")
    parser.add_argument(
        "--quick", action="store_true", help="smoke check: 50 clients, 10 members, 50 messages"
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.members, args.messages, args.drain = 50, 10, 50, 20.0
        args.client_processes = 1
    layout = "one device per member, the rest idle" if args.idle else "all in the case"
    print(
        f"{args.members} members, {args.clients} connected clients ({layout}), "
        f"{args.messages} messages per phase, steady {args.rate:g}/s, {args.senders} senders, "
        f"{args.client_processes} client processes",
        flush=True,
    )
    print(host_speed(), flush=True)
    load_before = os.getloadavg()
    results = []
    peers: list[Callable[[], Peer]] = [lambda: CaduceePeer(args.members, args.clients, args.idle)]
    url = None
    if args.postgres:
        url = fresh_postgres(args.postgres)
        if url:
            peers.append(lambda: CaduceePeer(args.members, args.clients, args.idle, url))
    if not args.no_synapse:
        peers.append(lambda: SynapsePeer(args.members, args.clients, args.idle))
    shared: list[list[tuple[int, bytes]]] = []
    for make in peers:
        try:
            peer = make()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"not measured (no ratio without it): {exc}", flush=True)
            continue
        try:
            results.append(measure(peer, shared, args))
        finally:
            peer.stop()
    if args.postgres and url:
        drop_postgres(url, args.postgres)
    load_after = os.getloadavg()
    report(results, (load_before, load_after))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"instant-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "when": stamp,
                "options": vars(args),
                "cpus": os.cpu_count(),
                "load_before": load_before,
                "load_after": load_after,
                "results": results,
            },
            indent=2,
            default=str,
        )
    )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
