"""``caducee agent devices approve|list|revoke`` against a real server process and a real agent
folder (a key file): the browser's request approved with the person's key, then the device
logs in; a consumed or unknown code fails with a clear French/English line; on both engines.

SYNTHETIC TEST MATERIAL: an invented GP enrolled through the admin API; device keys
generated afresh.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from caducee.agent.runtime import initialise
from caducee.instant.pairing import key_fingerprint
from caducee.server.instant_login import LOGIN_CONTEXT
from tests.agent.helpers import PASSPHRASE, agent_cli, enrol_mailbox, operator_client
from tests.instant.test_pairing_support import browser_keys, pairing_body
from tests.servers import ServerProcess

GP = "dr.appairage@caducee.test"
API = "/api/v1/instant"


@pytest.fixture
def enrolled(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Path]]:
    """A server process and a GP's agent folder enrolled with it."""
    server = ServerProcess(tmp_path / "server", {"CADUCEE_DATABASE_URL": database_url})
    server.start()
    try:
        with operator_client(server.base, server.data_dir) as admin:
            code = enrol_mailbox(admin, "gp", GP, 7)
        config = initialise(
            tmp_path / "gp",
            server=server.base,
            code=code,
            address=GP,
            key="key.pem",
            secret=PASSPHRASE.encode(),
        )
        yield server.base, config.directory
    finally:
        server.stop()


def login(http: httpx.Client, keys: object) -> httpx.Response:
    from caducee.instant.device_keys import DeviceKeys

    assert isinstance(keys, DeviceKeys)
    value = http.post(f"{API}/devices/login/challenge", json={"device_id": keys.device_id})
    challenge = value.json()["challenge"]
    signature = keys.sign((LOGIN_CONTEXT + challenge).encode())
    return http.post(
        f"{API}/devices/login",
        json={
            "device_id": keys.device_id,
            "challenge": challenge,
            "signature": base64.b64encode(signature).decode(),
        },
    )


def test_approve_list_and_revoke_from_the_agent(enrolled: tuple[str, Path]) -> None:
    base, folder = enrolled
    keys = browser_keys(GP, "gp-phone")
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
        asked = http.post(f"{API}/pairing", json=pairing_body(keys, "Téléphone du Dr Test"))
        assert asked.status_code == 201, asked.text
        code = asked.json()["code"]
        assert login(http, keys).status_code == 401  # not approved yet

        shown = agent_cli("devices", "approve", code, "--dir", str(folder), "--yes")
        assert "Téléphone du Dr Test" in shown.stdout
        assert key_fingerprint(keys.public().signing_public) in shown.stdout
        assert key_fingerprint(keys.public().hpke_public) in shown.stdout
        assert "approved: gp-phone" in shown.stdout

        logged = login(http, keys)
        assert logged.status_code == 200, logged.text
        assert logged.json()["address"] == GP

        again = agent_cli("devices", "approve", code, "--dir", str(folder), "--yes", check=False)
        assert again.returncode == 2
        assert "instant-pairing-unknown" in again.stderr
        assert "inconnu ou expiré" in again.stderr and "unknown or expired" in again.stderr

        listed = agent_cli("devices", "list", "--dir", str(folder))
        assert listed.stdout.startswith("gp-phone\tactive")
        revoked = agent_cli("devices", "revoke", "gp-phone", "--dir", str(folder))
        assert "revoked" in revoked.stdout
        assert "gp-phone\trevoked" in agent_cli("devices", "list", "--dir", str(folder)).stdout
        assert login(http, keys).status_code == 403


def test_a_refused_confirmation_registers_nothing(enrolled: tuple[str, Path]) -> None:
    base, folder = enrolled
    keys = browser_keys(GP, "gp-tablet")
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
        code = http.post(f"{API}/pairing", json=pairing_body(keys)).json()["code"]
        refused = agent_cli("devices", "approve", code, "--dir", str(folder), check=False)
        assert refused.returncode != 0
        assert "gp-tablet" not in agent_cli("devices", "list", "--dir", str(folder)).stdout
