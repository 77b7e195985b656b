"""End-to-end latency: a file dropped in a lab's outbox → the file in a GP's inbox.

Real processes only: ``caducee server run`` (uvicorn, SQLite or PostgreSQL), a lab agent and
a GP agent as ``caducee agent run`` processes. HPRIM results are dropped into the lab's
outbox at a steady rate (default 50 files/s for 60 s, written under a hidden name then
renamed, as practice software does); the GP's inbox is scanned every 20 ms. Printed: p50,
p90, p99 and max latency, the sustained delivery rate, files lost (none expected), and how
much of the latency is the outbox's settle time (a file is only taken once stable for
``settle_seconds``, 2 s by default: the floor of any drop → send).

The peer, measured in the same run: the same agents with one worker (``workers = 1``: one
file at a time, as the agent worked before), against the default pool (``workers = 16``);
the ratio is of sustained files per second. The CPU time each process used per delivered
file (lab agent, GP agent, server) says what the machine, not the design, allowed.

Run: ``.venv/bin/python bench/bench_e2e_latency.py [--rate 50] [--seconds 60] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from cpu_time import cpu_seconds
from host_speed import host_speed
from server_process import POSTGRES, drop_postgres, fresh_postgres
from server_process import ServerProcess as Server

from caducee.agent.runtime import initialise
from caducee.commands.demo import DEMO_PASSPHRASE, synthetic_result

LAB, GP = "labo@bench.test", "gp@bench.test"
LABEL = re.compile(r"_(P\d{7})-Fictif_")


@dataclass(frozen=True)
class Row:
    name: str
    files: int
    arrived: int
    p50: float
    p90: float
    p99: float
    worst: float
    rate: float  # delivered per second, first drop → last arrival
    errors: int
    settle: float
    cpu_ms: tuple[float, float, float]  # CPU per delivered file: lab agent, GP agent, server


def _agent(server: Server, folder: Path, address: str, number: int, **settings: object) -> Path:
    initialise(
        folder,
        server=server.base,
        code=server.enrolment_code(address, number),
        address=address,
        key="key.pem",
        secret=DEMO_PASSPHRASE.encode(),
    )
    path = folder / "agent.json"
    data = json.loads(path.read_text())
    data.update(settings)
    path.write_text(json.dumps(data))
    return folder


def _start_agent(server: Server, folder: Path) -> subprocess.Popen[bytes]:
    log = (folder / "agent.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "caducee.cli", "agent", "run", "--dir", str(folder), "--no-web"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=server.env,
    )
    log.close()
    return process


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


def measure(
    name: str, database_url: str | None, *, rate: float, seconds: float, workers: int, settle: float
) -> Row:
    """One run: a fresh server and two fresh agents; files dropped at ``rate`` per second."""
    keep = os.environ.get("CADUCEE_BENCH_KEEP")  # a folder to keep the logs in
    with tempfile.TemporaryDirectory(prefix="caducee-e2e-", dir=keep) as folder:
        root = Path(folder)
        if keep:
            root = Path(tempfile.mkdtemp(prefix="caducee-e2e-", dir=keep))
            print(f"{name}: files and logs kept in {root}", flush=True)
        (root / "server").mkdir()
        server = Server(root / "server", database_url)
        agents: list[subprocess.Popen[bytes]] = []
        try:
            options = {"workers": workers, "settle_seconds": settle}
            lab = _agent(server, root / "lab", LAB, 1, **options)
            gp = _agent(server, root / "gp", GP, 2, **options)
            agents = [_start_agent(server, lab), _start_agent(server, gp)]
            time.sleep(3)  # log in, start waiting
            total = int(rate * seconds)
            contents = [
                synthetic_result(GP, (f"P{n:07d}", "Fictif"), datetime.now()) for n in range(total)
            ]
            dropped: dict[str, float] = {}
            arrived: dict[str, float] = {}
            inbox, outbox = gp / "inbox", lab / "outbox"

            def scan() -> None:
                now = time.monotonic()
                with os.scandir(inbox) as entries:
                    for entry in entries:
                        found = LABEL.search(entry.name)
                        if found and found.group(1) not in arrived:
                            arrived[found.group(1)] = now

            before = [cpu_seconds(p.pid) for p in (*agents, server.process)]
            start = time.monotonic()
            next_scan = start
            for number, data in enumerate(contents):
                due = start + number / rate
                while (now := time.monotonic()) < due:
                    if now >= next_scan:
                        scan()
                        next_scan = now + 0.02
                    time.sleep(min(0.005, max(0.0, due - now)))
                label = f"P{number:07d}"
                temporary = outbox / f".{label}.hpr.tmp"
                temporary.write_bytes(data)
                temporary.rename(outbox / f"{label}.hpr")
                dropped[label] = time.monotonic()
            deadline = time.monotonic() + max(60.0, seconds)
            while len(arrived) < total and time.monotonic() < deadline:
                scan()
                time.sleep(0.02)
            used = [
                cpu_seconds(p.pid) - b
                for p, b in zip((*agents, server.process), before, strict=True)
            ]
            # a file that never arrived counts as infinitely late (percentiles stay honest)
            delays = sorted(arrived.get(k, float("inf")) - dropped[k] for k in dropped)
            count = sum(1 for d in delays if d != float("inf"))
            span = max(arrived.values()) - start if arrived else float("nan")
            errors = sum(1 for p in (lab / "errors").iterdir() if not p.name.startswith("."))
            errors += sum(1 for p in (gp / "quarantine").iterdir() if not p.name.startswith("."))
            per_file = tuple(1000 * u / max(1, count) for u in used)
            return Row(
                name,
                total,
                count,
                statistics.median(delays) if delays else float("nan"),
                _percentile(delays, 0.90),
                _percentile(delays, 0.99),
                delays[-1] if delays else float("nan"),
                count / span if count else 0.0,
                errors,
                settle,
                (per_file[0], per_file[1], per_file[2]),
            )
        finally:
            for agent in agents:
                agent.send_signal(signal.SIGINT)
            for agent in agents:
                try:
                    agent.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    agent.kill()
            server.stop()


def _s(seconds: float) -> str:
    return f"{seconds:6.2f}" if seconds != float("inf") else f"{'inf':>6}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="files per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long files are dropped")
    parser.add_argument("--workers", type=int, default=16, help="the agents' worker pool")
    parser.add_argument("--settle", type=float, default=2.0, help="outbox settle time (s)")
    parser.add_argument("--quick", action="store_true", help="SQLite only, no peer row")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print(host_speed(), flush=True)
    common = {"rate": args.rate, "seconds": args.seconds, "settle": args.settle}
    rows: list[Row] = []
    if not args.quick:
        rows.append(measure("SQLite, 1 worker (peer)", None, workers=1, **common))
    rows.append(measure(f"SQLite, {args.workers} workers", None, workers=args.workers, **common))
    if not args.quick:
        created = fresh_postgres(POSTGRES, prefix="caducee_e2e")
        if created is not None:
            try:
                name = f"PostgreSQL, {args.workers} workers"
                rows.append(measure(name, created, workers=args.workers, **common))
            finally:
                drop_postgres(created)
    print(f"load average at the end: {os.getloadavg()}")
    print(
        f"\noutbox drop → inbox file, {args.rate:.0f} files/s for {args.seconds:.0f} s, "
        f"settle {args.settle:.1f} s (latency in seconds)"
    )
    head = (
        f"{'run':28} {'files':>6} {'arrived':>7} {'p50':>6} {'p90':>6} {'p99':>6} "
        f"{'max':>6} {'files/s':>8} {'× peer':>7} {'errors':>6}  CPU ms/file lab, GP, server"
    )
    print(head)
    peer = rows[0].rate if not args.quick else float("nan")
    for row in rows:
        lab, gp, server = row.cpu_ms
        print(
            f"{row.name:28} {row.files:6d} {row.arrived:7d} {_s(row.p50)} {_s(row.p90)} "
            f"{_s(row.p99)} {_s(row.worst)} {row.rate:8.1f} {row.rate / peer:7.2f} "
            f"{row.errors:6d}  {lab:5.1f} {gp:5.1f} {server:5.1f}"
        )
    print("(inf: some files had not arrived when the run ended; × peer: sustained files/s)")
    return 0 if all(r.arrived == r.files and not r.errors for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
