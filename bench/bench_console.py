"""The console's costs, measured in one run against peers of the same run.

1. The counters' cost on relay throughput: accepted messages per second through the real
   HTTP API (a uvicorn process, 4 KB S/MIME, one recipient, durable), with the console's
   commit hook (daily rollups and activity bitmaps) on and off, alternated, on SQLite
   (and PostgreSQL when it answers). The submission gate and the contacts hook stay on in
   both, so the ratio is the counters' alone.
2. The dashboard over a synthetic year (``caducee console generate``: 70,000 users, about
   25 million message events folded into rollups): response time of the figures (JSON) and
   of the dashboard page, p50/p95, against the target (100 ms) and against ``/healthz`` of
   the same server (the floor of any request).

Run: ``.venv/bin/python bench/bench_console.py [--messages N] [--users N] [--skip-relay]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from bench_relay import _requests, _submit_all
from server_process import ServerProcess, fresh_postgres

from caducee.agent.client import ServerClient
from caducee.crypto.cms_envelope import envelope

TARGET_MS = 100.0


def serve(data_dir: Path, port: int, counters: bool) -> None:
    """The server as ``caducee server run`` runs it, the counters hook removed when off."""
    import uvicorn

    from caducee.config import load_settings
    from caducee.server import create_app
    from caducee.server.fast_submit import SubmissionFastPath
    from caducee.stats.rollup import RollupCounter

    settings = load_settings(data_dir=data_dir, port=port, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> Any:
        async with inner(application):
            if not counters:
                hooks = application.state.caducee.extras["relay_commit_hooks"]
                for hook in [h for h in hooks if isinstance(h, RollupCounter)]:
                    hooks.remove(hook)
            yield

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        SubmissionFastPath(app),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="auto",
        loop="auto",
    )
    import uvloop

    uvloop.run(uvicorn.Server(config).serve())


def console_server(data_dir: Path, database_url: str | None, counters: bool) -> ServerProcess:
    """A server started through :func:`serve` (counters on or off)."""
    command = [sys.executable, __file__, "--serve", "on" if counters else "off"]
    return ServerProcess(data_dir, database_url, command=command)


def relay_rate(database_url: str | None, messages: int, counters: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="caducee-bench-console-") as folder:
        server = console_server(Path(folder), database_url, counters)
        try:
            lab, _ = server.enrol("labo@bench.test", 1)
            gp, gp_cert = server.enrol("gp@bench.test", 2)
            bodies = [envelope(secrets.token_bytes(4000), [gp_cert]) for _ in range(messages)]
            with ServerClient(server.base, lab) as client:
                client.login()
                token = client._bearer()
            requests = _requests(
                f"127.0.0.1:{server.port}", token, lab.address, gp.address, bodies, True
            )
            return asyncio.run(_submit_all(server.base, requests))
        finally:
            server.stop()


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def dashboard_times(users: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="caducee-bench-year-") as folder:
        data = Path(folder)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "caducee.cli", "console", "generate", "--data-dir",
             str(data), "--users", str(users)],
            capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        generated = time.perf_counter() - started
        summary = [line for line in result.stdout.splitlines() if "messages" in line]
        print(f"synthetic year: {' '.join(summary)} (command: {generated:.0f} s)")
        server = console_server(data, None, True)
        try:
            from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token

            ensure_operator_token(data)
            token = (data / OPERATOR_TOKEN_FILE).read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.base, timeout=30) as client:
                login = client.post("/console/login", data={"token": token})
                assert login.status_code == 303, login.text
                rows: list[tuple[str, list[float]]] = []
                for name, path, extra in (
                    ("/healthz (floor)", "/healthz", {}),
                    ("figures JSON", "/api/v1/console/figures", headers),
                    ("dashboard page", "/console", {}),
                ):
                    client.get(path, headers=extra).raise_for_status()  # warm
                    samples = []
                    for _ in range(rounds):
                        t = time.perf_counter()
                        answer = client.get(path, headers=extra)
                        samples.append((time.perf_counter() - t) * 1000)
                        assert answer.status_code == 200, (path, answer.status_code)
                    rows.append((name, samples))
                figures = client.get("/api/v1/console/figures", headers=headers).json()
        finally:
            server.stop()
    h = figures["headline"]
    print(
        f"headline: {h['active_users']:,} active users ({h['active_users_growth']:+.1f} % year "
        f"on year), {h['daily_users_share']:.1f} % daily, {h['messages_12_months']:,} messages "
        f"in 12 months, {h['labs_share']:.1f} % of labs"
    )
    floor = statistics.median(rows[0][1])
    print(f"\n{'request (' + str(rounds) + ' rounds)':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
          f" {'p95/target':>11} {'p50/floor':>10}")  # fmt: skip
    for name, samples in rows:
        p50, p95, worst = _percentiles(samples)
        print(f"{name:28} {p50:8.1f} {p95:8.1f} {worst:8.1f} {p95 / TARGET_MS:11.2f} "
              f"{p50 / floor:10.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--users", type=int, default=70_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--skip-relay", action="store_true")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--serve", choices=("on", "off"))
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.data_dir, args.port, args.serve == "on")
        return
    print(f"load average at start: {os.getloadavg()}")
    if not args.skip_relay:
        print(f"{args.messages} messages per row, raw DER, 64 connections, alternated off/on")
        results: list[tuple[str, float, float]] = []
        engines: list[tuple[str, str | None]] = [("SQLite", None)]
        if fresh_postgres(args.postgres) is not None:
            engines.append(("PostgreSQL", "fresh"))
        for engine, url in engines:
            rates: dict[bool, list[float]] = {False: [], True: []}
            for counters in (False, True, False, True):
                database = fresh_postgres(args.postgres) if url else None
                rates[counters].append(relay_rate(database, args.messages, counters))
            results.append((engine, max(rates[False]), max(rates[True])))
        print(f"\n{'relay, accepted msg/s':24} {'off':>8} {'on':>8} {'on/off':>8}")
        for engine, off, on in results:
            print(f"{engine:24} {off:8.0f} {on:8.0f} {on / off:8.2f}")
    if not args.skip_dashboard:
        dashboard_times(args.users, args.rounds)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
