"""The load side of ``bench_instant.py``, shared by the Caducée and Synapse runs.

Lean clients, so that the load generator costs as little CPU as possible on a machine whose
cores the servers share: a WebSocket client written on ``asyncio.Protocol`` (handshake,
unmasked server frames, pongs), a keep-alive HTTP/1.1 client on asyncio streams (httpx
costs milliseconds of CPU per request here), and receiver processes that each hold a share
of the connected clients and note the arrival time of every message they see, keyed by the
server's id for it (a Caducée sequence number, a Matrix event id).

Times are ``time.perf_counter()`` (CLOCK_MONOTONIC on Linux), comparable between processes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import struct
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

__all__ = [
    "HttpClient",
    "PhaseResult",
    "ReceiverPool",
    "cpu_seconds",
    "devices_per_person",
    "percentile",
]

CONNECT_CONCURRENCY = 50  # at most this many handshakes at once (listen backlogs are small)


def devices_per_person(members: int, clients: int, idle: bool) -> list[int]:
    """How many connected devices each person has; the first ``members`` share the case.

    Not ``idle``: the ``clients`` are all devices of the members (20 each for 1,000 and 50).
    ``idle``: one device per member, and ``clients - members`` devices of as many other
    people, each of whom is alone in a case of their own (connected, receiving nothing).
    """

    def spread(total: int, people: int) -> list[int]:
        return [total // people + (1 if n < total % people else 0) for n in range(people)]

    if not idle:
        return spread(clients, members)
    return [1] * members + spread(max(0, clients - members), members)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (proc(5): fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; a lost delivery is ``inf`` and sorts last."""
    if not values:
        return math.inf
    ordered = sorted(values)
    rank = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[rank]


# -- HTTP/1.1 ------------------------------------------------------------------------------


class HttpClient:
    """One keep-alive HTTP/1.1 connection: a request at a time, small JSON bodies."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        token: str | None = None,
        *,
        encoded: bytes | None = None,
    ) -> tuple[int, bytes]:
        """(status, body); ``encoded`` is a whole request built beforehand (no work here)."""
        request = encoded or encode_request(self.host, method, path, body, token)
        reused = self.writer is not None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not reused or exc.partial:
                raise
            # The server closed this idle keep-alive connection before reading the request
            # (uvicorn does after 5 s): nothing was answered, so send it again, once, as
            # HTTP clients do.
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, data

    async def json(
        self, method: str, path: str, payload: Any = None, token: str | None = None
    ) -> Any:
        """The decoded JSON answer of a 2xx; anything else raises with the server's words."""
        body = None if payload is None else json.dumps(payload).encode()
        status, data = await self.request(method, path, body, token)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def encode_request(
    host: str, method: str, path: str, body: bytes | None, token: str | None
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


# -- receivers -----------------------------------------------------------------------------


@dataclass
class Receiver:
    """What one connected client saw: arrival time per message key."""

    seen: dict[str, float] = field(default_factory=dict)
    closed: str | None = None


class HubSocket(asyncio.Protocol):
    """A Caducée hub client: hello, then the arrival time of each ``message`` frame."""

    def __init__(self, receiver: Receiver, request: bytes, hello: bytes) -> None:
        self.receiver = receiver
        self.request, self.hello = request, hello
        self.buffer = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.receiver.closed = self.receiver.closed or f"lost: {exc}"
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(self.receiver.closed))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail(self.buffer[:200].decode(errors="replace"))
                return
            self.upgraded = True
            self.buffer = self.buffer[end + 4 :]
            self._send(0x1, self.hello)
        buffer, seen = self.buffer, self.receiver.seen
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + length:
                break
            payload, buffer = buffer[start : start + length], buffer[start + length :]
            if opcode == 0x1:
                frame = json.loads(payload)
                kind = frame.get("type")
                if kind == "message":
                    seen.setdefault(str(frame["sequence"]), now)
                elif kind == "ready" and not self.ready.done():
                    self.ready.set_result(None)
                elif kind == "error":
                    self.receiver.closed = f"error frame: {payload[:200]!r}"
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self._fail(f"closed by the server: {code}")
        self.buffer = buffer

    def _send(self, opcode: int, payload: bytes) -> None:
        """A masked client frame (RFC 6455 §5.3); small payloads only."""
        mask = secrets.token_bytes(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        assert self.transport is not None
        self.transport.write(header + mask + masked)

    def _fail(self, why: str) -> None:
        self.receiver.closed = why
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()


async def hub_client(spec: dict[str, Any], receiver: Receiver) -> asyncio.Transport:
    """Connect one hub client and wait for its ``ready`` frame."""
    host, port = spec["host"], spec["port"]
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    request = (
        f"GET {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {spec['token']}\r\n\r\n"
    ).encode()
    hello = json.dumps({"type": "hello", "device": spec["device"], "cursors": {}}).encode()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        lambda: HubSocket(receiver, request, hello), host, port
    )
    await asyncio.wait_for(protocol.ready, 60)
    return transport


SYNC_FILTER = json.dumps(
    {
        "room": {"timeline": {"limit": 1000}, "state": {"lazy_load_members": True}},
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
    separators=(",", ":"),
)


async def sync_client(spec: dict[str, Any], receiver: Receiver) -> asyncio.Task[None]:
    """A Matrix client: one initial ``/sync``, then long polls noting each event's arrival."""
    client = HttpClient(spec["host"], spec["port"])
    query = "filter=" + urllib.parse.quote(SYNC_FILTER)
    answer = await client.json("GET", f"/_matrix/client/v3/sync?{query}", token=spec["token"])
    since = answer["next_batch"]

    async def poll() -> None:
        nonlocal since
        try:
            while True:
                path = f"/_matrix/client/v3/sync?{query}&timeout=30000&since={since}"
                status, data = await client.request("GET", path, None, spec["token"])
                now = time.perf_counter()
                if status != 200:
                    receiver.closed = f"sync {status}: {data[:200]!r}"
                    return
                answer = json.loads(data)
                since = answer["next_batch"]
                for room in answer.get("rooms", {}).get("join", {}).values():
                    for event in room.get("timeline", {}).get("events", ()):
                        receiver.seen.setdefault(event["event_id"], now)
        except (OSError, asyncio.IncompleteReadError) as exc:
            receiver.closed = f"lost: {exc!r}"
        finally:
            await client.close()

    return asyncio.get_running_loop().create_task(poll())


CLIENTS: dict[str, Callable[[dict[str, Any], Receiver], Awaitable[Any]]] = {
    "hub": hub_client,
    "sync": sync_client,
}


async def _receiver_main(specs: list[dict[str, Any]], pipe: Connection) -> None:
    receivers = [Receiver() for _ in specs]
    handles: list[Any] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def start(spec: dict[str, Any], receiver: Receiver) -> None:
        async with gate:
            handles.append(await CLIENTS[spec["kind"]](spec, receiver))

    try:
        await asyncio.gather(*(start(s, r) for s, r in zip(specs, receivers, strict=True)))
    except Exception as exc:
        pipe.send(("failed", repr(exc)))
        return
    pipe.send(("connected", time.process_time()))
    watched = [r for r, s in zip(receivers, specs, strict=True) if s.get("in_case", True)]
    loop = asyncio.get_running_loop()
    while True:
        command, keys, timeout = await loop.run_in_executor(None, pipe.recv)
        if command == "stop":
            break
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(k in r.seen for r in watched for k in keys):
                break
            await asyncio.sleep(0.1)
        times = {k: [r.seen.get(k) for r in watched] for k in keys}
        closed = [r.closed for r in receivers if r.closed]
        pipe.send(("collected", times, closed, time.process_time()))
    for handle in handles:
        if isinstance(handle, asyncio.Task):
            handle.cancel()
        else:
            handle.close()


def _receiver_process(specs: list[dict[str, Any]], pipe: Connection) -> None:
    try:
        import uvloop

        uvloop.run(_receiver_main(specs, pipe))
    except ImportError:
        asyncio.run(_receiver_main(specs, pipe))


@dataclass
class PhaseResult:
    """Every delivery of one phase: its latency in seconds (``inf`` when it never came)."""

    latencies: list[float]
    lost: int
    closed: list[str]
    client_cpu: float  # CPU seconds of the receiver processes during the phase
    last_arrival: float  # perf_counter of the last delivery that came
    lost_keys: list[str]  # the messages some client never saw (first 20)


class ReceiverPool:
    """``processes`` OS processes holding the connected clients between them."""

    def __init__(self, specs: list[dict[str, Any]], processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for share in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_receiver_process, args=(specs[share::processes], theirs), daemon=True
            )
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)
        self.cpu: list[float] = []  # each receiver process's CPU seconds so far
        for pipe in self.pipes:
            answer = pipe.recv()
            if answer[0] != "connected":
                self.stop()
                raise RuntimeError(f"the clients did not connect: {answer[1]}")
            self.cpu.append(answer[1])

    def collect(self, posted: dict[str, float], timeout: float) -> PhaseResult:
        """Wait up to ``timeout`` s for every client to see every posted key; the latencies."""
        keys = list(posted)
        for pipe in self.pipes:
            pipe.send(("collect", keys, timeout))
        latencies: list[float] = []
        closed: list[str] = []
        client_cpu, last = 0.0, 0.0
        lost_keys: set[str] = set()
        for number, pipe in enumerate(self.pipes):
            _, times, shut, cpu = pipe.recv()
            closed.extend(shut)
            client_cpu += cpu - self.cpu[number]  # since the previous phase ended
            self.cpu[number] = cpu
            for key, arrivals in times.items():
                for arrival in arrivals:
                    if arrival is None:
                        latencies.append(math.inf)
                        lost_keys.add(key)
                    else:
                        latencies.append(arrival - posted[key])
                        last = max(last, arrival)
        lost = sum(1 for v in latencies if v == math.inf)
        return PhaseResult(latencies, lost, closed, client_cpu, last, sorted(lost_keys)[:20])

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop", [], 0))
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()


# -- posting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One message, its request encoded before the clock starts, from sender ``sender``."""

    sender: int
    request: bytes


KeyOf = Callable[[int, bytes], str]


async def post_steady(
    host: str, port: int, posts: Sequence[Post], rate: float, key_of: KeyOf
) -> tuple[dict[str, float], float]:
    """Open loop: post ``i`` is written at ``start + i / rate`` (a new connection when its
    sender's are all busy). Returns {key: time written} and the wall time taken."""
    pools: dict[int, list[HttpClient]] = {}
    posted: dict[str, float] = {}
    start = time.perf_counter() + 0.05

    async def one(index: int, post: Post) -> None:
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        pool = pools.setdefault(post.sender, [])
        client = pool.pop() if pool else HttpClient(host, port)
        written = time.perf_counter()
        status, data = await client.request("", "", encoded=post.request)
        if not 200 <= status < 300:
            raise RuntimeError(f"post refused: {status} {data[:300]!r}")
        posted[key_of(status, data)] = written
        pool.append(client)

    await asyncio.gather(*(one(i, p) for i, p in enumerate(posts)))
    took = time.perf_counter() - start
    for pool in pools.values():
        for client in pool:
            await client.close()
    return posted, took


async def post_burst(
    host: str, port: int, posts: Sequence[Post], per_sender: int, key_of: KeyOf
) -> tuple[dict[str, float], float]:
    """Closed loop, as fast as the server answers: ``per_sender`` connections per sender.
    Returns {key: time written} and the time from the first write to the last answer."""
    queues: dict[int, list[Post]] = {}
    for post in reversed(posts):
        queues.setdefault(post.sender, []).append(post)
    posted: dict[str, float] = {}

    async def worker(queue: list[Post]) -> None:
        client = HttpClient(host, port)
        try:
            while queue:
                post = queue.pop()
                written = time.perf_counter()
                status, data = await client.request("", "", encoded=post.request)
                if not 200 <= status < 300:
                    raise RuntimeError(f"post refused: {status} {data[:300]!r}")
                posted[key_of(status, data)] = written
        finally:
            await client.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(q) for q in queues.values() for _ in range(per_sender)))
    return posted, time.perf_counter() - start


def split(items: Iterable[Post], first: int) -> tuple[list[Post], list[Post]]:
    everything = list(items)
    return everything[:first], everything[first:]
