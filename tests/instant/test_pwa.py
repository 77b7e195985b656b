"""The MISS web app (/instant/) in Chromium: two people pair their browsers (approved by
``caducee agent devices approve`` in each person's agent folder), open a case and talk both
ways; a Python device (the core, as an agent uses it) reads the browsers and is read by them;
removing a member rotates the keys and the removed browser cannot read what follows; the app
fits a phone; the service worker caches the shell, never an API answer.

The browsers run against one real server process on SQLite (the database paths are covered on
both engines by the API tests). SYNTHETIC TEST MATERIAL: invented people and patient.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.keystore import load_key
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device, parse_device_statement
from caducee.instant.sender_keys import SenderKeyGroup
from tests.agent.helpers import PASSPHRASE, agent_cli
from tests.browser import chromium
from tests.live_office import Office, open_office

ALICE = "dr.alice.pwa@caducee.test"
BOB = "dr.bob.pwa@caducee.test"
CAROL = "dr.carol.pwa@caducee.test"
PATIENT = "Zoé Synthétique-Essai"
DEVICE_PASSPHRASE = "phrase de l'appareil"
API = "/api/v1/instant"
TIMEOUT = 30_000


@dataclass
class Setup:
    office: Office
    browser: Browser

    @property
    def base(self) -> str:
        return self.office.base

    @property
    def folders(self) -> dict[str, Path]:
        return self.office.folders

    @property
    def database(self) -> Path:
        return Path(self.office.database_url.removeprefix("sqlite+aiosqlite:///"))


@pytest.fixture(scope="module")
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("pwa")
    with (
        open_office(request, root, (ALICE, BOB, CAROL), first_number=11) as office,
        chromium() as browser,
    ):
        yield Setup(office, browser)


def agent_client(setup: Setup, address: str) -> ServerClient:
    return setup.office.client(address)


def pair(setup: Setup, context: BrowserContext, address: str, label: str) -> Page:
    """Pair a browser through the app; approve it with the person's agent folder."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(setup.base + "/instant/")
    page.fill("#pair-form [name=address]", address)
    page.fill("#pair-form [name=label]", label)
    page.fill("#pair-form [name=passphrase]", DEVICE_PASSPHRASE)
    page.click("#pair-form button")
    code_box = page.locator("#pair-code")
    expect(code_box).to_have_text(re.compile(r"^[A-Z2-9]{8}$"), timeout=TIMEOUT)
    signing = page.locator("#pair-signing").inner_text()
    root = page.locator("#pair-root").inner_text()  # the root this browser pinned
    shown = agent_cli(
        "devices", "approve", code_box.inner_text(), "--dir", str(setup.folders[address]), "--yes"
    )
    assert label in shown.stdout and signing in shown.stdout
    assert re.fullmatch(r"[0-9A-F]{4}( [0-9A-F]{4}){7}", root)
    assert f"autorité racine / root authority: {root}" in shown.stdout  # the agent's own
    expect(page.locator("section[data-view=cases]")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("body")).to_have_attribute("data-connected", "true", timeout=TIMEOUT)
    assert errors == []
    return page


def device_id(page: Page) -> str:
    value: str = page.evaluate("localStorage.getItem('caducee-miss-device')")
    return value


def entries(page: Page) -> Any:
    return page.locator("#entries .entry")


def python_device(setup: Setup, address: str) -> tuple[ServerClient, DeviceKeys]:
    """A device registered from Python with the person's key, as an agent would."""
    client = agent_client(setup, address)
    config = AgentConfig.load(setup.folders[address])
    device = DeviceKeys.generate("carol-desktop", address, kem=Kem.MLKEM768_X25519)
    statement = certify_device(device.public(), load_key(config, PASSPHRASE.encode()))
    body = {"statement": base64.b64encode(statement).decode()}
    client.request("POST", f"{API}/devices", json=body)
    return client, device


def members(client: ServerClient, *addresses: str) -> list[Any]:
    found = []
    for address in addresses:
        for d in client.request("GET", f"{API}/people/{address}/devices").json()["devices"]:
            found.append(parse_device_statement(base64.b64decode(d["statement"]))[0])
    return found


def python_read(
    client: ServerClient, device: DeviceKeys, group: SenderKeyGroup, case_id: str, after: int
) -> tuple[int, list[dict[str, Any]]]:
    """Take keys and decrypt texts from ``after`` on, as the Python core does."""
    answer = client.request(
        "GET",
        f"{API}/cases/{case_id}/messages",
        params={"device": device.device_id, "after": after},
    ).json()
    texts = []
    for m in answer["messages"]:
        data = base64.b64decode(m["ciphertext"])
        if m["kind"] == "key":
            group.receive_key(data)
        elif m["sender_device_id"] != device.device_id:
            texts.append(json.loads(group.decrypt(data).plaintext))
    return answer["last_sequence"], texts


def test_two_browsers_and_a_python_device_talk_in_a_case(setup: Setup) -> None:
    carol_client, carol_device = python_device(setup, CAROL)
    alice_ctx = setup.browser.new_context(locale="fr-FR")
    bob_ctx = setup.browser.new_context(
        locale="fr-FR", viewport={"width": 360, "height": 740}, is_mobile=True
    )
    try:
        alice = pair(setup, alice_ctx, ALICE, "Poste du Dr Alice")
        bob = pair(setup, bob_ctx, BOB, "Téléphone du Dr Bob")
        for address, paired in ((ALICE, alice), (BOB, bob)):  # post-quantum by default (#8)
            people = carol_client.request("GET", f"{API}/people/{address}/devices").json()
            (mine,) = [d for d in people["devices"] if d["device_id"] == device_id(paired)]
            signed = parse_device_statement(base64.b64decode(mine["statement"]))[0]
            assert mine["kem"] == 0x647A and signed.kem is Kem.MLKEM768_X25519

        # Alice opens a case to Bob and Carol: the patient goes inside the ciphertext.
        alice.click("summary")
        alice.fill("#new-case [name=participants]", f"{BOB} {CAROL}")
        alice.fill("#new-case [name=patient_name]", PATIENT)
        alice.fill("#new-case [name=patient_birth]", "1980-05-17")
        alice.fill("#new-case [name=patient_ins]", "180057512345678")
        alice.click("#new-case button[type=submit]")
        expect(alice.locator("#patient")).to_contain_text(PATIENT, timeout=TIMEOUT)
        alice.fill("#send textarea", "Bonjour Bob, avis sur cet ECG ?")
        alice.click("#send button")
        expect(entries(alice).last).to_contain_text("avis sur cet ECG", timeout=TIMEOUT)

        # Bob learns of the case live, reads it, answers and takes it.
        bob.locator("#case-list button").first.click(timeout=TIMEOUT)
        expect(bob.locator("#patient")).to_contain_text(PATIENT, timeout=TIMEOUT)
        expect(entries(bob).filter(has_text="avis sur cet ECG")).to_have_count(1, timeout=TIMEOUT)
        bob.fill("#send textarea", "Je regarde, rythme sinusal.")
        bob.click("#send button")
        bob.click("#ack")
        expect(entries(alice).filter(has_text="rythme sinusal")).to_have_count(1, timeout=TIMEOUT)
        expect(alice.locator("#entries .entry.read").first).to_be_visible(timeout=TIMEOUT)
        expect(alice.locator("#entries .entry.ack").first).to_contain_text(
            "je m'en occupe", timeout=TIMEOUT
        )
        case_id = str(
            alice.evaluate("import('/static/instant/app/app.js').then((m) => m.state.open)")
        )
        case = carol_client.request("GET", f"{API}/cases/{case_id}").json()
        listed = carol_client.request(
            "GET", f"{API}/cases/{case_id}/messages", params={"device": carol_device.device_id}
        ).json()["messages"]
        assert {(m["kind"], m["sender"]) for m in listed} >= {("ack", BOB), ("read", BOB)}

        # Carol's Python device reads both browsers, and they read her.
        group = SenderKeyGroup(case_id, carol_device, members(carol_client, ALICE, BOB))
        cursor, texts = python_read(carol_client, carol_device, group, case_id, 0)
        said = [t.get("text") for t in texts if t["type"] == "text"]
        assert said == ["Bonjour Bob, avis sur cet ECG ?", "Je regarde, rythme sinusal."]
        assert any(t["type"] == "patient" and t["patient"]["name"] == PATIENT for t in texts)
        for distribution in group.distributions():
            carol_client.request(
                "POST",
                f"{API}/cases/{case_id}/messages",
                json={
                    "message_id": f"carol-key-{distribution.recipient_device_id}",
                    "device_id": carol_device.device_id,
                    "kind": "key",
                    "ciphertext": base64.b64encode(distribution.payload).decode(),
                },
            )
        carol_client.request(
            "POST",
            f"{API}/cases/{case_id}/messages",
            json={
                "message_id": "carol-1",
                "device_id": carol_device.device_id,
                "kind": "message",
                "ciphertext": base64.b64encode(group.encrypt(b"Vu par Carol")).decode(),
            },
        )
        for page in (alice, bob):
            expect(entries(page).filter(has_text="Vu par Carol")).to_have_count(1, timeout=TIMEOUT)

        # Nothing of the patient in clear on the server.
        for stored in setup.database.parent.glob("caducee.db*"):
            assert PATIENT.encode() not in stored.read_bytes(), stored
        assert "Synth" not in json.dumps(case)

        # Bob's phone reloads: the keys stay locked until the passphrase; then the case replays.
        bob.reload()
        expect(bob.locator("section[data-view=unlock]")).to_be_visible(timeout=TIMEOUT)
        bob.fill("#unlock-form [name=passphrase]", "not the passphrase")
        bob.click("#unlock-form button")
        expect(bob.locator("#status")).to_contain_text("instant-decryption-failed", timeout=TIMEOUT)
        bob.fill("#unlock-form [name=passphrase]", DEVICE_PASSPHRASE)
        bob.click("#unlock-form button")
        expect(bob.locator("section[data-view=cases]")).to_be_visible(timeout=TIMEOUT)
        bob.locator("#case-list button").first.click(timeout=TIMEOUT)
        expect(entries(bob).filter(has_text="avis sur cet ECG")).to_have_count(1, timeout=TIMEOUT)
        expect(entries(bob).filter(has_text="Vu par Carol")).to_have_count(1, timeout=TIMEOUT)
        # His own earlier messages too: each generation is also sealed to his own device.
        expect(entries(bob).filter(has_text="rythme sinusal")).to_have_count(1)
        expect(entries(bob).filter(has_text="session précédente")).to_have_count(0)

        # The hub drops Bob's socket: the app reconnects and resumes what came meanwhile.
        bob.evaluate(
            "import('/static/instant/app/app.js').then((m) => {"
            " m.state.hub.delay = 2000; m.state.hub.socket.close(); })"
        )
        expect(bob.locator("body")).to_have_attribute("data-connected", "false", timeout=TIMEOUT)
        carol_client.request(
            "POST",
            f"{API}/cases/{case_id}/messages",
            json={
                "message_id": "carol-2",
                "device_id": carol_device.device_id,
                "kind": "message",
                "ciphertext": base64.b64encode(group.encrypt(b"Pendant la coupure")).decode(),
            },
        )
        expect(bob.locator("body")).to_have_attribute("data-connected", "true", timeout=TIMEOUT)
        expect(entries(bob).filter(has_text="Pendant la coupure")).to_have_count(1, timeout=TIMEOUT)

        # Bob is removed: Alice's next message goes under a new generation he does not hold.
        alice.evaluate(
            "([id, who]) => import('/static/instant/app/app.js').then((m) =>"
            " m.state.session.api(`/cases/${id}/participants/${who}`, {method: 'DELETE'}))",
            [case_id, BOB],
        )
        alice.fill("#send textarea", "Après le retrait de Bob")
        alice.click("#send button")
        expect(entries(alice).filter(has_text="Après le retrait")).to_have_count(1, timeout=TIMEOUT)
        cursor, texts = python_read(carol_client, carol_device, group, case_id, cursor)
        assert "Après le retrait de Bob" in [t.get("text") for t in texts]
        answer = carol_client.request(
            "GET",
            f"{API}/cases/{case_id}/messages",
            params={"device": carol_device.device_id, "after": 0},
        ).json()
        last = [m for m in answer["messages"] if m["kind"] == "message" and m["sender"] == ALICE][
            -1
        ]
        tried = bob.evaluate(
            "([id, data]) => import('/static/instant/app/app.js').then((m) =>"
            " m.state.cases.get(id).tryDecrypt(data))",
            [case_id, last["ciphertext"]],
        )
        assert tried["text"] is None and tried["error"] == "instant-unknown-sender-key", tried

        # Phone width: nothing wider than the screen.
        width = bob.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
    finally:
        alice_ctx.close()
        bob_ctx.close()


def test_manifest_service_worker_and_shell_cache(setup: Setup) -> None:
    context = setup.browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(setup.base + "/instant/")
        manifest = page.request.get(setup.base + "/instant/manifest.webmanifest")
        assert manifest.ok and "manifest+json" in manifest.headers["content-type"]
        body = manifest.json()
        assert body["start_url"] == "/instant/" and body["display"] == "standalone"
        for icon in body["icons"]:
            assert page.request.get(setup.base + icon["src"]).ok, icon
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == setup.base + "/instant/"
        page.reload()  # now controlled by the service worker
        page.request.get(setup.base + "/api/v1/instant/cases")
        cached = page.evaluate(
            """async () => {
                const urls = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    for (const r of await cache.keys()) urls.push(new URL(r.url).pathname);
                }
                return urls;
            }"""
        )
        assert "/instant/" in cached and "/static/instant/app/app.js" in cached
        assert not [u for u in cached if u.startswith("/api/")]
        # The app still opens offline, from the shell.
        context.set_offline(True)
        page.reload()
        expect(page.locator("section[data-view=pair]")).to_be_visible(timeout=TIMEOUT)
    finally:
        context.close()
