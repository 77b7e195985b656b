"""Submission, mailbox listing, fetch, acknowledgement and retention.

``submit`` makes the ciphertext durable, then records the message in one transaction that
takes a sequence number in every recipient mailbox and stores the deliveries and their
evidence: when it returns, "accepted" means durable. A ciphertext up to ``inline_max``
bytes is written in that same transaction, in the message's row; a bigger one goes to the
blob store (content-addressed) *before* the transaction. One small file per message would
cost more than the submission itself: on this project's 2-core test machine the blob file
and its flush took 0.5–1 ms of CPU per 4 KB message (``bench/bench_relay.py``).

The client's message id is the idempotency key (RFC 9110 §9.2.2 semantics for a retried
POST). The first fetch of a delivery (``ContentHandover``) and its acknowledgement
(``ConsignmentAcceptance``, with the recipient's signed statement when there is one) are
recorded in the evidence log in the same transaction as the state change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import CertificateStatus, Mailbox, MailboxCertificate
from caducee.evidence import EvidenceLog
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.relay.acknowledgement import acknowledgement_digest, check_acknowledgement
from caducee.relay.batching import GroupCommitter, IdTaken, Submission
from caducee.relay.errors import (
    DuplicateMessageId,
    FetchAlone,
    InvalidEnvelope,
    MessageTooLarge,
    NotYourMailbox,
    RelayError,
    SubmissionHeld,
    UnknownMessage,
)
from caducee.relay.hooks import SubmissionGate
from caducee.relay.models import Delivery, DeliveryState, Message
from caducee.relay.notifications import MailboxNotifier
from caducee.relay.smime import check_encrypted_cms
from caducee.store import BlobStore, Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = [
    "DEFAULT_MAX_SIZE",
    "INLINE_MAX_BYTES",
    "MAX_RECIPIENTS",
    "MESSAGE_ID_PATTERN",
    "Envelope",
    "MailboxItem",
    "MailboxPage",
    "Receipt",
    "RelayService",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 25 * 1024 * 1024
INLINE_MAX_BYTES = 64 * 1024  # most results and letters; PDFs and images go to the blob store
MAX_RECIPIENTS = 100
LIST_LIMIT_MAX = 500
MESSAGE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+=-]{0,199}")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Envelope:
    """The outer envelope: what the relay may see of a message."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    date: str
    subject: str

    def normalised(self) -> Envelope:
        """Checked and lower-cased addresses, recipients deduplicated in order."""
        if not MESSAGE_ID_PATTERN.fullmatch(self.message_id):
            raise InvalidEnvelope("a message id is 1-200 letters, digits or ._@+=- characters")
        recipients = tuple(dict.fromkeys(r.strip().lower() for r in self.recipients))
        if not recipients or len(recipients) > MAX_RECIPIENTS:
            raise InvalidEnvelope(f"a message has 1 to {MAX_RECIPIENTS} recipients")
        for text, limit in ((self.date, 64), (self.subject, 200), *((r, 320) for r in recipients)):
            if len(text) > limit or any(c in text for c in "\r\n\x00"):
                raise InvalidEnvelope("an envelope field is too long or holds a line break")
        return Envelope(
            self.message_id, self.sender.strip().lower(), recipients, self.date, self.subject
        )


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission; ``created`` is False for an idempotent retry."""

    message_id: str
    accepted_at: datetime
    recipients: tuple[str, ...]
    ciphertext_sha256: str
    created: bool


@dataclass(frozen=True)
class MailboxItem:
    """A message as its recipient's mailbox lists it (envelope and digests only)."""

    sequence: int
    message_id: str
    sender: str
    date: str
    subject: str
    size: int
    ciphertext_sha256: str
    state: str
    stored_at: datetime


@dataclass(frozen=True)
class MailboxPage:
    items: tuple[MailboxItem, ...]
    next_cursor: int


async def _valid_fingerprints(session: AsyncSession, mailbox_id: int, now: datetime) -> set[str]:
    """SHA-256 of the mailbox's certificates that are attached, unrevoked and in date."""
    rows = await session.scalars(
        select(IssuedCertificate.fingerprint_sha256)
        .join(MailboxCertificate, MailboxCertificate.serial_hex == IssuedCertificate.serial_hex)
        .where(
            MailboxCertificate.mailbox_id == mailbox_id,
            MailboxCertificate.status == CertificateStatus.ACTIVE.value,
            IssuedCertificate.revoked_at.is_(None),
            IssuedCertificate.not_before <= now,
            IssuedCertificate.not_after > now,
        )
    )
    return set(rows)


def _item(delivery: Delivery, message: Message) -> MailboxItem:
    return MailboxItem(
        sequence=delivery.sequence,
        message_id=message.message_id,
        sender=message.envelope_from,
        date=message.envelope_date,
        subject=message.subject,
        size=message.size,
        ciphertext_sha256=message.ciphertext_sha256,
        state=delivery.state,
        stored_at=_aware(delivery.stored_at),
    )


class RelayService:
    """The relay on one database, blob store and notifier; ``now`` is the clock.

    ``committer`` (a :class:`GroupCommitter` shared by the process) lets concurrent
    submissions share transactions; without one the service makes its own. ``evidence``
    records fetches and acknowledgements (the committer records acceptances); ``gate`` may
    hold a submission for moderation.
    """

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        notifier: MailboxNotifier,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        inline_max: int = INLINE_MAX_BYTES,
        now: Callable[[], datetime] = utcnow,
        committer: GroupCommitter | None = None,
        evidence: EvidenceLog | None = None,
        gate: SubmissionGate | None = None,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.committer = committer or GroupCommitter(database, evidence=evidence)
        self.blobs = blobs
        self.notifier = notifier
        self.max_size = max_size
        self.inline_max = inline_max
        self.now = now
        self.gate = gate

    async def submit(
        self,
        *,
        sender_mailbox_id: int,
        sender_address: str,
        envelope: Envelope,
        ciphertext: bytes,
        gated: bool = True,
        external_origin: str | None = None,
    ) -> Receipt:
        """Accept a ciphertext for every recipient, or refuse it whole with a ``RelayError``.

        ``gated=False`` skips the gate (a moderator's release); ``external_origin`` names the
        domain of mail received from another operator (its evidence is
        ``ReceivedFromExternal``).
        """
        envelope = envelope.normalised()
        if envelope.sender != sender_address.lower():
            raise NotYourMailbox(f"you may send only as {sender_address}")
        if len(ciphertext) > self.max_size:
            raise MessageTooLarge(f"a message may not exceed {self.max_size} bytes")
        check_encrypted_cms(ciphertext)
        sha256 = hashlib.sha256(ciphertext).hexdigest()
        inline = len(ciphertext) <= self.inline_max
        if not inline:
            await self.blobs.put(ciphertext)  # durable before the commit that says "accepted"
        if gated and self.gate is not None:
            try:
                await self.gate(sender_mailbox_id, envelope, sha256, len(ciphertext))
            except SubmissionHeld:
                # A hold keeps its bytes in the blob store until a moderator acts. Should the
                # server stop between the hold and this write, the sender's agent, which had
                # no answer, sends again and the gate's answer for the same hold comes here.
                if inline:
                    await self.blobs.put(ciphertext)
                raise
        now = self.now()
        try:
            sequences = await self.committer.record(
                Submission(
                    sender_id=sender_mailbox_id,
                    message_id=envelope.message_id,
                    sender=envelope.sender,
                    recipients=envelope.recipients,
                    date=envelope.date,
                    subject=envelope.subject,
                    size=len(ciphertext),
                    sha256=sha256,
                    accepted_at=now,
                    future=asyncio.get_running_loop().create_future(),
                    external_origin=external_origin,
                    inline_ciphertext=ciphertext if inline else None,
                )
            )
        except IdTaken:
            return await self._replay(sender_mailbox_id, envelope.message_id, sha256)
        for mailbox_id, sequence in sequences:
            await self.notifier.publish(mailbox_id, sequence)
        # Per message: DEBUG. The signed evidence log records each step already, and a line
        # per message at INFO cost the server 8-17 % of its CPU per message (measured).
        log.debug("accepted %s sha256=%s for %d", envelope.message_id, sha256, len(sequences))
        return Receipt(envelope.message_id, now, envelope.recipients, sha256, created=True)

    async def _replay(self, sender_id: int, message_id: str, sha256: str) -> Receipt:
        async with self.database.sessions() as session:
            message = await session.scalar(select(Message).where(Message.message_id == message_id))
        if message is None:
            raise InvalidEnvelope("the message could not be recorded: retry")
        if message.ciphertext_sha256 != sha256 or message.sender_mailbox_id != sender_id:
            raise DuplicateMessageId(
                f"message id {message_id} was already used for another message"
            )
        return Receipt(
            message.message_id,
            _aware(message.accepted_at),
            tuple(message.envelope_to),
            message.ciphertext_sha256,
            created=False,
        )

    async def list_mailbox(self, mailbox_id: int, cursor: int = 0, limit: int = 100) -> MailboxPage:
        """Unacknowledged deliveries after ``cursor``, oldest first."""
        limit = max(1, min(limit, LIST_LIMIT_MAX))
        statement = (
            select(Delivery, Message)
            .join(Message, Message.id == Delivery.message_pk)
            .where(
                Delivery.mailbox_id == mailbox_id,
                Delivery.sequence > cursor,
                Delivery.state != DeliveryState.ACKNOWLEDGED.value,
            )
            .order_by(Delivery.sequence)
            .limit(limit)
        )
        async with self.database.sessions() as session:
            rows = (await session.execute(statement)).all()
        items = tuple(_item(delivery, message) for delivery, message in rows)
        return MailboxPage(items, items[-1].sequence if items else max(cursor, 0))

    async def _deliveries(
        self, session: AsyncSession, mailbox_id: int, message_ids: Sequence[str]
    ) -> dict[str, tuple[Delivery, Message]]:
        """This mailbox's deliveries of those messages, by message id, in one query per 500
        (an id that is malformed, unknown, or another mailbox's is simply not there)."""
        wanted = sorted({m for m in message_ids if MESSAGE_ID_PATTERN.fullmatch(m)})
        found: dict[str, tuple[Delivery, Message]] = {}
        for start in range(0, len(wanted), 500):  # well under SQLite's bound variables
            rows = await session.execute(
                select(Delivery, Message)
                .join(Message, Message.id == Delivery.message_pk)
                .where(
                    Delivery.mailbox_id == mailbox_id,
                    Message.message_id.in_(wanted[start : start + 500]),
                )
            )
            found.update((message.message_id, (delivery, message)) for delivery, message in rows)
        return found

    async def fetch(self, mailbox_id: int, message_id: str) -> tuple[MailboxItem, bytes]:
        """A delivery's ciphertext; the first fetch moves it from stored to fetched."""
        (outcome,) = await self.fetch_many(mailbox_id, [message_id], max_bytes=0)
        if isinstance(outcome, RelayError):
            raise outcome
        return outcome

    async def fetch_many(
        self, mailbox_id: int, message_ids: Sequence[str], *, max_bytes: int
    ) -> list[tuple[MailboxItem, bytes] | RelayError]:
        """Several deliveries' ciphertexts, in one transaction (one flush for their
        ``ContentHandover`` records), each answered in order: the item and its bytes, or the
        error that left it out (unknown here, or :class:`FetchAlone` once ``max_bytes`` of
        ciphertext are in the answer; the first message always comes, whatever its size).
        What is left out is not moved to fetched."""
        outcomes: list[tuple[Delivery, Message] | RelayError] = []
        handed: list[tuple[Message, Delivery, dict[str, str]]] = []  # evidence to append
        total = 0
        async with self.database.transaction() as session:
            mine = await self._deliveries(session, mailbox_id, message_ids)
            for message_id in message_ids:
                if message_id not in mine:  # another mailbox's is as unknown as a missing one
                    outcomes.append(_unknown(message_id))
                    continue
                delivery, message = mine[message_id]
                if total and total + message.size > max_bytes:
                    outcomes.append(FetchAlone(f"{message_id}: fetch this message on its own"))
                    continue
                total += message.size
                if delivery.state == DeliveryState.STORED.value:
                    delivery.state = DeliveryState.FETCHED.value
                    delivery.fetched_at = self.now()
                    handed.append((message, delivery, {}))
                outcomes.append((delivery, message))
            await self._record_events(session, EvidenceEvent.CONTENT_HANDOVER, handed, mailbox_id)
            inline = await _inline_ciphertexts(
                session, [o[1].id for o in outcomes if not isinstance(o, RelayError)]
            )
        bodies = await asyncio.gather(
            *(self._ciphertext(o[1], inline) for o in outcomes if not isinstance(o, RelayError))
        )
        found = iter(bodies)
        answers: list[tuple[MailboxItem, bytes] | RelayError] = []
        for outcome in outcomes:
            if isinstance(outcome, RelayError):
                answers.append(outcome)
                continue
            answers.append((_item(*outcome), next(found)))
            log.debug("fetched %s by mailbox %s", outcome[1].message_id, mailbox_id)
        return answers

    async def _ciphertext(self, message: Message, inline: dict[int, bytes]) -> bytes:
        kept = inline.get(message.id)
        return kept if kept is not None else await self.blobs.get(message.ciphertext_sha256)

    async def acknowledge(
        self, mailbox_id: int, message_id: str, acknowledgement: bytes | None = None
    ) -> MailboxItem:
        """Mark a delivery acknowledged (idempotent), with the recipient's signed statement.

        ``acknowledgement`` is a CMS SignedData of an :class:`~caducee.ledger.AckStatement`;
        a bad one is refused (``InvalidAcknowledgement``) and changes nothing.
        """
        (outcome,) = await self.acknowledge_many(mailbox_id, [(message_id, acknowledgement)])
        if isinstance(outcome, RelayError):
            raise outcome
        return outcome

    async def acknowledge_many(
        self, mailbox_id: int, acknowledgements: Sequence[tuple[str, bytes | None]]
    ) -> list[MailboxItem | RelayError]:
        """Acknowledge several deliveries in one transaction (one commit, one disk flush).

        Each gets its own answer, in order: the item, or the error that refused it (unknown
        message, bad acknowledgement), which changes nothing of that one and stops no other.
        """
        outcomes: list[MailboxItem | RelayError] = []
        accepted: list[tuple[Message, Delivery, dict[str, str]]] = []  # evidence to append
        async with self.database.transaction() as session:
            mailbox: tuple[str, set[str]] | None = None  # address and valid fingerprints
            mine = await self._deliveries(session, mailbox_id, [m for m, _ in acknowledgements])
            for message_id, acknowledgement in acknowledgements:
                try:
                    if message_id not in mine:  # another mailbox's: as unknown as a missing one
                        raise _unknown(message_id)
                    delivery, message = mine[message_id]
                    if delivery.state == DeliveryState.ACKNOWLEDGED.value:
                        outcomes.append(_item(delivery, message))
                        continue
                    extra = {"signed": "no"}
                    if acknowledgement is not None:
                        if mailbox is None:
                            address = await session.scalar(
                                select(Mailbox.address).where(Mailbox.id == mailbox_id)
                            )
                            now = self.now()
                            fingerprints = await _valid_fingerprints(session, mailbox_id, now)
                            mailbox = (str(address), fingerprints)
                        check_acknowledgement(
                            acknowledgement,
                            message_id=message.message_id,
                            ciphertext_sha256=message.ciphertext_sha256,
                            recipient=mailbox[0],
                            fingerprints=mailbox[1],
                        )
                except RelayError as exc:
                    outcomes.append(exc)
                    continue
                if acknowledgement is not None:
                    delivery.acknowledgement = acknowledgement
                    extra = {
                        "signed": "yes",
                        "ack_sha256": acknowledgement_digest(acknowledgement),
                    }
                delivery.state = DeliveryState.ACKNOWLEDGED.value
                delivery.acknowledged_at = self.now()
                if delivery.fetched_at is None:
                    delivery.fetched_at = delivery.acknowledged_at
                accepted.append((message, delivery, extra))
                outcomes.append(_item(delivery, message))
            await self._record_events(
                session, EvidenceEvent.CONSIGNMENT_ACCEPTANCE, accepted, mailbox_id
            )
        for outcome in outcomes:
            if not isinstance(outcome, RelayError):
                log.debug("acknowledged %s by mailbox %s", outcome.message_id, mailbox_id)
        return outcomes

    async def acknowledgements(self, message_id: str) -> list[tuple[str, bytes]]:
        """The signed acknowledgements of a message: (recipient address, CMS DER)."""
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(Mailbox.address, Delivery.acknowledgement)
                .join(Delivery, Delivery.mailbox_id == Mailbox.id)
                .join(Message, Message.id == Delivery.message_pk)
                .where(Message.message_id == message_id, Delivery.acknowledgement.is_not(None))
                .order_by(Mailbox.address)
            )
            return [(str(address), bytes(der)) for address, der in rows if der is not None]

    async def _record_events(
        self,
        session: AsyncSession,
        event: EvidenceEvent,
        steps: Sequence[tuple[Message, Delivery, dict[str, str]]],
        mailbox_id: int,
    ) -> None:
        """One ``event`` record per (message, its delivery here, extra), appended together:
        one head update, one frontier, one batch of signatures for a whole fetch or
        acknowledgement (each message's record chained to its latest one)."""
        if self.evidence is None or not steps:
            return
        address = str(await session.scalar(select(Mailbox.address).where(Mailbox.id == mailbox_id)))
        previous = await self.evidence.last_record_digests(
            session, [message.message_id for message, _, _ in steps]
        )
        records = []
        for message, delivery, extra in steps:
            acknowledged = event is EvidenceEvent.CONSIGNMENT_ACCEPTANCE
            when = delivery.acknowledged_at if acknowledged else None
            records.append(
                EvidenceRecord(
                    event=event,
                    message_id=message.message_id,
                    ciphertext_sha256=message.ciphertext_sha256,
                    actor_id=address,
                    time=_aware(when or delivery.fetched_at or self.now()),
                    sender_id=message.envelope_from,
                    recipient_ids=(address,),
                    previous_record_sha256=previous.get(message.message_id),
                    extra=extra,
                )
            )
        await self.evidence.append_many(session, records)

    async def purge_expired(self, retention: timedelta, *, batch: int = 1000) -> int:
        """Delete messages accepted before now − ``retention`` and their unshared blobs."""
        cutoff = self.now() - retention
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        Message.id,
                        Message.ciphertext_sha256,
                        Message.inline_ciphertext.is_(None).label("in_blob_store"),
                    )
                    .where(Message.accepted_at < cutoff)
                    .order_by(Message.id)
                    .limit(batch)
                )
            ).all()
            ids = [row.id for row in rows]
            if not ids:
                return 0
            await session.execute(delete(Delivery).where(Delivery.message_pk.in_(ids)))
            await session.execute(delete(Message).where(Message.id.in_(ids)))
            digests = {row.ciphertext_sha256 for row in rows if row.in_blob_store}
        # The same bytes may still be named elsewhere (another message, a hold, a queued
        # outbound mail): only the blobs nobody names go.
        from caducee.relay.sweep import referenced_digests  # here: policy and gateway import us

        shared = await referenced_digests(self.database, sorted(digests))
        await self._delete_blobs(sorted(digests - shared))
        log.info("purged %d messages accepted before %s", len(ids), cutoff.isoformat())
        return len(ids)

    async def _delete_blobs(self, digests: Sequence[str]) -> None:
        for sha256 in digests:
            await self.blobs.delete(sha256)


def _unknown(message_id: str) -> UnknownMessage:
    """Not in this mailbox (a malformed id is not repeated back)."""
    if not MESSAGE_ID_PATTERN.fullmatch(message_id):
        return UnknownMessage("no such message in this mailbox")
    return UnknownMessage(f"no message {message_id} in this mailbox")


async def _inline_ciphertexts(
    session: AsyncSession, message_pks: Sequence[int]
) -> dict[int, bytes]:
    """The bytes of those messages whose ciphertext is kept in their row, by row id."""
    if not message_pks:
        return {}
    rows = await session.execute(
        select(Message.id, Message.inline_ciphertext).where(
            Message.id.in_(message_pks), Message.inline_ciphertext.is_not(None)
        )
    )
    return {int(pk): bytes(data) for pk, data in rows if data is not None}
