"""Endorsements in Chromium: device.js reproduces the Python vectors byte for byte, Python
verifies what the browser endorses, and approve.js lets one browser device approve a second
one, which then logs in, against a real server process.

SYNTHETIC TEST MATERIAL: vectors derived from public labels; a throwaway mailbox enrolled on a
throwaway server; device keys generated in the browser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Page, Route

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.devices import approve, fetch_pairing
from caducee.agent.keystore import load_key
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys
from caducee.instant.endorsement import verify_endorsement
from caducee.instant.pairing import key_fingerprint
from tests.agent.helpers import PASSPHRASE
from tests.browser import chromium
from tests.live_office import open_office

HERE = Path(__file__).resolve().parents[1] / "vectors" / "instant" / "endorsement"
ALICE = "dr.alice.endorse@caducee.test"
PAGE = """<!doctype html><meta charset="utf-8"><title>MISS endorsement checks</title>
<script type="module">
import * as checks from "/__endorse__/endorsement_checks.js";
window.checks = checks;
</script>"""


@dataclass
class Setup:
    page: Page
    folder: Path


@pytest.fixture(scope="module")
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("endorse")
    with open_office(request, root, (ALICE,), first_number=21) as office:
        server, folder = office.server, office.folders[ALICE]
        with chromium() as browser:
            page = browser.new_context().new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            def serve(route: Route) -> None:
                name = route.request.url.rsplit("/", 1)[-1]
                if name == "endorsement_checks.js":
                    body, kind = (HERE / name).read_text(), "text/javascript"
                else:
                    body, kind = PAGE, "text/html"
                route.fulfill(status=200, body=body, content_type=kind)

            page.context.route(server.base + "/__endorse__/**", serve)
            page.goto(server.base + "/__endorse__/page.html")
            page.wait_for_function("window.checks !== undefined", timeout=20_000)
            assert errors == []
            yield Setup(page, folder)


def _agent(folder: Path) -> tuple[ServerClient, Any]:
    config = AgentConfig.load(folder)
    key = load_key(config, PASSPHRASE.encode())
    return ServerClient(config.server, Credentials(config.address, config.serial_hex, key)), key


def test_the_browser_reproduces_the_endorsement_vectors(setup: Setup) -> None:
    vectors = json.loads((HERE / "endorsements.json").read_text())
    assert setup.page.evaluate("v => checks.checkVectors(v)", vectors) == []


def test_python_verifies_what_the_browser_endorses(setup: Setup) -> None:
    new = DeviceKeys.generate("python-new", ALICE, kem=Kem.MLKEM768_X25519).public()
    facts = {
        "device_id": new.device_id,
        "address": new.address,
        "kem": new.kem.value,
        "hpke_public": new.hpke_public.hex(),
        "signing_public": new.signing_public.hex(),
        "created_at": int(new.created_at.timestamp()),
    }
    result = setup.page.evaluate("d => checks.endorseFromBrowser(d)", facts)
    e = result["endorser"]
    endorser = DevicePublicKeys(
        e["device_id"],
        e["address"],
        Kem.from_id(e["kem"]),
        bytes.fromhex(e["hpke_public"]),
        bytes.fromhex(e["signing_public"]),
        datetime.fromtimestamp(e["created_at"], UTC),
    )
    assert verify_endorsement(bytes.fromhex(result["endorsement"]), endorser) == new


def test_a_browser_device_approves_another_which_logs_in(setup: Setup) -> None:
    code = setup.page.evaluate("a => checks.firstDevice(a)", ALICE)
    client, key = _agent(setup.folder)
    with client:
        approve(client, key, fetch_pairing(client, code))
        result = setup.page.evaluate(
            "a => checks.secondDevice(a)", [ALICE, config_spki(setup.folder)]
        )
        listed = client.request("GET", "/api/v1/instant/devices").json()["devices"]
    shown = result["shown"]
    assert shown["label"] == "Tablette" and shown["deviceId"] == "browser-second"
    assert (shown["hpke"], shown["signing"]) == (shown["ownHpke"], shown["ownSigning"])
    assert len(shown["signing"].split(" ")) == 8 and shown["signing"] != key_fingerprint(b"")
    assert result["registered"]["endorsed_by"] == "browser-first"
    assert result["login"]["device_id"] == "browser-second"
    assert sorted(result["verified"]) == ["browser-first", "browser-second"]
    assert result["again"] == "instant-pairing-unknown"  # the request was consumed
    assert result["refusal"] == "instant-endorser-endorsed"
    second = next(d for d in listed if d["device_id"] == "browser-second")
    assert second["endorsed_by"] == "browser-first"


def config_spki(folder: Path) -> str:
    """The person's certificate key (SubjectPublicKeyInfo, hex), as the app would read it."""
    cert = AgentConfig.load(folder).load_certificate()
    return (
        cert.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        .hex()
    )
