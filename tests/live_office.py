"""A real server process (``caducee server run``) and people's agent folders enrolled with it:
the set-up every test of MISS clients needs (the desktop client, the web app, endorsements).

Starting the server and enrolling the agents is the slow part, so tests open one office per
module. SYNTHETIC TEST MATERIAL: invented people; keys made afresh by the agents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.instant import InstantClient
from caducee.agent.instant.cipher import RotationLimits
from caducee.agent.keystore import load_key
from caducee.agent.runtime import AgentRuntime, initialise
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, operator_client
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.servers import ServerProcess


@dataclass
class Office:
    """The server and each person's agent folder and key."""

    server: ServerProcess
    configs: dict[str, AgentConfig]
    keys: dict[str, Any]
    database_url: str
    clients: list[ServerClient] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def folders(self) -> dict[str, Path]:
        return {address: config.directory for address, config in self.configs.items()}

    def client(self, address: str) -> ServerClient:
        """A client signed in with ``address``'s certificate key (closed with the office)."""
        config = self.configs[address]
        credentials = Credentials(config.address, config.serial_hex, self.keys[address])
        client = ServerClient(config.server, credentials)
        self.clients.append(client)
        return client

    def instant(self, address: str, limits: RotationLimits | None = None) -> InstantClient:
        """A new client for ``address``, as a freshly started agent process has it."""
        return InstantClient.open(self.configs[address], self.client(address), limits=limits)

    def runtime(self, address: str) -> AgentRuntime:
        return AgentRuntime.open(self.configs[address], self.keys[address])


def _enrol(
    server: ServerProcess, root: Path, database_url: str, people: Sequence[str], first: int
) -> Office:
    configs, keys = {}, {}
    with operator_client(server.base, server.data_dir) as admin:
        for number, address in enumerate(people, start=first):
            code = enrol_mailbox(admin, "gp", address, number)
            config = initialise(
                root / address.split("@")[0],
                server=server.base,
                code=code,
                address=address,
                key="key.pem",
                secret=PASSPHRASE.encode(),
            )
            config.with_changes(settle_seconds=0.0).save()
            configs[address] = AgentConfig.load(config.directory)
            keys[address] = load_key(configs[address], PASSPHRASE.encode())
    return Office(server, configs, keys, database_url)


@contextmanager
def open_office(
    request: pytest.FixtureRequest,
    root: Path,
    people: Sequence[str],
    *,
    first_number: int,
    engine: str = "sqlite",
) -> Iterator[Office]:
    """A server on ``engine`` ("sqlite" or "postgresql") and ``people`` enrolled as GPs
    (their identifiers numbered from ``first_number``, distinct per module)."""
    dropped: tuple[str, str] | None = None
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{root / 'caducee.db'}"
    else:
        admin = request.getfixturevalue("postgres_server")
        name, url = create_postgres_database(admin)
        dropped = (admin, name)
    server = ServerProcess(root / "server", {"CADUCEE_DATABASE_URL": url})
    office = None
    try:
        server.start()
        office = _enrol(server, root, url, people, first_number)
        yield office
    finally:
        if office is not None:
            for client in office.clients:
                client.close()
        server.stop()
        if dropped is not None:
            drop_postgres_database(*dropped)
