"""X.509 in the browser (static/instant/x509.js) against the project's own CA and Python.

Certificates and CRLs are made at test time by ``caducee.pki`` around a fixed "now" handed
to the JavaScript, so nothing expires in the repository. For every case Chromium and
``caducee.crypto.x509_validation.PathValidator`` (what the agent uses) get the same bytes and
must give the same outcome: accepted, or refused with the same code. The DER reader is then
fuzzed in Chromium: random bytes and mutated real certificates and CRLs must be refused with
the core's error, never another exception, never accepted.

The modules are served from the source tree on a routed https origin (a secure context for
WebCrypto). SYNTHETIC TEST MATERIAL: invented people, keys made afresh.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page

from caducee.crypto.errors import CryptoError
from caducee.crypto.keyfile import KeyKind, PrivateKey, generate_private_key
from caducee.crypto.trust import KeyPurpose
from caducee.crypto.x509_validation import PathValidator, StaticRevocationSource
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device, verify_device_statement
from caducee.instant.errors import InstantCryptoError
from caducee.pki import (
    CertificateAuthority,
    Holder,
    PKIURLs,
    Profile,
    RevokedEntry,
    build_crl,
    create_issuing_ca,
    create_root_ca,
    issue_certificate,
)
from tests.browser import chromium, module_page

ORIGIN = "https://miss.test"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
URLS = PKIURLs("http://pki.caducee.test/pki")
BOB = "dr.bob.x509@caducee.test"
PAGE = """<!doctype html><meta charset="utf-8"><title>X.509 checks</title>
<script type="module">
import * as x509 from "/static/instant/x509.js";
import * as device from "/static/instant/device.js";
import * as errors from "/static/instant/errors.js";
Object.assign(window, { x509, device, errors });
</script>"""

# One case in the browser: the verdict is "ok" or the UntrustedCertificate's `why`; a device
# statement, when given, is then checked against the certificate (its device id, or the code).
VALIDATE = """async ({ cases, now }) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const out = {};
  for (const [name, c] of Object.entries(cases)) {
    try {
      const authority = {
        root: await x509.readRoot(bytes(c.root)),
        issuing: new x509.Certificate(bytes(c.issuing)),
        issuingCrl: c.issuing_crl ? x509.readCrl(bytes(c.issuing_crl)) : null,
        rootCrl: c.root_crl ? x509.readCrl(bytes(c.root_crl)) : null,
      };
      const leaf = new x509.Certificate(bytes(c.leaf));
      const person = await x509.validatePersonCertificate(leaf, authority, now);
      if (!c.statement) { out[name] = "ok"; continue; }
      const d = await device.verifyListedDevice({ statement: c.statement }, person);
      out[name] = `device ${d.deviceId}`;
    } catch (e) {
      if (!(e instanceof errors.InstantCryptoError)) { out[name] = `crash ${e}`; continue; }
      out[name] = e instanceof errors.UntrustedCertificate ? e.why : e.code;
    }
  }
  return out;
}"""


def _der(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.DER)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Chain:
    """An operator PKI (root, issuing CA, fresh CRLs) and a person's key and certificate."""

    root: CertificateAuthority
    issuing: CertificateAuthority
    key: PrivateKey
    leaf: x509.Certificate
    issuing_crl: x509.CertificateRevocationList
    root_crl: x509.CertificateRevocationList


def _person(
    ca: CertificateAuthority,
    kind: KeyKind | None = None,
    *,
    key: PrivateKey | None = None,
    now: dt.datetime = NOW - dt.timedelta(days=30),
    validity: dt.timedelta = dt.timedelta(days=365),
    profile: Profile = Profile.PERSON,
) -> tuple[PrivateKey, x509.Certificate]:
    key = key if key is not None else generate_private_key(kind or KeyKind.EC_P256)
    holder = Holder(
        "Dr Bob Essai",
        email=BOB,
        given_name="Bob",
        surname="Essai",
        rpps="10000000571",
        dns_names=("bob.caducee.test",),
    )
    certificate = issue_certificate(
        ca,
        key.public_key(),
        profile,
        holder,
        validity=validity,
        now=now,
    )
    return key, certificate


def _chain(root_key: PrivateKey, issuing_kind: KeyKind, leaf_kind: KeyKind | None) -> Chain:
    start = NOW - dt.timedelta(days=400)
    root = create_root_ca("Caducée Racine Essai", URLS, key=root_key, now=start)
    issuing = create_issuing_ca(root, "Caducée AC Essai", kind=issuing_kind, now=start)
    key, leaf = _person(issuing, leaf_kind)
    crl_time = NOW - dt.timedelta(hours=1)
    return Chain(
        root,
        issuing,
        key,
        leaf,
        build_crl(issuing, [], 1, now=crl_time),
        build_crl(root, [], 1, now=crl_time, lifetime=dt.timedelta(days=30)),
    )


@dataclass
class Case:
    """Inputs both sides check; ``None`` CRLs are absent."""

    leaf: x509.Certificate | bytes
    issuing: x509.Certificate
    root: x509.Certificate
    issuing_crl: x509.CertificateRevocationList | bytes | None
    root_crl: x509.CertificateRevocationList | None
    statement: bytes | None = None
    expected: str = "ok"
    extra: dict[str, Any] = field(default_factory=dict)

    def leaf_der(self) -> bytes:
        return self.leaf if isinstance(self.leaf, bytes) else _der(self.leaf)

    def crl_der(self) -> bytes | None:
        crl = self.issuing_crl
        return crl if isinstance(crl, bytes) or crl is None else _der(crl)

    def js(self) -> dict[str, str | None]:
        crl = self.crl_der()
        return {
            "leaf": _b64(self.leaf_der()),
            "issuing": _b64(_der(self.issuing)),
            "root": _b64(_der(self.root)),
            "issuing_crl": None if crl is None else _b64(crl),
            "root_crl": None if self.root_crl is None else _b64(_der(self.root_crl)),
            "statement": None if self.statement is None else _b64(self.statement),
        }


def python_verdict(case: Case) -> str:
    """What the agent's validator (and device check) says of the same bytes."""
    crls = [] if case.root_crl is None else [case.root_crl]
    der = case.crl_der()
    if der is not None:
        with contextlib.suppress(ValueError):  # unreadable: none, as HTTPRevocationSource says
            crls.append(x509.load_der_x509_crl(der))
    validator = PathValidator(
        [case.root], intermediates=[case.issuing], revocation=StaticRevocationSource(crls)
    )
    try:
        leaf = x509.load_der_x509_certificate(case.leaf_der())
        validator.validate(leaf, purpose=KeyPurpose.EMAIL_SIGNATURE, at=NOW)
        if case.statement is None:
            return "ok"
        device = verify_device_statement(case.statement, leaf)
        return f"device {device.device_id}"
    except CryptoError as exc:
        return exc.code
    except InstantCryptoError as exc:
        return exc.code
    except ValueError:
        return "malformed-certificate"


def _flip_in_tbs(certificate: x509.Certificate) -> bytes:
    """The certificate with one letter of its e-mail address changed: still DER, signed no more."""
    der = bytearray(_der(certificate))
    at = der.find(b"dr.bob.x509")
    der[at + 3] ^= 0x01  # "b" → "c"
    return bytes(der)


def _statement(chain: Chain, address: str, device_id: str) -> bytes:
    device = DeviceKeys.generate(device_id, address, kem=Kem.X25519)
    return certify_device(device.public(), chain.key)


def build_cases() -> dict[str, Case]:
    """Every outcome: good RSA, EC and P-384 chains, then one fault each."""
    rsa_chain = _chain(generate_private_key(KeyKind.RSA_2048), KeyKind.RSA_2048, KeyKind.RSA_2048)
    ec_chain = _chain(generate_private_key(KeyKind.EC_P256), KeyKind.EC_P256, KeyKind.EC_P256)
    p384 = ec.generate_private_key(ec.SECP384R1())
    mixed = _chain(p384, KeyKind.RSA_2048, None)
    _, p384_leaf = _person(mixed.issuing, key=ec.generate_private_key(ec.SECP384R1()))
    mixed.leaf = p384_leaf
    # Another operator with the very same names, as a server forging certificates would make.
    rogue = _chain(generate_private_key(KeyKind.EC_P256), KeyKind.EC_P256, KeyKind.EC_P256)
    c = ec_chain
    base = {"issuing": c.issuing.certificate, "root": c.root.certificate, "root_crl": c.root_crl}

    def case(**changes: Any) -> Case:
        fields: dict[str, Any] = {"leaf": c.leaf, "issuing_crl": c.issuing_crl, **base}
        fields.update(changes)
        return Case(**fields)

    _, expired = _person(c.issuing, now=NOW - dt.timedelta(days=100), validity=dt.timedelta(30))
    _, future = _person(c.issuing, now=NOW + dt.timedelta(days=2))
    _, tls = _person(c.issuing, profile=Profile.SERVER_TLS)
    revoked = build_crl(c.issuing, [RevokedEntry(c.leaf.serial_number, NOW)], 2, now=NOW)
    ca_revoked = build_crl(
        c.root, [RevokedEntry(c.issuing.certificate.serial_number, NOW)], 2, now=NOW
    )
    stale = build_crl(c.issuing, [], 3, now=NOW - dt.timedelta(days=3))
    ahead = build_crl(c.issuing, [], 4, now=NOW + dt.timedelta(hours=2))
    forger = CertificateAuthority(
        c.issuing.certificate, generate_private_key(KeyKind.EC_P256), URLS, c.issuing.chain
    )
    forged_crl = build_crl(forger, [], 5, now=NOW)
    rsa: dict[str, Any] = {
        "leaf": rsa_chain.leaf,
        "issuing": rsa_chain.issuing.certificate,
        "root": rsa_chain.root.certificate,
        "issuing_crl": rsa_chain.issuing_crl,
        "root_crl": rsa_chain.root_crl,
    }
    return {
        "rsa-good": Case(**rsa),
        "rsa-device": Case(
            **rsa, statement=_statement(rsa_chain, BOB, "bob-rsa"), expected="device bob-rsa"
        ),
        "ec-good": case(),
        "ec-device": case(statement=_statement(c, BOB, "bob-ec"), expected="device bob-ec"),
        "p384-leaf-under-rsa-ca-under-p384-root": Case(
            leaf=mixed.leaf,
            issuing=mixed.issuing.certificate,
            root=mixed.root.certificate,
            issuing_crl=mixed.issuing_crl,
            root_crl=mixed.root_crl,
        ),
        "expired": case(leaf=expired, expected="certificate-expired"),
        "not-yet-valid": case(leaf=future, expected="certificate-expired"),
        "tls-certificate-not-for-email": case(leaf=tls, expected="key-usage-not-allowed"),
        "other-ca-same-names": case(
            leaf=rogue.leaf,
            issuing=rogue.issuing.certificate,
            issuing_crl=rogue.issuing_crl,
            expected="certificate-untrusted",
        ),
        "other-ca-leaf-with-our-issuing": case(leaf=rogue.leaf, expected="certificate-untrusted"),
        "another-pinned-root": case(root=rogue.root.certificate, expected="certificate-untrusted"),
        "bad-signature": case(leaf=_flip_in_tbs(c.leaf), expected="certificate-untrusted"),
        "revoked": case(issuing_crl=revoked, expected="certificate-revoked"),
        "issuing-ca-revoked": case(root_crl=ca_revoked, expected="certificate-revoked"),
        "crl-expired": case(issuing_crl=stale, expected="revocation-unknown"),
        "crl-from-the-future": case(issuing_crl=ahead, expected="revocation-unknown"),
        "crl-signed-by-another-key": case(issuing_crl=forged_crl, expected="revocation-unknown"),
        "crl-of-another-ca": case(issuing_crl=rogue.issuing_crl, expected="revocation-unknown"),
        "crl-missing": case(issuing_crl=None, expected="revocation-unknown"),
        "crl-unreadable": case(issuing_crl=b"\x30\x03\x02\x01", expected="revocation-unknown"),
        "wrong-email": case(
            statement=_statement(c, "dr.mallory@caducee.test", "mallory-1"),
            expected="instant-forged-device",
        ),
        "statement-of-another-key": case(
            statement=_statement(rogue, BOB, "bob-rogue"), expected="instant-forged-device"
        ),
    }


@dataclass
class Vectors:
    page: Page
    cases: dict[str, Case]


@pytest.fixture(scope="module")
def vectors() -> Iterator[Vectors]:
    cases = build_cases()
    with chromium() as browser:
        page = module_page(browser, ORIGIN, PAGE, "window.x509 !== undefined")
        yield Vectors(page, cases)


def _now_ms() -> int:
    return int(NOW.timestamp() * 1000)


def test_each_case_gives_the_expected_outcome_in_chromium_and_in_python(vectors: Vectors) -> None:
    js = {name: case.js() for name, case in vectors.cases.items()}
    browser = vectors.page.evaluate(VALIDATE, {"cases": js, "now": _now_ms()})
    python = {name: python_verdict(case) for name, case in vectors.cases.items()}
    expected = {name: case.expected for name, case in vectors.cases.items()}
    assert browser == expected
    assert python == expected


def test_a_certificate_is_read_as_python_reads_it(vectors: Vectors) -> None:
    case = vectors.cases["rsa-good"]
    leaf = case.leaf
    assert isinstance(leaf, x509.Certificate)
    read = vectors.page.evaluate(
        """(b64) => {
          const c = new x509.Certificate(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
          return { serial: c.serial, emails: c.emails, notBefore: c.notBefore,
                   notAfter: c.notAfter, subject: c.subject.text, issuer: c.issuer.text,
                   usage: [...c.keyUsage].sort(), ca: c.basicConstraints.ca,
                   spki: btoa(String.fromCharCode(...c.spki)) };
        }""",
        case.js()["leaf"],
    )
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert read == {
        "serial": f"{leaf.serial_number:x}",
        "emails": [BOB],
        "notBefore": int(leaf.not_valid_before_utc.timestamp() * 1000),
        "notAfter": int(leaf.not_valid_after_utc.timestamp() * 1000),
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "usage": ["digitalSignature", "keyEncipherment"],
        "ca": False,
        "spki": _b64(spki),
    }


def test_the_time_decides_expiry_both_ways(vectors: Vectors) -> None:
    """The same good certificate, checked a day after it expired: refused on both sides."""
    case = vectors.cases["ec-good"]
    leaf = case.leaf
    assert isinstance(leaf, x509.Certificate)
    later = leaf.not_valid_after_utc + dt.timedelta(days=1)
    verdict = vectors.page.evaluate(
        VALIDATE, {"cases": {"late": case.js()}, "now": int(later.timestamp() * 1000)}
    )
    assert verdict == {"late": "certificate-expired"}


# -- fuzzing ----------------------------------------------------------------------------------

FUZZ = """async ({ samples, leafIndex, seed, randomCount, now, authority }) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const good = {
    root: await x509.readRoot(bytes(authority.root)),
    issuing: new x509.Certificate(bytes(authority.issuing)),
    issuingCrl: x509.readCrl(bytes(authority.issuing_crl)),
    rootCrl: x509.readCrl(bytes(authority.root_crl)),
  };
  let state = seed >>> 0;
  const next = () => {  // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const inputs = samples.map(bytes);
  for (let i = 0; i < randomCount; i++) {
    const n = Math.floor(next() * 400);
    const b = new Uint8Array(n);
    for (let j = 0; j < n; j++) b[j] = Math.floor(next() * 256);
    if (n > 0 && next() < 0.5) b[0] = 0x30;  // a SEQUENCE, to get past the first byte
    inputs.push(b);
  }
  const verdicts = { refused: 0, accepted: [], crashed: [] };
  for (let i = 0; i < inputs.length; i++) {
    const data = inputs[i];
    try {
      if (i < leafIndex) {
        const leaf = new x509.Certificate(data);
        await x509.validatePersonCertificate(leaf, good, now);
      } else if (i < samples.length) {
        const crl = new x509.Crl(data);
        const leaf = new x509.Certificate(bytes(authority.leaf));
        await x509.validatePersonCertificate(leaf, { ...good, issuingCrl: crl }, now);
      } else {
        await x509.validatePersonCertificate(new x509.Certificate(data), good, now);
      }
      verdicts.accepted.push(i);
    } catch (e) {
      if (e instanceof errors.UntrustedCertificate) verdicts.refused += 1;
      else verdicts.crashed.push(`${i}: ${e}`);
    }
    try {
      new x509.Crl(data);
      x509.readCrl(data);
    } catch (e) {
      if (!(e instanceof errors.UntrustedCertificate)) verdicts.crashed.push(`crl ${i}: ${e}`);
    }
  }
  return verdicts;
}"""


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random change that always changes the bytes: flips, a cut, an insertion, a splice."""
    out = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(out))
            out[at] ^= rng.randint(1, 255)
    elif kind == 1:
        del out[rng.randrange(len(out)) :]
    elif kind == 2:
        at = rng.randrange(len(out) + 1)
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif kind == 3:
        at = rng.randrange(len(out))
        out[at] = rng.choice([0x00, 0x80, 0x81, 0x82, 0x84, 0xFF, 0x1F, 0xA0, 0x30])
    else:
        a, b = sorted(rng.sample(range(len(out)), 2))
        out[a:b] = out[a:b] * 2 if rng.random() < 0.5 else b""
    mutated = bytes(out)
    return mutated if mutated != data else mutated + b"\x00"


def test_fuzzed_certificates_and_crls_are_refused_with_the_core_error(vectors: Vectors) -> None:
    rng = random.Random(20260601)
    cases = vectors.cases
    sources = [cases[n].leaf_der() for n in ("rsa-good", "ec-good")]
    crls = [cases["ec-good"].crl_der(), _der(cases["revoked"].issuing_crl)]  # type: ignore[arg-type]
    leaves = [_mutate(rng.choice(sources), rng) for _ in range(1500)]
    revocation_lists = [_mutate(rng.choice(crls), rng) for _ in range(700)]  # type: ignore[arg-type]
    good = cases["ec-good"].js()
    verdicts = vectors.page.evaluate(
        FUZZ,
        {
            "samples": [_b64(s) for s in leaves + revocation_lists],
            "leafIndex": len(leaves),
            "seed": 7,
            "randomCount": 2000,
            "now": _now_ms(),
            "authority": good,
        },
    )
    assert verdicts["crashed"] == []
    assert verdicts["accepted"] == []
    assert verdicts["refused"] == len(leaves) + len(revocation_lists) + 2000
    # Python refuses every mutated certificate too (the two agree on these inputs).
    base = cases["ec-good"]
    for index in rng.sample(range(len(leaves)), 200):
        mutated = Case(leaves[index], base.issuing, base.root, base.issuing_crl, base.root_crl)
        assert python_verdict(mutated) != "ok", index
