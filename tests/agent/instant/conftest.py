"""A real server (``caducee server run``) on SQLite and on PostgreSQL, and three people's agent
folders enrolled with it, for the workstation's MISS client.

One server per engine for a module (starting it and enrolling the agents is the slow part).
SYNTHETIC TEST MATERIAL: invented people and patients; keys made afresh by the agents.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from caducee.instant.payloads import PatientCard
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, operator_client
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.servers import ServerProcess

ALICE = "dr.alice.bureau@caducee.test"
BOB = "dr.bob.bureau@caducee.test"
CAROL = "dr.carol.bureau@caducee.test"
PATIENT = PatientCard("180057512345678", "Zoé SYNTHÉTIQUE-ESSAI", "1980-05-17", "séjour 42")


@dataclass
class Office:
    """The server and each person's agent folder and key."""

    server: ServerProcess
    configs: dict[str, AgentConfig]
    keys: dict[str, Any]
    database_url: str
    clients: list[ServerClient] = field(default_factory=list)

    def client(self, address: str) -> ServerClient:
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


def _enrol(server: ServerProcess, root: Path, database_url: str) -> Office:
    configs, keys = {}, {}
    with operator_client(server.base, server.data_dir) as admin:
        for number, address in enumerate((ALICE, BOB, CAROL), start=31):
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
def open_office(request: pytest.FixtureRequest, root: Path, engine: str) -> Iterator[Office]:
    """A server on ``engine`` ("sqlite" or "postgresql") and three enrolled agents."""
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
        office = _enrol(server, root, url)
        yield office
    finally:
        if office is not None:
            for client in office.clients:
                client.close()
        server.stop()
        if dropped is not None:
            drop_postgres_database(*dropped)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp(f"miss-desktop-{request.param}")
    with open_office(request, root, request.param) as found:
        yield found
