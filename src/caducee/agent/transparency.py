"""Key transparency on the sending side: encrypt only for certificates the evidence log holds.

Before a message is encrypted for a recipient certificate, the agent asks the server for the
receipts of that certificate (``GET /api/v1/ledger/certificates/{sha256}``) and verifies them
offline against the log key it pinned at ``init`` (DESIGN §4): the ``CertificateIssued``
record must be in the signed tree, name this very certificate and this very address, and no
``CertificateRevoked`` record may follow. A certificate the operator slipped into the
directory without logging it (a substituted key) is refused. A positive answer is kept for
the life of the process (issuance is append-only; revocation is also checked in the CRL).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from caducee.agent.client import ServerClient
from caducee.agent.errors import CertificateNotInLog, ServerError
from caducee.ledger import (
    EvidenceEvent,
    EvidenceRecord,
    LedgerError,
    NoteVerifierKey,
    verify_receipt,
)

__all__ = ["CertificateLog", "certificate_sha256"]

log = logging.getLogger(__name__)


def certificate_sha256(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, hex: how the log names a certificate."""
    return certificate.fingerprint(hashes.SHA256()).hex()


class CertificateLog:
    """Checks recipient certificates against the evidence log (thread-safe, cached)."""

    def __init__(self, client: ServerClient, log_key: Callable[[], NoteVerifierKey]) -> None:
        self.client = client
        self.log_key = log_key
        self._proven: set[str] = set()
        self._lock = threading.Lock()

    def check(self, certificate: x509.Certificate, address: str) -> None:
        """Return if the log proves ``certificate`` issued to ``address`` and not revoked;
        else raise :class:`CertificateNotInLog` with the reason."""
        sha256 = certificate_sha256(certificate)
        with self._lock:
            if sha256 in self._proven:
                return
        try:
            answer = self.client.ledger_certificate(sha256)
        except ServerError as exc:
            if exc.status == 404:
                log.error("certificate %s of %s is not in the evidence log", sha256[:16], address)
                raise CertificateNotInLog(
                    f"the certificate {sha256[:16]}… of {address} is not in the evidence log: "
                    "not encrypted for it (tell the operator) / certificat absent du journal de "
                    "preuves : rien n'est chiffré pour lui (prévenez l'opérateur)"
                ) from None
            raise
        issued = self._verified(answer.get("issued"), sha256, "issuance")
        if issued.event is not EvidenceEvent.CERTIFICATE_ISSUED:
            raise self._refusal(sha256, address, "its issuance receipt is of another event")
        if issued.extra.get("subject_address", "").lower() != address.lower():
            raise self._refusal(sha256, address, "the log issued it to another address")
        if answer.get("revoked") is not None:
            revoked = self._verified(answer["revoked"], sha256, "revocation")
            if revoked.event is EvidenceEvent.CERTIFICATE_REVOKED:
                raise self._refusal(sha256, address, "the log records it as revoked")
            raise self._refusal(sha256, address, "its revocation receipt is of another event")
        with self._lock:
            self._proven.add(sha256)
        log.info("certificate %s of %s proven in the evidence log", sha256[:16], address)

    def _verified(self, receipt: Any, sha256: str, what: str) -> EvidenceRecord:
        """The record of a receipt verified offline against the pinned key, about ``sha256``."""
        if not isinstance(receipt, dict):
            raise self._refusal(sha256, "?", f"the server gave no {what} receipt")
        try:
            verified = verify_receipt(json.dumps(receipt).encode("utf-8"), log_key=self.log_key())
        except LedgerError as exc:
            why = f"its {what} receipt does not verify: {exc.reason}"
            raise self._refusal(sha256, "?", why) from None
        if verified.record.ciphertext_sha256 != sha256:
            raise self._refusal(sha256, "?", f"the {what} receipt is about another certificate")
        return verified.record

    @staticmethod
    def _refusal(sha256: str, address: str, why: str) -> CertificateNotInLog:
        log.error("certificate %s refused by key transparency: %s", sha256[:16], why)
        return CertificateNotInLog(
            f"the certificate {sha256[:16]}… ({address}) is refused: {why} / certificat refusé "
            "par le journal de preuves"
        )
