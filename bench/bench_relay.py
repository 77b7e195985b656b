"""Relay throughput against Postfix, measured in the same run.

Accepted messages per second through the real HTTP API (uvicorn process, 4 KB S/MIME
ciphertext, one recipient, durable before "accepted", with the evidence records and the
bulk-mail gate the product runs), on SQLite and on PostgreSQL, against Postfix accepting
4 KB messages over SMTP into its fsync'ed queue. Also the server's CPU time per message
(user + system, from /proc), which tells its cost apart from the machine's load.
End-to-end latency is ``bench_e2e_latency.py``.

Run: ``.venv/bin/python bench/bench_relay.py [--messages N]``.
Needs root for Postfix (its configuration is restored afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from cpu_time import CpuReading
from host_speed import host_speed
from postfix_peer import postfix_available, postfix_on_loopback, smtp_source_rate
from server_process import ServerProcess, drop_postgres, fresh_postgres

from caducee.agent.client import ServerClient
from caducee.crypto.cms_envelope import envelope

CONCURRENCY = 64


def _requests(
    host: str, token: str, sender: str, to: str, bodies: list[bytes], raw: bool
) -> list[bytes]:
    """Every HTTP/1.1 request, encoded before the clock starts (as smtp-source does)."""
    requests = []
    for number, der in enumerate(bodies):
        message_id = f"bench-{number}-{secrets.token_hex(4)}"
        if raw:
            head = (
                f"Content-Type: application/pkcs7-mime\r\nCaducee-Message-Id: {message_id}\r\n"
                f"Caducee-From: {sender}\r\nCaducee-To: {to}\r\n"
            )
            payload = der
        else:
            head = "Content-Type: application/json\r\n"
            payload = json.dumps(
                {
                    "message_id": message_id,
                    "from": sender,
                    "to": [to],
                    "ciphertext": base64.b64encode(der).decode(),
                }
            ).encode()
        requests.append(
            (
                f"POST /api/v1/messages HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n{head}Content-Length: {len(payload)}\r\n\r\n"
            ).encode()
            + payload
        )
    return requests


async def _submit_all(base: str, requests: list[bytes]) -> float:
    """Send the requests over ``CONCURRENCY`` keep-alive connections; accepted per second.

    A minimal HTTP/1.1 client (the server's answers are small, with Content-Length): httpx
    spends about 9 ms of CPU per request here, which made the load generator, not the
    relay, the bottleneck on a two-CPU machine.
    """
    host, _, port = base.removeprefix("http://").partition(":")
    pending = list(reversed(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while pending:
                writer.write(pending.pop())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line[15:])
                answer = await reader.readexactly(length)
                if status != 201:
                    raise RuntimeError(f"refused: {status} {answer[:200]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(requests) / (time.perf_counter() - started)


class Row(NamedTuple):
    """One measurement: accepted per second, the server's and PostgreSQL's CPU µs per
    message (None when not measured), and the machine's busy CPUs meanwhile."""

    rate: float
    server_cpu: float | None = None
    postgres_cpu: float | None = None
    busy: float | None = None


def relay_rate(database_url: str | None, messages: int, *, raw: bool = False) -> Row:
    """Accepted messages per second, with where the CPU went meanwhile."""
    with tempfile.TemporaryDirectory(prefix="caducee-bench-") as folder:
        server = ServerProcess(Path(folder), database_url)
        try:
            lab, _ = server.enrol("labo@bench.test", 1)
            gp, gp_cert = server.enrol("gp@bench.test", 2)
            bodies = [envelope(secrets.token_bytes(4000), [gp_cert]) for _ in range(messages)]
            with ServerClient(server.base, lab) as client:
                client.login()
                token = client._bearer()  # the agent's own token, reused by the load client
            requests = _requests(
                f"127.0.0.1:{server.port}", token, lab.address, gp.address, bodies, raw
            )
            before = CpuReading.now(server.process.pid)
            rate = asyncio.run(_submit_all(server.base, requests))
            server_cpu, postgres_cpu, busy = CpuReading.now(server.process.pid).since(
                before, messages
            )
            return Row(rate, server_cpu, postgres_cpu if database_url else None, busy)
        finally:
            server.stop()


POSTFIX = "Postfix (SMTP, 10 sessions)"


def _one_round(messages: int, postgres: str) -> dict[str, Row]:
    """Every row once, Postfix first."""
    rows: dict[str, Row] = {}
    if postfix_available():
        with postfix_on_loopback() as port:
            rows[POSTFIX] = Row(smtp_source_rate(port, messages, 10))
    rows["Caducée relay, SQLite (JSON)"] = relay_rate(None, messages)
    rows["Caducée relay, SQLite (raw DER)"] = relay_rate(None, messages, raw=True)
    for raw in (False, True):
        pg_url = fresh_postgres(postgres)
        if pg_url:
            name = f"Caducée relay, PostgreSQL ({'raw DER' if raw else 'JSON'})"
            try:
                rows[name] = relay_rate(pg_url, messages, raw=raw)
            finally:
                drop_postgres(pg_url, postgres)  # leave no bench database behind
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every row this many times, interleaved; print medians and ranges",
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(host_speed())
    print(f"{CONCURRENCY} connections, {args.messages} messages per row, {args.rounds} round(s)")
    rounds = [_one_round(args.messages, args.postgres) for _ in range(args.rounds)]
    print(f"load average after the rates: {os.getloadavg()}")
    _print_table(rounds)


def _median(values: list[float | None], form: str) -> str:
    known = [v for v in values if v is not None]
    return format(statistics.median(known), form) if known else ""


def _print_table(rounds: list[dict[str, Row]]) -> None:
    """Medians, with each round's ratio to the Postfix of the same round (its range).

    "CPU µs/msg" is the server's, "PG" PostgreSQL's; "busy" counts the machine's busy CPUs
    (out of its count): a server near one busy CPU on a machine far from full is bound by
    its own process (Python's GIL), not by the machine.
    """
    cpus = os.cpu_count() or 1
    header = f"{'accepting 4 KB messages, durable':40} {'msg/s':>8} {'× Postfix':>10}"
    ranges = "  (range over rounds: msg/s; × Postfix)" if len(rounds) > 1 else ""
    print(f"\n{header} {'CPU µs/msg':>11} {'PG µs/msg':>10} {f'busy/{cpus}':>7}{ranges}")
    for name in rounds[0]:
        rates = [r[name].rate for r in rounds]
        ratios = [r[name].rate / r[POSTFIX].rate for r in rounds if POSTFIX in r]
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "n/a"
        server = _median([r[name].server_cpu for r in rounds], ".0f")
        postgres = _median([r[name].postgres_cpu for r in rounds], ".0f")
        busy = _median([r[name].busy for r in rounds], ".2f")
        spread = ""
        if len(rounds) > 1:
            spread = f"  ({min(rates):.0f}-{max(rates):.0f}"
            spread += f"; {min(ratios):.2f}-{max(ratios):.2f})" if ratios else ")"
        print(
            f"{name:40} {statistics.median(rates):8.0f} {ratio:>10} {server:>11} {postgres:>10}"
            f" {busy:>7}{spread}"
        )


if __name__ == "__main__":
    main()
