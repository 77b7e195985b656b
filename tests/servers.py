"""Run the real server as a subprocess (uvicorn), as a deployment would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.conftest import free_port


def caducee(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``caducee`` command line; fail loudly with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "caducee.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


class ServerProcess:
    """``caducee server run`` on a fixed port, which a test may kill -9 and start again."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {}), "CADUCEE_PUBLIC_URL": self.base}
        self.process: subprocess.Popen[bytes] | None = None
        caducee("server", "init", "--data-dir", str(data_dir), env=self.env)

    def start(self) -> None:
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "caducee.cli",
                "server",
                "run",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + 120  # a loaded CI machine
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the server did not start:\n" + (self.data_dir / "server.log").read_text()
                )
            time.sleep(0.1)

    def kill_hard(self) -> None:
        """kill -9: no clean shutdown, as in a power cut of the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def running_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``caducee server init`` then ``caducee server run``; yields the base URL."""
    server = ServerProcess(data_dir, env)
    server.start()
    try:
        yield server.base
    finally:
        server.stop()


@contextmanager
def serve_pages(app: Any, probe: str = "/inbox", *, wait: float = 20.0) -> Iterator[str]:
    """An ASGI app (the agent's pages) on a free loopback port in a thread, as
    ``caducee agent run`` serves them; yields its base URL once ``probe`` answers."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while True:
        try:
            httpx.get(base + probe, timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.should_exit = True
                raise
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
