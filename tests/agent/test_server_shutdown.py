"""A server asked to stop (Ctrl-C, SIGTERM) stops within seconds even while agents hold their
push streams open: uvicorn would otherwise wait for those endless connections, and the demo
or a service manager would end it with SIGKILL, without its clean shutdown."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import httpx

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.keystore import load_key
from caducee.commands.server import GRACEFUL_SHUTDOWN_SECONDS
from tests.agent.conftest import World
from tests.agent.helpers import PASSPHRASE


def test_the_server_stops_promptly_while_an_agent_listens_for_mail(world: World) -> None:
    server, _, gp_folder, _ = world
    config = AgentConfig.load(gp_folder)
    credentials = Credentials(
        config.address, config.serial_hex, load_key(config, PASSPHRASE.encode())
    )
    with ServerClient(server.base, credentials) as client:
        client.login()
        token = client._bearer()
    listening = threading.Event()

    def listen() -> None:  # the agent's push stream: open until the server closes it
        try:
            with httpx.stream(
                "GET",
                f"{server.base}/api/v1/mailbox/events",
                params={"cursor": 0},
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(5, read=None),
            ) as answer:
                listening.set()
                for _ in answer.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass

    threading.Thread(target=listen, daemon=True).start()
    assert listening.wait(30)
    assert server.process is not None
    started = time.monotonic()
    server.process.terminate()
    try:
        server.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 12)
    except subprocess.TimeoutExpired:
        raise AssertionError("the server still runs: it waits for the agent's stream") from None
    assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS + 7
    # uvicorn re-raises the signal it caught once it is done, so SIGTERM is the exit status;
    # what matters is that the application's own shutdown ran (background work finished).
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (server.data_dir / "server.log").read_text()
