"""The certificates that speak for mailboxes: recorded, revoked, and made public.

Every certificate the operator CA issues or revokes is also an evidence record
(``CertificateIssued``, ``CertificateRevoked``) appended in the same transaction: key
transparency. An agent encrypts only for certificates it finds in the log, and watches the
log for certificates of its own mailbox that it did not ask for, so that a CA (or an operator)
issuing a certificate behind a person's back is caught.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.errors import InvalidEntry, UnknownCertificate, UnknownMailbox
from caducee.directory.models import CertificateStatus, Mailbox, MailboxCertificate
from caducee.evidence import EvidenceLog
from caducee.evidence.models import RecordRow
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.ledger.records import format_time
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = [
    "REVOCATION_REASONS",
    "CertificateEntry",
    "CertificateRegistry",
    "certificate_log_id",
]

log = logging.getLogger(__name__)
MAX_ACTOR = 1024
REVOCATION_REASONS = frozenset(
    {"unspecified", "key_compromise", "affiliation_changed", "superseded", "cessation_of_operation"}
)


def certificate_log_id(fingerprint_sha256: str) -> str:
    """The ``message_id`` under which a certificate's records are filed in the log."""
    return f"certificate:{fingerprint_sha256}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CertificateEntry:
    """One certificate of a mailbox and where its records are in the log."""

    serial_hex: str
    sha256: str
    not_after: datetime
    revoked_at: datetime | None
    issued_index: int | None
    revoked_index: int | None


class CertificateRegistry:
    """Records issued certificates and revocations, with their evidence when a log is set."""

    def __init__(
        self,
        database: Database,
        *,
        evidence: EvidenceLog | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.now = now

    async def record_issued(
        self,
        session: AsyncSession,
        mailbox: Mailbox,
        certificate: x509.Certificate,
    ) -> None:
        """Store a certificate for ``mailbox`` and its ``CertificateIssued`` record."""
        now = self.now()
        serial_hex = format(certificate.serial_number, "x")
        sha256 = certificate.fingerprint(hashes.SHA256()).hex()
        session.add(
            IssuedCertificate(
                serial_hex=serial_hex,
                profile=mailbox.kind,
                subject=certificate.subject.rfc4514_string()[:512],
                email=mailbox.address,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                fingerprint_sha256=sha256,
                der=certificate.public_bytes(serialization.Encoding.DER),
                created_at=now,
            )
        )
        await session.flush()
        session.add(
            MailboxCertificate(
                mailbox_id=mailbox.id,
                serial_hex=serial_hex,
                status=CertificateStatus.ACTIVE.value,
                attached_at=now,
            )
        )
        if self.evidence is not None:
            extra = {
                "certificate_sha256": sha256,
                "serial": serial_hex,
                "subject_address": mailbox.address,
                "not_after": format_time(certificate.not_valid_after_utc),
            }
            await self.evidence.append(
                session,
                EvidenceRecord(
                    event=EvidenceEvent.CERTIFICATE_ISSUED,
                    message_id=certificate_log_id(sha256),
                    ciphertext_sha256=sha256,
                    actor_id=certificate.issuer.rfc4514_string()[:MAX_ACTOR] or "ca",
                    time=now,
                    recipient_ids=(mailbox.address,),
                    extra=extra,
                ),
            )
        log.info("certificate %s issued to mailbox %s", serial_hex, mailbox.id)

    async def revoke(
        self, serial_hex: str, *, reason: str, actor: str, mailbox_id: int | None = None
    ) -> bool:
        """Revoke a certificate (``mailbox_id``: only if it is that mailbox's).

        Returns False when it was already revoked (idempotent); raises ``UnknownCertificate``
        for an unknown serial or another mailbox's certificate.
        """
        if reason not in REVOCATION_REASONS:
            raise InvalidEntry(
                f"unknown revocation reason {reason!r}: "
                f"one of {', '.join(sorted(REVOCATION_REASONS))}"
            )
        try:
            serial_hex = format(int(serial_hex.strip(), 16), "x")
        except ValueError:
            raise UnknownCertificate("a certificate serial is a hexadecimal number") from None
        now = self.now()
        async with self.database.transaction() as session:
            query = select(IssuedCertificate).where(IssuedCertificate.serial_hex == serial_hex)
            if mailbox_id is not None:
                query = query.join(
                    MailboxCertificate,
                    MailboxCertificate.serial_hex == IssuedCertificate.serial_hex,
                ).where(MailboxCertificate.mailbox_id == mailbox_id)
            issued = await session.scalar(query.with_for_update())
            if issued is None:
                raise UnknownCertificate(f"no certificate {serial_hex} that you may revoke")
            if issued.revoked_at is not None:
                return False
            issued.revoked_at = now
            issued.revocation_reason = reason
            await session.execute(
                update(MailboxCertificate)
                .where(MailboxCertificate.serial_hex == serial_hex)
                .values(status=CertificateStatus.REVOKED.value)
            )
            if self.evidence is not None:
                sha256 = issued.fingerprint_sha256
                await self.evidence.append(
                    session,
                    EvidenceRecord(
                        event=EvidenceEvent.CERTIFICATE_REVOKED,
                        message_id=certificate_log_id(sha256),
                        ciphertext_sha256=sha256,
                        actor_id=actor,
                        time=now,
                        recipient_ids=(issued.email,) if issued.email else (),
                        previous_record_sha256=await self.evidence.last_record_digest(
                            session, certificate_log_id(sha256)
                        ),
                        extra={"serial": serial_hex, "reason": reason},
                    ),
                )
        log.info("certificate %s revoked (%s) by %s", serial_hex, reason, actor)
        return True

    async def of_mailbox(self, address: str) -> list[CertificateEntry]:
        """Every certificate ever issued to ``address``, with its log indexes."""
        async with self.database.sessions() as session:
            mailbox_id = await session.scalar(
                select(Mailbox.id).where(Mailbox.address == address.strip().lower())
            )
            if mailbox_id is None:
                raise UnknownMailbox(f"no mailbox {address}")
            rows = (
                await session.execute(
                    select(IssuedCertificate)
                    .join(
                        MailboxCertificate,
                        MailboxCertificate.serial_hex == IssuedCertificate.serial_hex,
                    )
                    .where(MailboxCertificate.mailbox_id == mailbox_id)
                    .order_by(IssuedCertificate.not_before)
                )
            ).scalars()
            entries = []
            for issued in rows:
                indexes = await self.log_indexes(session, issued.fingerprint_sha256)
                entries.append(
                    CertificateEntry(
                        serial_hex=issued.serial_hex,
                        sha256=issued.fingerprint_sha256,
                        not_after=_aware(issued.not_after),
                        revoked_at=None if issued.revoked_at is None else _aware(issued.revoked_at),
                        issued_index=indexes.get(EvidenceEvent.CERTIFICATE_ISSUED.value),
                        revoked_index=indexes.get(EvidenceEvent.CERTIFICATE_REVOKED.value),
                    )
                )
            return entries

    @staticmethod
    async def log_indexes(session: AsyncSession, sha256: str) -> dict[str, int]:
        """Event name → leaf index of this certificate's records (the first of each)."""
        rows = await session.execute(
            select(RecordRow.event, RecordRow.leaf_index)
            .where(RecordRow.message_id == certificate_log_id(sha256))
            .order_by(RecordRow.leaf_index)
        )
        found: dict[str, int] = {}
        for event, index in rows:
            found.setdefault(str(event), int(index))
        return found
