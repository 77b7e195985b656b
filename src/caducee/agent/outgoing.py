"""Sending one document: inner message, recipient certificates, sign-then-encrypt, submit.

The inner RFC 5322 message (encrypted, so it may carry the file name) has a short text part
and the file (and any companion, such as the PDF beside an HPRIM report) as
``application/octet-stream`` attachments, byte for byte, under unique names. Before anything
is encrypted, the content policy is applied: a STRICT rule raises ``ContentRefused``, an
ADVISORY one is logged (rule codes and digests) and kept in ``Prepared.warnings``. The
outer envelope the server sees has the neutral subject only. Every recipient certificate
given by the directory is validated first (chain to the pinned root, not revoked, fit for
encryption); the sender's own certificate is added so the sent copy stays readable. The
directory's answer is kept for ``DIRECTORY_CACHE_SECONDS`` (as long as the CRLs), but every
certificate is validated again for each message. With a ``CertificateLog``, a valid
certificate that the evidence log does not prove (absent, revoked there, bad proof) refuses
the whole message: a substituted key is never encrypted for.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from cryptography import x509

from caducee.agent.client import ServerClient
from caducee.agent.errors import RecipientError
from caducee.agent.inner import build_inner_message
from caducee.agent.transparency import CertificateLog
from caducee.agent.trust import smime_to_der
from caducee.crypto.cms_sign import SignerKey
from caducee.crypto.errors import CertificateError
from caducee.crypto.smime import NEUTRAL_SUBJECT, build_smime
from caducee.crypto.trust import CertificateValidator, KeyPurpose
from caducee.formats.sniff import FileKind
from caducee.policy.content import ContentPolicy, Part, enforce_outgoing
from caducee.policy.errors import ContentRefused

__all__ = ["Prepared", "SendResult", "Sender", "build_inner_message", "new_message_id"]

log = logging.getLogger(__name__)
DIRECTORY_CACHE_SECONDS = 60.0


def new_message_id(address: str) -> str:
    """A fresh, globally unique message id (RFC 5322 §3.6.4, without angle brackets)."""
    domain = address.rsplit("@", 1)[-1] or "caducee.invalid"
    return f"{uuid.uuid4().hex}@{domain}"


@dataclass(frozen=True)
class SendResult:
    """What the server accepted: ids and digests only; ``held`` is the reason a moderator
    must release it first (a 202 answer: kept, not delivered yet), else empty."""

    message_id: str
    recipients: tuple[str, ...]
    ciphertext_sha256: str
    held: str = ""


@dataclass(frozen=True)
class Prepared:
    """A signed and encrypted message ready to submit (kept to resubmit the same bytes)."""

    message_id: str
    recipients: tuple[str, ...]
    date: str
    der: bytes
    warnings: tuple[str, ...] = ()  # the ADVISORY rules that fired


class Sender:
    """Signs with the agent's key and encrypts for validated recipient certificates."""

    def __init__(
        self,
        client: ServerClient,
        *,
        address: str,
        certificate: x509.Certificate,
        key: SignerKey,
        validator: CertificateValidator,
        extra_certs: Sequence[x509.Certificate] = (),
        policy: Callable[[], ContentPolicy] | None = None,
        certificate_log: CertificateLog | None = None,
    ) -> None:
        self.client = client
        self.address = address.lower()
        self.certificate = certificate
        self.key = key
        self.validator = validator
        self.extra_certs = tuple(extra_certs)
        self.policy = policy
        self.certificate_log = certificate_log
        self._directory: dict[str, tuple[float, list[x509.Certificate]]] = {}
        self._directory_lock = threading.Lock()

    def directory_certificates(self, address: str) -> list[x509.Certificate]:
        """The directory's certificates for ``address`` (asked again after a minute)."""
        now = time.monotonic()
        with self._directory_lock:
            cached = self._directory.get(address)
        if cached is not None and now - cached[0] < DIRECTORY_CACHE_SECONDS:
            return cached[1]
        found = self.client.certificates(address)
        with self._directory_lock:
            self._directory[address] = (now, found)
        return found

    def check_content(
        self, filename: str, data: bytes, companions: Sequence[tuple[str, bytes]] = ()
    ) -> tuple[str, ...]:
        """Apply the content policy: raise ``ContentRefused`` (STRICT), else the warnings.

        Every outgoing file is taken as a result; one that is HPRIM must name its patient.
        """
        if self.policy is None:
            return ()
        parts = [Part(filename, data), *(Part(n, d) for n, d in companions)]
        about_patient = any(p.kind in (FileKind.HPRIM, FileKind.HPRIM_SANTE) for p in parts)
        digest = hashlib.sha256(data).hexdigest()[:16]
        try:
            verdict = enforce_outgoing(parts, self.policy(), about_patient=about_patient)
        except ContentRefused as exc:
            rules = ",".join(sorted({str(getattr(f, "rule", "")) for f in exc.findings}))
            log.warning("content policy refused file %s (%s)", digest, rules)
            raise
        warnings = tuple(sorted({f.rule.value for f in verdict.warnings}))
        if warnings:
            log.warning("content policy: file %s sent with advisory %s", digest, ",".join(warnings))
        return warnings

    def recipient_certificates(self, addresses: Sequence[str]) -> list[x509.Certificate]:
        """The directory's certificates for each address, each validated; at least one each."""
        chosen: list[x509.Certificate] = []
        for address in addresses:
            accepted: list[x509.Certificate] = []
            reasons: list[str] = []
            for cert in self.directory_certificates(address):
                try:
                    chain = self.validator.validate(cert, purpose=KeyPurpose.EMAIL_ENCRYPTION)
                except CertificateError as exc:
                    reasons.append(exc.code)
                    continue
                if address.lower() not in chain.email_addresses:
                    reasons.append("address-mismatch")
                    continue
                if self.certificate_log is not None:  # key transparency: refused, not skipped
                    self.certificate_log.check(cert, address)
                accepted.append(cert)
            if not accepted:
                detail = f" ({', '.join(reasons)})" if reasons else ""
                raise RecipientError(
                    f"no valid certificate for {address}{detail}", code="no-valid-certificate"
                )
            chosen.extend(accepted)
        return chosen

    def prepare(
        self,
        recipients: Sequence[str],
        filename: str,
        data: bytes,
        *,
        message_id: str | None = None,
        companions: Sequence[tuple[str, bytes]] = (),
    ) -> Prepared:
        """Check the content, validate the recipients, build, sign, encrypt (nothing sent)."""
        to = [r.strip().lower() for r in recipients if r.strip()]
        if not to:
            raise RecipientError("no recipient")
        warnings = self.check_content(filename, data, companions)
        message_id = message_id or new_message_id(self.address)
        certs = self.recipient_certificates(to)
        now = datetime.now(UTC)
        inner = build_inner_message(
            sender=self.address,
            recipients=to,
            filename=filename,
            data=data,
            message_id=message_id,
            date=now,
            companions=companions,
        )
        smime = build_smime(
            inner,
            self.certificate,
            self.key,
            [*certs, self.certificate],
            extra_certs=self.extra_certs,
        )
        der = smime_to_der(smime)
        return Prepared(message_id, tuple(to), format_datetime(now), der, warnings)

    def submit(self, prepared: Prepared) -> SendResult:
        """Submit a prepared ciphertext; submitting the same one again is answered, not doubled."""
        answer = self.client.submit(
            message_id=prepared.message_id,
            sender=self.address,
            to=list(prepared.recipients),
            date=prepared.date,
            subject=NEUTRAL_SUBJECT,
            der=prepared.der,
        )
        digest = hashlib.sha256(prepared.der).hexdigest()
        held = str(answer.get("detail") or "held") if answer.get("status") == "held" else ""
        log.info(
            "submitted %s to %d recipient(s), sha256 %s%s",
            prepared.message_id,
            len(prepared.recipients),
            digest[:16],
            " (held for a moderator)" if held else "",
        )
        return SendResult(
            message_id=prepared.message_id,
            recipients=tuple(answer.get("recipients", prepared.recipients)),
            ciphertext_sha256=str(answer.get("ciphertext_sha256", digest)),
            held=held,
        )

    def send(
        self,
        recipients: Sequence[str],
        filename: str,
        data: bytes,
        *,
        message_id: str | None = None,
    ) -> SendResult:
        """Prepare then submit (the client retries the same bytes on network errors)."""
        return self.submit(self.prepare(recipients, filename, data, message_id=message_id))
