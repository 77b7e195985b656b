"""A real server on loopback (uvicorn in the test's event loop, or a second OS process) and
a WebSocket client for the hub tests."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from caducee.config import load_settings
from caducee.directory.credentials import digest
from caducee.server import WEBSOCKET_PROTOCOL, create_app
from caducee.server.state import ServerState
from tests.conftest import free_port
from tests.server.conftest import OPERATOR_TOKEN, FakeClock, World

WS_PATH = "/api/v1/instant/ws"


@asynccontextmanager
async def serve(database_url: str, data_dir: Path) -> AsyncIterator[tuple[World, str]]:
    """A server in this event loop; yields a World on it and its hub's ws:// URL."""
    app = create_app(load_settings(data_dir=data_dir, database_url=database_url))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws=WEBSOCKET_PROTOCOL
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "the test server did not start"
    state: ServerState = app.state.caducee
    clock = FakeClock()
    state.extras["clock"] = clock
    state.extras["operator_token_sha256"] = digest(OPERATOR_TOKEN)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            yield World(app, c, clock), f"ws://127.0.0.1:{port}{WS_PATH}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


_PROCESS = """
import sys, uvicorn
from caducee.config import load_settings
from caducee.server import WEBSOCKET_PROTOCOL, create_app
app = create_app(load_settings(data_dir=sys.argv[1], database_url=sys.argv[2]), migrate=False)
port = int(sys.argv[3])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws=WEBSOCKET_PROTOCOL)
"""


@asynccontextmanager
async def other_process(database_url: str, data_dir: Path) -> AsyncIterator[str]:
    """A second server process on the same database; yields its hub's ws:// URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _PROCESS, str(data_dir), database_url, str(port)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(trust_env=False) as client:
            while True:
                assert process.poll() is None, "the second server process died"
                try:
                    await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the second server did not start"
                    await asyncio.sleep(0.2)
        yield f"ws://127.0.0.1:{port}{WS_PATH}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def device_socket(
    url: str, token: str | None, device_id: str, cursors: dict[str, int] | None = None
) -> AsyncIterator[ClientConnection]:
    """A connected device that has said hello (the token in the header)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with connect(url, additional_headers=headers, proxy=None) as socket:
        await socket.send(
            json.dumps({"type": "hello", "device": device_id, "cursors": cursors or {}})
        )
        yield socket


async def frame(socket: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    return data


async def until_ready(socket: ClientConnection) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The resumed message frames, then the ready frame."""
    resumed = []
    while (f := await frame(socket))["type"] != "ready":
        resumed.append(f)
    return resumed, f


async def silent(socket: ClientConnection, seconds: float = 0.3) -> bool:
    """True when nothing arrives for ``seconds``."""
    try:
        await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return True
    return False
