"""The desktop's additions to the sender-key core, and the check of other people's devices,
without a server: a chain starts at a fresh generation and is sealed to the device itself (a
restarted device reads its own messages, a stale key never winds a chain back, a key "from
itself" signed by another device is refused); the scheduled rotation's clock; a listed device
is kept only when a certificate of its address vouches for it (statement or endorsement), and
only when the evidence log proves that certificate.

SYNTHETIC TEST MATERIAL: throwaway self-signed certificates and device keys.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from cryptography import x509

from caducee.agent.errors import CertificateNotInLog
from caducee.agent.instant.cipher import CaseCipher, RotationLimits, generation_of
from caducee.agent.instant.peers import PeerDevices
from caducee.agent.transparency import CertificateLog, certificate_sha256
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.endorsement import endorse_device
from caducee.instant.errors import InstantSignatureInvalid, UnknownSenderKey
from caducee.instant.sender_keys import SenderKeyGroup
from tests.instant.conftest import make_person

CASE = "6f0c7a1e-0000-4000-8000-000000000001"


def device(name: str, address: str = "dr.a@synthetic.caducee.test") -> DeviceKeys:
    return DeviceKeys.generate(name, address, kem=Kem.X25519)


def test_a_restarted_device_reads_its_own_messages() -> None:
    mine, theirs = device("a-desktop"), device("b-phone", "dr.b@synthetic.caducee.test")
    first = CaseCipher(CASE, mine)
    first.add_members([theirs.public()])
    sealed = first.new_generation((), at_least=1_000)
    assert first.generation == 1_000
    assert [d.recipient_device_id for d in sealed] == ["a-desktop", "b-phone"]
    messages = [first.encrypt(f"message {n}".encode()) for n in range(3)]
    assert generation_of(messages[0]) == ("a-desktop", 1_000)
    assert generation_of(sealed[0].payload) == ("a-desktop", 1_000)
    assert generation_of(b"garbage") is None

    reader = SenderKeyGroup(CASE, theirs, [mine.public()])
    reader.receive_key(sealed[1].payload)
    assert [reader.decrypt(m).plaintext for m in messages] == [
        b"message 0",
        b"message 1",
        b"message 2",
    ]

    restarted = CaseCipher(CASE, mine)  # a new process, the same device keys
    with pytest.raises(UnknownSenderKey):
        restarted.decrypt(messages[0])
    restarted.receive_key(sealed[0].payload)
    assert restarted.decrypt(messages[0]).plaintext == b"message 0"
    restarted.receive_key(sealed[0].payload)  # replayed: does not wind the chain back
    assert restarted.decrypt(messages[2]).plaintext == b"message 2"
    # The new session's chain starts above the old one, and receivers take it.
    restarted.add_members([theirs.public()])
    again = restarted.new_generation((), at_least=10)
    assert restarted.generation == 1_001
    reader.receive_key(next(d for d in again if d.recipient_device_id == "b-phone").payload)
    assert reader.decrypt(restarted.encrypt(b"session 2")).plaintext == b"session 2"


def test_a_key_from_oneself_signed_by_another_device_is_refused() -> None:
    mine, other = device("a-desktop"), device("a-desktop")  # same id, other keys
    forged = CaseCipher(CASE, other).new_generation((), at_least=5)[0]
    with pytest.raises(InstantSignatureInvalid):
        CaseCipher(CASE, mine).receive_key(forged.payload)


def test_the_scheduled_rotation_clock() -> None:
    now = [0.0]
    cipher = CaseCipher(CASE, device("a"), limits=RotationLimits(2, 60.0, lambda: now[0]))
    assert cipher.rotation_due()  # nothing started in this session yet
    cipher.new_generation((), at_least=1)
    cipher.encrypt(b"1")
    assert not cipher.rotation_due()
    cipher.encrypt(b"2")
    assert cipher.rotation_due() and cipher.encrypted == 2
    cipher.new_generation((), at_least=1)
    assert not cipher.rotation_due()
    now[0] = 61.0
    assert cipher.rotation_due()
    with pytest.raises(ValueError):
        RotationLimits(0)


class _Listing:
    """The server's answers, as a device session and the person's client give them."""

    def __init__(self, devices: list[dict[str, Any]], certificates: list[Any]) -> None:
        self.devices = devices
        self.found = certificates

    def json(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        assert (method, path) == ("GET", "/people/dr.a@synthetic.caducee.test/devices")
        return {"devices": self.devices}

    def certificates(self, address: str) -> list[Any]:
        return self.found


def test_a_listed_device_is_kept_only_when_a_certificate_vouches_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    person = make_person("dr.a@synthetic.caducee.test", "ec")
    impostor = make_person("dr.a@synthetic.caducee.test", "ec")
    stranger = make_person("dr.z@synthetic.caducee.test", "ec")
    good, phone, forged = device("good"), device("phone"), device("forged")
    elsewhere = device("elsewhere", "dr.z@synthetic.caducee.test")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    listed = [
        {"statement": b64(certify_device(good.public(), person.key))},
        {"statement": b64(certify_device(forged.public(), impostor.key))},
        {"statement": b64(certify_device(elsewhere.public(), stranger.key))},
        {
            "statement": b64(endorse_device(phone.public(), good)),
            "endorsed_by": "good",
            "endorser_statement": b64(certify_device(good.public(), person.key)),
        },
        {
            "statement": b64(endorse_device(device("p2").public(), forged)),
            "endorsed_by": "forged",
            "endorser_statement": b64(certify_device(forged.public(), impostor.key)),
        },
        {"statement": "not base64!"},
    ]
    answers = _Listing(listed, [person.cert])
    peers = PeerDevices(answers, answers, None)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        found = peers.devices("dr.a@synthetic.caducee.test")
    assert sorted(found) == ["good", "phone"]
    assert found["phone"].signing_public == phone.public().signing_public
    assert caplog.text.count("left out") == 4
    assert peers.devices("DR.A@synthetic.caducee.test") is found  # kept until asked fresh


class _Log(CertificateLog):
    """The evidence log's verdicts, without a server: it proves ``proven`` only."""

    def __init__(self, proven: x509.Certificate) -> None:
        self.proven = certificate_sha256(proven)
        self.asked: list[tuple[str, str]] = []

    def check(self, certificate: x509.Certificate, address: str) -> None:
        self.asked.append((certificate_sha256(certificate), address))
        if certificate_sha256(certificate) != self.proven:
            raise CertificateNotInLog("not in the log / absent du journal")


def test_a_device_whose_certificate_the_log_does_not_prove_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logged = make_person("dr.a@synthetic.caducee.test", "ec")
    unlogged = make_person("dr.a@synthetic.caducee.test", "ec")  # in the directory only
    good, sneaky = device("good"), device("sneaky")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    listed = [
        {"statement": b64(certify_device(good.public(), logged.key))},
        {"statement": b64(certify_device(sneaky.public(), unlogged.key))},
        {  # endorsed by a device the unlogged certificate vouches for
            "statement": b64(endorse_device(device("sneaky-phone").public(), sneaky)),
            "endorsed_by": "sneaky",
            "endorser_statement": b64(certify_device(sneaky.public(), unlogged.key)),
        },
        {  # endorsed by a device the logged certificate vouches for
            "statement": b64(endorse_device(device("phone").public(), good)),
            "endorsed_by": "good",
            "endorser_statement": b64(certify_device(good.public(), logged.key)),
        },
    ]
    answers = _Listing(listed, [unlogged.cert, logged.cert])
    proofs = _Log(logged.cert)
    peers = PeerDevices(answers, answers, None, certificate_log=proofs)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        found = peers.devices("dr.a@synthetic.caducee.test")
    assert sorted(found) == ["good", "phone"]
    assert {address for _, address in proofs.asked} == {"dr.a@synthetic.caducee.test"}
    refused = [r.getMessage() for r in caplog.records if "evidence log" in r.getMessage()]
    assert len(refused) == 2 and all(
        certificate_sha256(unlogged.cert)[:16] in m and "left out" in m for m in refused
    )
    assert "device sneaky of" in refused[0] and "device sneaky-phone of" in refused[1]
