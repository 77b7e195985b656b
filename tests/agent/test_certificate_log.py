"""Key transparency's every refusal, against an evidence log the test controls.

The log is the pure ledger core in memory (signed records, an RFC 9162 tree, a signed
checkpoint) served through ``httpx.MockTransport``, so the test can make it hold a revoked
certificate, a certificate for another address, or answer about another certificate; the
real endpoints are exercised in ``test_transparency.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from caducee.agent.client import ServerClient
from caducee.agent.errors import CertificateNotInLog
from caducee.agent.transparency import CertificateLog, certificate_sha256
from caducee.ledger import (
    Checkpoint,
    EvidenceEvent,
    EvidenceRecord,
    InMemoryTree,
    NoteVerifierKey,
    Receipt,
    SignedRecord,
    sign_checkpoint,
    sign_record,
)
from caducee.ledger.merkle import inclusion_proof

ORIGIN = "caducee.test/caducee-log"
GP = "dr.testeur@caducee.test"
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _certificate(name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


@dataclass
class FakeLog:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    tree: InMemoryTree = field(default_factory=InMemoryTree)
    leaves: list[SignedRecord] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def verifier(self) -> NoteVerifierKey:
        return NoteVerifierKey.from_public_key(ORIGIN, self.key.public_key())

    def append(self, event: EvidenceEvent, sha256: str, address: str = GP) -> int:
        extra = {"certificate_sha256": sha256, "subject_address": address}
        record = EvidenceRecord(
            event=event, message_id=f"certificate:{sha256}", ciphertext_sha256=sha256,
            actor_id="CN=Emettrice Fictive", time=NOW, recipient_ids=(address,), extra=extra,
        )  # fmt: skip
        signed = sign_record(record, self.key)
        self.leaves.append(signed)
        return self.tree.append(signed.to_leaf_data())

    def receipt(self, index: int) -> dict[str, Any]:
        size = self.tree.size
        note = sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(size)), self.key, ORIGIN)
        proof = tuple(inclusion_proof(self.tree, index, size))
        return Receipt(self.leaves[index], index, size, proof, note).to_json_dict()

    def handler(self, request: httpx.Request) -> httpx.Response:
        sha256 = request.url.path.rsplit("/", 1)[-1]
        self.asked.append(sha256)
        if sha256 not in self.answers:
            return httpx.Response(404, json={"code": "certificate-not-in-log"})
        return httpx.Response(200, json=self.answers[sha256])


def _checker(log: FakeLog, key: NoteVerifierKey | None = None) -> CertificateLog:
    client = ServerClient(
        "http://server.test", transport=httpx.MockTransport(log.handler), retries=0
    )
    client._token = "jeton"  # the fake server does not check it
    client._expires_at = NOW.replace(year=2099)
    return CertificateLog(client, lambda: key or log.verifier)


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


def test_a_logged_certificate_passes_and_is_asked_for_once(log: FakeLog) -> None:
    cert = _certificate("gp")
    sha = certificate_sha256(cert)
    log.answers[sha] = {"issued": log.receipt(log.append(EvidenceEvent.CERTIFICATE_ISSUED, sha)),
                        "revoked": None}  # fmt: skip
    checker = _checker(log)
    checker.check(cert, GP)
    checker.check(cert, GP.upper())
    assert log.asked == [sha]  # the positive answer is cached


def _refused(checker: CertificateLog, cert: x509.Certificate, address: str = GP) -> str:
    with pytest.raises(CertificateNotInLog) as caught:
        checker.check(cert, address)
    assert caught.value.code == "certificate-not-in-log"
    return caught.value.reason


def test_absent_revoked_or_for_another_address_is_refused(log: FakeLog) -> None:
    absent, revoked, elsewhere = _certificate("a"), _certificate("b"), _certificate("c")
    sha_b, sha_c = certificate_sha256(revoked), certificate_sha256(elsewhere)
    issued_b = log.append(EvidenceEvent.CERTIFICATE_ISSUED, sha_b)
    issued_c = log.append(EvidenceEvent.CERTIFICATE_ISSUED, sha_c, "autre@caducee.test")
    revoked_b = log.append(EvidenceEvent.CERTIFICATE_REVOKED, sha_b)
    log.answers[sha_b] = {"issued": log.receipt(issued_b), "revoked": log.receipt(revoked_b)}
    log.answers[sha_c] = {"issued": log.receipt(issued_c), "revoked": None}
    checker = _checker(log)
    assert "not in the evidence log" in _refused(checker, absent)
    assert "revoked" in _refused(checker, revoked)
    assert "another address" in _refused(checker, elsewhere)
    assert "another address" in _refused(checker, elsewhere)  # refusals are not cached
    assert log.asked.count(sha_c) == 2


def test_a_receipt_about_another_certificate_or_another_log_is_refused(log: FakeLog) -> None:
    asked, other = _certificate("asked"), _certificate("other")
    index = log.append(EvidenceEvent.CERTIFICATE_ISSUED, certificate_sha256(other))
    log.answers[certificate_sha256(asked)] = {"issued": log.receipt(index), "revoked": None}
    assert "another certificate" in _refused(_checker(log), asked)

    mine = _certificate("mine")
    sha = certificate_sha256(mine)
    log.answers[sha] = {"issued": log.receipt(log.append(EvidenceEvent.CERTIFICATE_ISSUED, sha)),
                        "revoked": None}  # fmt: skip
    stranger = FakeLog().verifier  # the key this agent pinned is another log's
    assert "does not verify" in _refused(_checker(log, stranger), mine)


def test_a_tampered_receipt_is_refused(log: FakeLog) -> None:
    cert = _certificate("gp")
    sha = certificate_sha256(cert)
    receipt = log.receipt(log.append(EvidenceEvent.CERTIFICATE_ISSUED, sha))
    receipt["record"]["record"]["time"] = "2026-01-02T03:04:06Z"  # a record changed afterwards
    log.answers[sha] = {"issued": receipt, "revoked": None}
    assert "does not verify" in _refused(_checker(log), cert)
    log.answers[sha] = {"issued": None, "revoked": None}
    assert "no issuance receipt" in _refused(_checker(log), cert)
