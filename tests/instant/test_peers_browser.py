"""The web app trusts only the devices a valid certificate vouches for (app/peers.js), against
a real server process, as the desktop client does (caducee/agent/instant/peers.py).

Alice's and Bob's browsers are paired through the app and approved by their agents; Bob also
has a desktop device registered from Python, which approved his tablet (an endorsement). A
device the server lists for Bob but that Bob's certificate never signed (written straight
into the server's database, as a compromised server would) is left out, Bob's real devices
are kept. Once Bob's certificate is revoked, his devices are left out, even when the server
keeps listing the certificate (its answers rewritten in transit, as a lying server would send
them): the CRL, signed by the CA, says so. A certificate the server lists but whose records
the evidence log does not hold (hidden in the database, as a dishonest operator would, the
way tests/agent/test_transparency.py does) vouches for nothing: Bob's devices are left out
while Alice's, proven in the log, are kept. The browser goes through ``caseDevices``, what
``CaseState.devices()`` calls.

SYNTHETIC TEST MATERIAL: invented people; keys made afresh.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, Route

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.endorsement import endorse_device
from caducee.server.instant_login import LOGIN_CONTEXT
from tests.browser import chromium
from tests.instant.miss import b64
from tests.instant.test_pairing_support import pairing_body
from tests.instant.test_pwa import DEVICE_PASSPHRASE, Setup, device_id, pair
from tests.live_office import open_office

ALICE = "dr.alice.peers@caducee.test"
BOB = "dr.bob.peers@caducee.test"
API = "/api/v1/instant"
FORGED = "bob-forged-by-the-server"
DESKTOP = "bob-desktop-peers"
ENDORSED = "bob-tablet-endorsed"

# Alice's browser asks what CaseState.devices(address, true) answers, on a real CaseState.
CASE_DEVICES = """async ({ deviceId, passphrase, address }) => {
  const { loadDevice } = await import("/static/instant/keystore.js");
  const { Session } = await import("/static/instant/app/client.js");
  const { CaseState } = await import("/static/instant/app/cases.js");
  const { caseDevices } = await import("/static/instant/app/peers.js");
  const device = await loadDevice(deviceId, passphrase);
  const state = new CaseState("case-peers", device, new Session(device));
  const listed = await state.session.api(`/people/${encodeURIComponent(address)}/devices`);
  const verified = await caseDevices(state, address, true);
  return {
    listed: listed.devices.map((d) => d.device_id).sort(),
    verified: [...verified.keys()].sort(),
    addresses: [...verified.values()].map((d) => d.address),
  };
}"""


@dataclass
class World:
    setup: Setup
    alice: Page
    alice_device: str
    bob_browser: str
    warnings: list[str] = field(default_factory=list)

    def case_devices(self, address: str = BOB) -> dict[str, Any]:
        """Ask in a freshly loaded page (no certificate or proof cached from an earlier
        question)."""
        self.alice.reload()
        self.alice.wait_for_load_state()
        answer: dict[str, Any] = self.alice.evaluate(
            CASE_DEVICES,
            {"deviceId": self.alice_device, "passphrase": DEVICE_PASSPHRASE, "address": address},
        )
        return answer


def _register_desktop(setup: Setup) -> DeviceKeys:
    """Bob's desktop device, certified with his key as his agent does."""
    device = DeviceKeys.generate(DESKTOP, BOB, kem=Kem.MLKEM768_X25519)
    statement = certify_device(device.public(), setup.office.keys[BOB])
    client = setup.office.client(BOB)
    body = {"statement": base64.b64encode(statement).decode()}
    client.request("POST", f"{API}/devices", json=body)
    return device


def _endorse(base: str, endorser: DeviceKeys) -> None:
    """Bob's tablet, paired and approved by his desktop device (an endorsement, depth one)."""
    tablet = DeviceKeys.generate(ENDORSED, BOB, kem=Kem.X25519)
    with httpx.Client(base_url=base) as client:
        challenge = client.post(
            f"{API}/devices/login/challenge", json={"device_id": endorser.device_id}
        ).json()["challenge"]
        signature = endorser.sign((LOGIN_CONTEXT + challenge).encode())
        login = client.post(
            f"{API}/devices/login",
            json={
                "device_id": endorser.device_id,
                "challenge": challenge,
                "signature": b64(signature),
            },
        )
        token = login.json()["access_token"]
        code = client.post(f"{API}/pairing", json=pairing_body(tablet)).json()["code"]
        answer = client.post(
            f"{API}/pairing/{code}/endorsement",
            json={"endorsement": b64(endorse_device(tablet.public(), endorser))},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text


def _insert_forged(setup: Setup) -> None:
    """A device for Bob signed by a key of the server's own, written straight into its
    database with Bob's certificate serial (the registration route would refuse it)."""
    rogue = ec.generate_private_key(ec.SECP256R1())
    device = DeviceKeys.generate(FORGED, BOB, kem=Kem.X25519).public()
    statement = certify_device(device, rogue)
    database = setup.database
    with sqlite3.connect(database) as db:
        registered_at = db.execute("SELECT registered_at FROM instant_device LIMIT 1").fetchone()
        db.execute(
            "INSERT INTO instant_device (device_id, address, certificate_serial, kem,"
            " hpke_public, signing_public, statement, statement_sha256, registered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                FORGED,
                BOB,
                setup.office.configs[BOB].serial_hex,
                device.kem.value,
                device.hpke_public,
                device.signing_public,
                statement,
                hashlib.sha256(statement).hexdigest(),
                registered_at[0],
            ),
        )


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("peers")
    with (
        open_office(request, root, (ALICE, BOB), first_number=61) as office,
        chromium() as browser,
    ):
        setup = Setup(office, browser)
        bob = pair(setup, browser.new_context(), BOB, "Téléphone de Bob")
        alice = pair(setup, browser.new_context(), ALICE, "Téléphone d'Alice")
        _endorse(office.base, _register_desktop(setup))
        _insert_forged(setup)
        found = World(setup, alice, device_id(alice), device_id(bob))
        alice.on(
            "console",
            lambda m: found.warnings.append(m.text) if m.type == "warning" else None,
        )
        yield found


def test_a_device_bobs_certificate_never_signed_is_left_out(world: World) -> None:
    answer = world.case_devices()
    assert answer["listed"] == sorted([world.bob_browser, DESKTOP, ENDORSED, FORGED])
    assert answer["verified"] == sorted([world.bob_browser, DESKTOP, ENDORSED])
    assert answer["addresses"] == [BOB, BOB, BOB]
    assert any(FORGED in w and "left out" in w for w in world.warnings)


def test_the_root_is_pinned_once_and_another_is_refused(world: World) -> None:
    """The root pinned in this browser is the server's; a different one is refused."""
    outcome = world.alice.evaluate(
        """async () => {
          const { pinnedRoot, pinRoot } = await import("/static/instant/keystore.js");
          const { sha256Hex } = await import("/static/instant/x509.js");
          const { pinOperatorRoot } = await import("/static/instant/app/peers.js");
          const pinned = await pinnedRoot();
          const served = new Uint8Array(await (await fetch("/pki/ca/root.der")).arrayBuffer());
          const again = await pinOperatorRoot();
          let refused = null;
          try { await pinOperatorRoot({ expectedSha256: "00".repeat(32) }); }
          catch (e) { refused = e.why; }
          return { same: (await sha256Hex(pinned)) === (await sha256Hex(served)),
                   again: again === (await sha256Hex(served)), refused };
        }"""
    )
    assert outcome == {"same": True, "again": True, "refused": "certificate-untrusted"}


def _file_certificate_records(setup: Setup, address: str, under: str) -> None:
    """Move the log records of ``address``'s certificate to another message id (``under``):
    the ledger route no longer finds them, as if the log had never held the certificate."""
    certificate = (
        setup.office.client(ALICE)
        .request("GET", f"{API}/people/{address}/certificates")
        .json()["certificates"][0]
    )
    log_id = "certificate:" + hashlib.sha256(base64.b64decode(certificate)).hexdigest()
    hidden = f"hidden-by-the-test:{address}"
    before, after = (log_id, hidden) if under == "hidden" else (hidden, log_id)
    with sqlite3.connect(setup.database) as db:
        moved = db.execute(
            "UPDATE evidence_record SET message_id = ? WHERE message_id = ?", (after, before)
        )
        assert moved.rowcount >= 1


def test_a_certificate_the_log_does_not_hold_vouches_for_no_device(world: World) -> None:
    assert world.case_devices()["verified"] == sorted([world.bob_browser, DESKTOP, ENDORSED])
    _file_certificate_records(world.setup, BOB, "hidden")
    world.warnings.clear()
    try:
        hidden = world.case_devices()
        alice = world.case_devices(ALICE)
    finally:
        _file_certificate_records(world.setup, BOB, "restored")
    assert hidden["listed"] == sorted([world.bob_browser, DESKTOP, ENDORSED, FORGED])
    assert hidden["verified"] == []
    assert any("certificate-not-in-log" in w for w in world.warnings), world.warnings
    assert alice["verified"] == [world.alice_device]  # a peer in the log is still trusted
    assert world.case_devices()["verified"] == sorted([world.bob_browser, DESKTOP, ENDORSED])


def test_the_log_key_is_pinned_at_pairing_and_another_is_refused(world: World) -> None:
    outcome = world.alice.evaluate(
        r"""async () => {
          const { pinnedLogKey, pinLogKey } = await import("/static/instant/keystore.js");
          const served = (await (await fetch("/api/v1/ledger/key")).text()).trim();
          let refused = null;
          try { await pinLogKey(served.replace(/\+[0-9a-f]{8}\+/, "+00000000+")); }
          catch (e) { refused = e.why; }
          return { same: (await pinnedLogKey()) === served, refused };
        }"""
    )
    assert outcome == {"same": True, "refused": "certificate-untrusted"}


def test_a_revoked_certificates_devices_are_left_out_even_if_the_server_lists_it(
    world: World,
) -> None:
    page = world.alice
    before = world.case_devices()
    assert before["verified"] == sorted([world.bob_browser, DESKTOP, ENDORSED])
    # What the server answers now, kept to replay once the certificate is revoked.
    client = world.setup.office.client(ALICE)
    kept_certificates = client.request("GET", f"{API}/people/{BOB}/certificates").json()
    kept_devices = client.request("GET", f"{API}/people/{BOB}/devices").json()
    assert len(kept_certificates["certificates"]) == 1
    serial = world.setup.office.configs[BOB].serial_hex
    world.setup.office.client(BOB).request("POST", f"/api/v1/certificates/{serial}/revoke", json={})

    honest = world.case_devices()
    assert honest["verified"] == []

    def replay(answer: dict[str, Any]) -> Any:
        def fulfil(route: Route) -> None:
            route.fulfill(status=200, body=json.dumps(answer), content_type="application/json")

        return fulfil

    # The browser writes the address percent-encoded: match the path whatever the encoding.
    def bobs(tail: str) -> Any:
        return lambda url: unquote(url).endswith(f"{API}/people/{BOB}/{tail}")

    certificates_url, devices_url = bobs("certificates"), bobs("devices")
    page.route(certificates_url, replay(kept_certificates))
    page.route(devices_url, replay(kept_devices))
    world.warnings.clear()
    try:
        lying = world.case_devices()
    finally:
        page.unroute(certificates_url)
        page.unroute(devices_url)
    assert lying["listed"] == sorted([world.bob_browser, DESKTOP, ENDORSED, FORGED])
    assert lying["verified"] == []
    assert any("certificate-revoked" in w for w in world.warnings), world.warnings
