"""The browser MISS core (/static/instant/) in Chromium, against the Python core.

The modules are served by the real server; a test page (routed by Playwright on the same
origin) imports them with ``tests/vectors/instant/browser_checks.js``. Three things are
proved: the browser reproduces every committed vector byte for byte; it opens and decrypts
what Python seals and encrypts now; and Python opens and decrypts what the browser seals and
encrypts with keys made in the browser, of which only the public halves leave it.
SYNTHETIC TEST MATERIAL only.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Page, Route

from caducee.instant._hpke import HpkeKeyPair, Kem, seal
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys, certify_device
from caducee.instant.errors import InstantSignatureInvalid, UnknownSenderKey
from caducee.instant.sender_keys import SenderKeyGroup
from tests.browser import chromium
from tests.instant.conftest import Person, make_person
from tests.servers import running_server

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "instant"
CASE_ID = "case-browser-0001"
PAGE = """<!doctype html><meta charset="utf-8"><title>MISS crypto checks</title>
<script type="module">
import * as miss from "/static/instant/index.js";
import * as checks from "/__miss__/browser_checks.js";
Object.assign(window, { miss, checks });
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    data = tmp_path_factory.mktemp("server") / "data"
    with running_server(data) as base, chromium() as browser:
        page = browser.new_context().new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        def serve(route: Route) -> None:
            name = route.request.url.rsplit("/", 1)[-1]
            if name == "browser_checks.js":
                body, kind = (VECTORS / name).read_text(), "text/javascript"
            else:
                body, kind = PAGE, "text/html"
            route.fulfill(status=200, body=body, content_type=kind)

        page.context.route(base + "/__miss__/**", serve)
        _load(page, base)
        assert errors == []
        yield page


def _load(page: Page, base: str) -> None:
    page.goto(base + "/__miss__/page.html")
    page.wait_for_function("window.checks !== undefined", timeout=20_000)


def _vectors() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted(VECTORS.glob("*.json"))}


def test_the_modules_and_the_bundle_are_served_as_javascript(page: Page) -> None:
    base = page.url.rsplit("/__miss__", 1)[0]
    for path in ("/static/instant/index.js", "/static/instant/vendor/hpke.js"):
        response = page.request.get(base + path)
        assert response.ok, path
        assert "javascript" in response.headers["content-type"], path


def test_the_browser_reproduces_every_vector(page: Page) -> None:
    report = page.evaluate("v => checks.checkVectors(v)", _vectors())
    assert report["failures"] == []
    # Every family was really checked: ratchet steps, HPKE, distributions, messages, refusals.
    checked = " | ".join(report["checked"])
    for family in (
        "ratchet 1.7 nonce",
        "hpke x25519 seal",
        "hpke x-wing open",
        "distribution to carol",
        "message 3",
        "bob reads message 3",
        "carol refuses a replay",
        "refused: one bit of the signature flipped",
        "person signature",
        "refused sender key: sealed to another device (bob)",
        "refused statement: an HPKE KEM nobody speaks (P-256)",
        "newcomer reads message 0",  # sealed from the generation's start
        "given again from 0, reads 0",  # a chain extended back
        "given again from 0, 2 stays read",
    ):
        assert family in checked
    assert len(report["checked"]) >= 100


def _python_device(name: str, kem: Kem) -> DeviceKeys:
    return DeviceKeys.generate(f"{name}-desktop", f"{name}@synthetic.caducee.test", kem=kem)


def _browser_device(page: Page, device_id: str, kem: Kem) -> DevicePublicKeys:
    made = page.evaluate("a => checks.makeDevice(a)", [device_id, kem.value])
    assert made["signing_key_stays"] is True
    # X25519 is a non-extractable CryptoKey; ML-KEM is not in WebCrypto, so the hybrid is not.
    assert made["hpke_key_is_webcrypto"] is (kem is Kem.X25519)
    assert made["hpke_key_stays"] is (kem is Kem.X25519)
    return DevicePublicKeys(
        device_id,
        f"{device_id}@synthetic.caducee.test",
        Kem(made["kem"]),
        bytes.fromhex(made["hpke_public"]),
        bytes.fromhex(made["signing_public"]),
        datetime.datetime.fromtimestamp(made["created_at"], datetime.UTC),
    )


def _public_facts(device: DeviceKeys) -> dict[str, Any]:
    p = device.public()
    return {
        "device_id": p.device_id,
        "address": p.address,
        "kem": p.kem.value,
        "hpke_public": p.hpke_public.hex(),
        "signing_public": p.signing_public.hex(),
        "created_at": int(p.created_at.timestamp()),
    }


@pytest.mark.parametrize("kem", list(Kem), ids=lambda k: k.name)
def test_python_and_the_browser_read_each_other(page: Page, kem: Kem) -> None:
    """Python encrypts to a browser device, the browser answers; both read everything."""
    browser_id = f"browser-{kem.name.lower()}"
    browser_device = _browser_device(page, browser_id, kem)
    python = _python_device("dr.durand", kem)
    group = SenderKeyGroup(CASE_ID, python, [browser_device])
    (distribution,) = group.distributions()
    assert distribution.recipient_device_id == browser_id
    sent = [b"Synthetic: K+ 5.9 mmol/L, please call", b"", "accentué ✓".encode()]
    replies = [b"On my way", "vu à 14 h 05".encode()]
    result = page.evaluate(
        "a => checks.exchange(a)",
        [
            CASE_ID,
            browser_id,
            _public_facts(python),
            distribution.payload.hex(),
            [group.encrypt(p).hex() for p in sent],
            [r.hex() for r in replies],
        ],
    )
    assert result["read"] == [
        [python.device_id, python.address, n, p.hex()] for n, p in enumerate(sent)
    ]
    assert result["distribution"]["to"] == python.device_id
    group.receive_key(bytes.fromhex(result["distribution"]["payload"]))
    read = [group.decrypt(bytes.fromhex(m)) for m in result["sent"]]
    assert [(m.sender_device_id, m.counter, m.plaintext) for m in read] == [
        (browser_id, n, r) for n, r in enumerate(replies)
    ]


@pytest.mark.parametrize("kem", list(Kem), ids=lambda k: k.name)
def test_hpke_both_ways_with_browser_keys(page: Page, kem: Kem) -> None:
    """Raw HPKE: the browser seals to a Python key, Python seals to a browser key."""
    python = HpkeKeyPair.generate(kem)
    browser_id = f"hpke-{kem.name.lower()}"
    browser_device = _browser_device(page, browser_id, kem)
    to_browser = seal(kem, browser_device.hpke_public, b"from python", b"info-1")
    got = page.evaluate(
        "a => checks.hpkeBothWays(a)",
        [browser_id, kem.value, python.public_bytes().hex(), to_browser.hex()],
    )
    assert got[1] == "from python"
    assert python.open(bytes.fromhex(got[0]), b"info-2") == b"from the browser"


def test_the_browser_refuses_bad_input_with_clear_errors(page: Page) -> None:
    browser_id = "browser-refusals"
    browser_device = _browser_device(page, browser_id, Kem.MLKEM768_X25519)
    python = _python_device("dr.martin", Kem.MLKEM768_X25519)
    group = SenderKeyGroup(CASE_ID, python, [browser_device])
    (distribution,) = group.distributions()
    first, second = group.encrypt(b"first"), group.encrypt(b"second")
    flipped = bytearray(second)
    flipped[-1] ^= 0x01
    with pytest.raises(InstantSignatureInvalid):  # Python agrees it is forged
        SenderKeyGroup(CASE_ID, _python_device("receiver", Kem.X25519), [python.public()]).decrypt(
            bytes(flipped)
        )
    outcome = page.evaluate(
        "a => checks.refusals(a)",
        [
            CASE_ID,
            browser_id,
            _public_facts(python),
            distribution.payload.hex(),
            first.hex(),
            bytes(flipped).hex(),
            second.hex(),
        ],
    )
    assert outcome["first"] == b"first".hex() and outcome["second"] == b"second".hex()
    expected = {
        "unknownKey": ("instant-unknown-sender-key", "no sender key received"),
        "forgedKey": ("instant-signature-invalid", "not signed by its sender device"),
        "replayed": ("instant-replayed", "message counter 0 was already received"),
        "badSignature": ("instant-signature-invalid", "not signed by its sender device"),
        "truncated": ("instant-malformed", "truncated"),
        "garbage": ("instant-malformed", "message"),
        "trailing": ("instant-malformed", "trailing bytes"),
        "notBytes": ("instant-malformed", "expected bytes"),
        "tooFarAhead": ("instant-out-of-window", "too far ahead"),
        "otherCase": ("instant-not-a-member", "a case this device is not in"),
    }
    for name, (code, words) in expected.items():
        got_code, message, typed = outcome[name]
        assert (name, got_code) == (name, code), message
        assert words in message and typed is True, (name, message)


def test_the_browser_rotates_on_removal_and_the_removed_device_cannot_read(page: Page) -> None:
    browser_id = "browser-removal"
    browser_device = _browser_device(page, browser_id, Kem.MLKEM768_X25519)
    stays = _python_device("dr.stays", Kem.MLKEM768_X25519)
    leaves = _python_device("dr.leaves", Kem.X25519)
    groups = {d.device_id: SenderKeyGroup(CASE_ID, d, [browser_device]) for d in (stays, leaves)}
    texts = [f"synthetic note {n}".encode() for n in range(6)]
    result = page.evaluate(
        "a => checks.sendThenRemove(a)",
        [
            CASE_ID,
            browser_id,
            [_public_facts(stays), _public_facts(leaves)],
            leaves.device_id,
            [t.hex() for t in texts],
        ],
    )
    assert [to for to, _ in result["before"]] == sorted(groups)
    for to, payload in result["before"]:
        groups[to].receive_key(bytes.fromhex(payload))
    for group in groups.values():
        read = [group.decrypt(bytes.fromhex(m)) for m in result["concurrent"]]
        assert sorted(m.counter for m in read) == list(range(len(texts)))
        assert sorted(m.plaintext for m in read) == sorted(texts)
    assert result["members"] == sorted([browser_id, stays.device_id])
    assert result["generation"] == 1
    assert [to for to, _ in result["after"]] == [stays.device_id]
    groups[stays.device_id].receive_key(bytes.fromhex(result["after"][0][1]))
    rotated = bytes.fromhex(result["rotated"])
    assert groups[stays.device_id].decrypt(rotated).plaintext == b"after the removal"
    with pytest.raises(UnknownSenderKey):
        groups[leaves.device_id].decrypt(rotated)


@pytest.mark.parametrize("kem", list(Kem), ids=lambda k: k.name)
def test_device_keys_kept_in_indexeddb_unlock_with_the_passphrase_only(
    page: Page, kem: Kem
) -> None:
    device_id = f"kept-{kem.name.lower()}"
    browser_device = _browser_device(page, device_id, kem)
    page.evaluate("a => checks.keep(a)", [device_id, "correct horse battery staple"])
    # Keeping it does not spoil the keys in use (the X-Wing seed buffer is shared with @hpke).
    python_hpke = HpkeKeyPair.generate(kem)
    sealed = seal(kem, browser_device.hpke_public, b"from python", b"info-1")
    got = page.evaluate(
        "a => checks.hpkeBothWays(a)",
        [device_id, kem.value, python_hpke.public_bytes().hex(), sealed.hex()],
    )
    assert got[1] == "from python"
    later = page.context.new_page()  # same browser profile, nothing of the device in memory
    try:
        _load(later, page.url.rsplit("/__miss__", 1)[0])
        assert later.evaluate("a => checks.unlock(a)", [device_id, "wrong"]) == (
            "instant-decryption-failed"
        )
        assert later.evaluate("a => checks.unlock(a)", ["never-kept", "x"]) == (
            "instant-not-a-member"
        )
        unlocked = later.evaluate(
            "a => checks.unlock(a)", [device_id, "correct horse battery staple"]
        )
        assert unlocked == "unlocked"
        # The unlocked keys open what Python seals and sign what Python verifies.
        python = _python_device("dr.kept", kem)
        group = SenderKeyGroup(CASE_ID, python, [browser_device])
        (distribution,) = group.distributions()
        result = later.evaluate(
            "a => checks.exchange(a)",
            [
                CASE_ID,
                device_id,
                _public_facts(python),
                distribution.payload.hex(),
                [group.encrypt(b"still readable").hex()],
                [b"still signed".hex()],
            ],
        )
        assert result["read"][0][3] == b"still readable".hex()
        group.receive_key(bytes.fromhex(result["distribution"]["payload"]))
        assert group.decrypt(bytes.fromhex(result["sent"][0])).plaintext == b"still signed"
    finally:
        later.close()


def test_the_browser_verifies_device_statements_python_certified(page: Page) -> None:
    """RSA and ECDSA person keys (as the CMS layer uses); forgeries refused as in Python."""
    rsa_person = make_person("dr.durand@synthetic.caducee.test", "rsa")
    ec_person = make_person("dr.martin@synthetic.caducee.test", "ec")
    cases, expected = [], []
    for person, other in ((rsa_person, ec_person), (ec_person, rsa_person)):
        device = DeviceKeys.generate("phone", person.address).public()
        statement = certify_device(device, person.key).hex()
        cases += [
            [statement, _spki(person), [person.address.upper()]],
            [statement, _spki(other), [person.address]],  # another person's key
            [statement, _spki(person), [other.address]],  # a certificate for another address
            [statement[:-4] + "0000", _spki(person), [person.address]],  # signature altered
        ]
        expected += ["verified"] + ["instant-forged-device"] * 3
    assert page.evaluate("a => checks.verifyStatements(a)", cases) == expected


def _spki(person: Person) -> str:
    return (
        person.cert.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        .hex()
    )
