"""Fixtures of the agent's tests that need a real server: a lab and a GP enrolled with it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caducee.agent.config import AgentConfig
from caducee.agent.keystore import load_key
from caducee.agent.runtime import AgentRuntime, initialise
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, operator_client
from tests.servers import ServerProcess

__all__ = ["GP", "LAB", "World", "drop", "open_runtime", "world"]

LAB = "labo.fictif@caducee.test"
GP = "dr.testeur@caducee.test"
World = tuple[ServerProcess, Path, Path, str]  # server, lab folder, GP folder, database URL


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """A server process, and a lab's and a GP's agent folders enrolled with it."""
    server = ServerProcess(tmp_path / "server", {"CADUCEE_DATABASE_URL": database_url})
    server.start()
    try:
        with operator_client(server.base, server.data_dir) as admin:
            codes = {
                LAB: enrol_mailbox(admin, "lab", LAB, 1),
                GP: enrol_mailbox(admin, "gp", GP, 2),
            }
        folders = []
        for address, name in ((LAB, "lab"), (GP, "gp")):
            config = initialise(
                tmp_path / name,
                server=server.base,
                code=codes[address],
                address=address,
                key="key.pem",
                secret=PASSPHRASE.encode(),
            )
            config.with_changes(settle_seconds=0.0).save()
            folders.append(config.directory)
        yield server, folders[0], folders[1], database_url
    finally:
        server.stop()


def open_runtime(folder: Path) -> AgentRuntime:
    config = AgentConfig.load(folder)
    return AgentRuntime.open(config, load_key(config, PASSPHRASE.encode()))


def drop(outbox: Path, name: str, data: bytes) -> None:
    """A file as the practice software leaves it (complete, old enough to be stable)."""
    path = outbox / name
    path.write_bytes(data)
    past = time.time() - 10
    os.utime(path, (past, past))
