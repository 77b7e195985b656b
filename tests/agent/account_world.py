"""A real server with an establishment, its manager's agent and an ordinary GP's agent.

Shared by the account pages' tests (one server per module: its set-up takes ~25 s). Every
person and establishment is invented.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.keystore import load_key
from caducee.agent.runtime import initialise
from caducee.directory.identifiers import luhn_complete
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, operator_client
from tests.servers import ServerProcess

__all__ = ["CHARTER", "GP", "MANAGER", "AccountWorld", "account_world", "agent_client"]

GP = "dr.compte@caducee.test"
MANAGER = "direction.compte@caducee.test"
CHARTER = "Charte de bon usage (synthétique)\nPas d'envois en nombre.\n"


@dataclass
class AccountWorld:
    server: ServerProcess
    manager: AgentConfig
    gp: AgentConfig
    finess: str
    manager_rpps: str


def agent_client(config: AgentConfig, *, retries: int = 1) -> ServerClient:
    """The client ``caducee agent run`` gives the pages: logged in with the agent's key."""
    key = load_key(config, PASSPHRASE.encode())
    return ServerClient(
        config.server, Credentials(config.address, config.serial_hex, key), retries=retries
    )


def _join(folder: Path, server: str, code: str, address: str) -> AgentConfig:
    return initialise(
        folder, server=server, code=code, address=address, key="key.pem", secret=PASSPHRASE.encode()
    )


@contextmanager
def account_world(folder: Path, database_url: str) -> Iterator[AccountWorld]:
    """Server; a GP enrolled; an establishment registered with its manager; the charter
    published (not signed); the manager enrolled (managers may enrol before signing)."""
    server = ServerProcess(folder / "server", {"CADUCEE_DATABASE_URL": database_url})
    server.start()
    try:
        finess = luhn_complete("66000001")
        rpps = luhn_complete("6600000001")
        with operator_client(server.base, server.data_dir) as admin:
            gp_code = enrol_mailbox(admin, "gp", GP, 41)
            gp = _join(folder / "gp", server.base, gp_code, GP)
            response = admin.post("/api/v1/console/establishments", json={
                "finess": finess, "name": "Centre de santé synthétique", "type": "general_hospital",
                "city": "Nantes", "region": "Pays de la Loire",
                "manager": {"rpps": rpps, "given_name": "Camille",
                            "family_name": "DIRECTION", "mailbox": MANAGER},
            })  # fmt: skip
            assert response.status_code == 201, response.text
            response = admin.post("/api/v1/console/charter", json={"text": CHARTER})
            assert response.status_code == 201, response.text
            response = admin.post(f"/api/v1/admin/mailboxes/{MANAGER}/enrolment-code")
            assert response.status_code == 201, response.text
            manager = _join(folder / "manager", server.base, response.json()["code"], MANAGER)
        yield AccountWorld(server, manager, gp, finess, rpps)
    finally:
        server.stop()
