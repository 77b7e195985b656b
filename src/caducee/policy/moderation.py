"""Holds: messages kept in quarantine, and a moderator's decision on each.

A held message is not delivered and not lost: its envelope and digest are a row here, its
ciphertext stays in the blob store. A moderator (the operator, or a person of its team named
in ``policy_moderator``) releases it (the relay records it then, without the gate) or
refuses it; the decision is appended to the evidence log in the transaction that records it.
A refused message's ciphertext is then deleted: the row and its evidence stay, as proof.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from caducee.evidence import EvidenceLog
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.policy.console_errors import NotModerator, UnknownHold
from caducee.policy.models import Hold, Moderator
from caducee.relay import Envelope, RelayService
from caducee.store import BlobStore, Database, StoreError
from caducee.store.models import utcnow

__all__ = ["OPERATOR_ACTOR", "HeldMessage", "HoldStatus", "ModerationService"]

log = logging.getLogger(__name__)
OPERATOR_ACTOR = "operator"


class HoldStatus:
    HELD = "held"
    RELEASING = "releasing"
    RELEASED = "released"
    REFUSED = "refused"


@dataclass(frozen=True)
class HeldMessage:
    id: int
    message_id: str
    sender_mailbox_id: int
    sender: str
    recipients: tuple[str, ...]
    size: int
    ciphertext_sha256: str
    reason: str
    detail: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


def _held(row: Hold) -> HeldMessage:
    return HeldMessage(
        row.id,
        row.message_id,
        row.sender_mailbox_id,
        row.sender,
        tuple(row.recipients),
        row.size,
        row.ciphertext_sha256,
        row.reason,
        row.detail,
        row.status,
        row.created_at,
        row.decided_at,
        row.decided_by,
    )


def _decision_event(decision: str) -> EvidenceEvent | None:
    """Every moderator's decision, release or refusal, is a ``ModerationDecision`` record."""
    return EvidenceEvent.MODERATION_DECISION


class ModerationService:
    """Hold, list and decide on one database (and the evidence log, when there is one)."""

    def __init__(
        self,
        database: Database,
        evidence: EvidenceLog | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.now = now

    async def hold(
        self,
        *,
        sender_mailbox_id: int,
        envelope: Envelope,
        ciphertext_sha256: str,
        size: int,
        reason: str,
        detail: str,
    ) -> HeldMessage:
        """Keep a submission aside; a retry of the same message id finds the same hold."""
        row = Hold(
            message_id=envelope.message_id,
            sender_mailbox_id=sender_mailbox_id,
            sender=envelope.sender,
            recipients=list(envelope.recipients),
            envelope_date=envelope.date,
            subject=envelope.subject,
            size=size,
            ciphertext_sha256=ciphertext_sha256,
            reason=reason,
            detail=detail[:500],
            status=HoldStatus.HELD,
            created_at=self.now(),
        )
        try:
            async with self.database.transaction() as session:
                session.add(row)
        except IntegrityError:
            existing = await self.find(envelope.message_id)
            if existing is None:  # pragma: no cover (the row that collided went away)
                raise
            return existing
        log.info("held %s sha256=%s reason=%s", envelope.message_id, ciphertext_sha256, reason)
        return _held(row)

    async def find(self, message_id: str) -> HeldMessage | None:
        async with self.database.sessions() as session:
            row = await session.scalar(select(Hold).where(Hold.message_id == message_id))
        return None if row is None else _held(row)

    async def get(self, hold_id: int) -> HeldMessage:
        async with self.database.sessions() as session:
            row = await session.get(Hold, hold_id)
        if row is None:
            raise UnknownHold(f"no held message {hold_id}")
        return _held(row)

    async def queue(
        self, status: str | None = HoldStatus.HELD, limit: int = 200
    ) -> list[HeldMessage]:
        query = select(Hold).order_by(Hold.created_at, Hold.id).limit(limit)
        if status is not None:
            query = query.where(Hold.status == status)
        async with self.database.sessions() as session:
            return [_held(r) for r in await session.scalars(query)]

    async def for_sender(self, sender_mailbox_id: int, limit: int = 100) -> list[HeldMessage]:
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(Hold)
                .where(Hold.sender_mailbox_id == sender_mailbox_id)
                .order_by(Hold.created_at.desc(), Hold.id.desc())
                .limit(limit)
            )
            return [_held(r) for r in rows]

    async def is_moderator(self, rpps: str | None) -> bool:
        if rpps is None:
            return False
        async with self.database.sessions() as session:
            return await session.get(Moderator, rpps) is not None

    async def add_moderator(self, rpps: str) -> None:
        try:
            async with self.database.transaction() as session:
                session.add(Moderator(rpps=rpps, since=self.now()))
        except IntegrityError:
            return  # already one (or no such person: the caller checked it exists)

    async def check_moderator(self, actor: str, rpps: str | None) -> None:
        """``actor`` is :data:`OPERATOR_ACTOR` (the operator token) or a mailbox address."""
        if actor != OPERATOR_ACTOR and not await self.is_moderator(rpps):
            raise NotModerator("only a moderator may release or refuse a held message")

    async def _claim(self, hold_id: int, to: str) -> HeldMessage:
        """Move a hold from held to ``to``, or refuse if it is not held (one decision)."""
        async with self.database.transaction() as session:
            result = await session.execute(
                update(Hold)
                .where(Hold.id == hold_id, Hold.status == HoldStatus.HELD)
                .values(status=to)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise UnknownHold(f"no message {hold_id} waiting for a decision")
            row = await session.get(Hold, hold_id)
            assert row is not None
            return _held(row)

    async def _decide(self, hold: HeldMessage, decision: str, actor: str) -> HeldMessage:
        now = self.now()
        async with self.database.transaction() as session:
            row = await session.get(Hold, hold.id)
            assert row is not None
            row.status = decision
            row.decided_at = now
            row.decided_by = actor
            event = _decision_event(decision)
            if self.evidence is not None and event is not None:
                record = EvidenceRecord(
                    event=event,
                    message_id=hold.message_id,
                    ciphertext_sha256=hold.ciphertext_sha256,
                    actor_id=actor,
                    time=now,
                    sender_id=hold.sender,
                    recipient_ids=hold.recipients,
                    extra={"decision": decision, "hold": str(hold.id), "reason": hold.reason},
                )
                await self.evidence.append(session, record)
            decided = _held(row)
        log.info("hold %d %s by %s", hold.id, decision, actor)
        return decided

    async def refuse(self, hold_id: int, actor: str, blobs: BlobStore) -> HeldMessage:
        """Refuse a held message: it is never delivered, and its ciphertext is deleted.

        The refusal and its evidence commit first, the blob goes after: a crash between the
        two keeps the record and leaves an unnamed blob (deleting it again is harmless).
        """
        hold = await self._claim(hold_id, HoldStatus.REFUSED)
        decided = await self._decide(hold, HoldStatus.REFUSED, actor)
        await self._delete_refused_blob(decided, blobs)
        return decided

    async def _delete_refused_blob(self, hold: HeldMessage, blobs: BlobStore) -> None:
        """Delete a refused hold's ciphertext, unless other rows still name the same bytes."""
        digest = hold.ciphertext_sha256
        if await self._still_named(digest):
            log.info("hold %d refused: blob sha256=%s still named, kept", hold.id, digest)
            return
        try:
            await blobs.delete(digest)  # a blob already gone is not an error
        except StoreError as exc:  # the refusal stands; the blob is left unnamed
            log.warning("hold %d refused: blob sha256=%s not deleted: %s", hold.id, digest, exc)
            return
        log.info("hold %d refused: blob sha256=%s deleted", hold.id, digest)

    async def _still_named(self, digest: str) -> bool:
        """Whether a row other than a refused hold names ``digest`` (the sweep's references)."""
        from caducee.relay.sweep import REFERENCES  # here: the relay's package imports us

        async with self.database.sessions() as session:
            for column, condition in REFERENCES:
                query = select(column).where(column == digest)
                if condition is not None:
                    query = query.where(condition)
                if column is Hold.ciphertext_sha256:
                    query = query.where(Hold.status != HoldStatus.REFUSED)
                if await session.scalar(query.limit(1)) is not None:
                    return True
        return False

    async def release(self, hold_id: int, actor: str, relay: RelayService) -> HeldMessage:
        """Deliver a held message as it was submitted; on failure it stays held."""
        hold = await self._claim(hold_id, HoldStatus.RELEASING)
        async with self.database.sessions() as session:
            row = await session.get(Hold, hold_id)
            assert row is not None
            envelope = Envelope(
                row.message_id, row.sender, tuple(row.recipients), row.envelope_date, row.subject
            )
        try:
            ciphertext = await relay.blobs.get(hold.ciphertext_sha256)
            await relay.submit(
                sender_mailbox_id=hold.sender_mailbox_id,
                sender_address=hold.sender,
                envelope=envelope,
                ciphertext=ciphertext,
                gated=False,
            )
        except BaseException:
            async with self.database.transaction() as session:
                await session.execute(
                    update(Hold).where(Hold.id == hold_id).values(status=HoldStatus.HELD)
                )
            raise
        return await self._decide(hold, HoldStatus.RELEASED, actor)
