"""Group commit for SQLite: many concurrent submissions share one transaction and one fsync.

SQLite serialises writers and each commit costs an fsync (``synchronous=FULL``), so one
transaction per message caps the relay at the disk's fsync rate. ``GroupCommitter`` queues
submissions while a commit is in flight and records the whole queue in the next transaction.
Each submission still gets its own answer: accepted (its sequence numbers), refused
(unknown or inactive recipient), or "id already taken" (the caller then replays it).
PostgreSQL does not need this (it has its own group commit and row locks).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import Mailbox
from caducee.relay.errors import InactiveRecipient, RelayError, UnknownRecipient
from caducee.relay.models import Delivery, DeliveryState, Message
from caducee.store import Database

__all__ = ["MAX_BATCH_RECIPIENTS", "GroupCommitter", "IdTaken", "Submission"]

log = logging.getLogger(__name__)
MAX_BATCH_RECIPIENTS = 10_000  # SQLite binds at most 32,766 variables per statement


class IdTaken(Exception):
    """The message id is already recorded (by an earlier or the same batch)."""


@dataclass
class Submission:
    """One submission waiting for the next commit."""

    sender_id: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    date: str
    subject: str
    size: int
    sha256: str
    accepted_at: datetime
    future: asyncio.Future[list[tuple[int, int]]] = field(repr=False)


def _settle(submission: Submission, outcome: list[tuple[int, int]] | BaseException) -> None:
    if submission.future.done():  # the caller went away; the record stands (idempotent)
        return
    if isinstance(outcome, BaseException):
        submission.future.set_exception(outcome)
    else:
        submission.future.set_result(outcome)


class GroupCommitter:
    """Records queued submissions, one transaction per batch, in arrival order."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[Submission] = []
        self._task: asyncio.Task[None] | None = None

    async def record(self, submission: Submission) -> list[tuple[int, int]]:
        """Wait for the commit that records ``submission``; its (mailbox id, sequence) pairs."""
        self._queue.append(submission)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await submission.future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[Submission] = []
            total = 0
            while self._queue and (not batch or total < MAX_BATCH_RECIPIENTS):
                batch.append(self._queue.pop(0))
                total += len(batch[-1].recipients)
            try:
                outcomes = await self._commit(batch)
            except BaseException as exc:  # the whole transaction failed: tell every waiter
                for submission in batch:
                    _settle(submission, exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for submission, outcome in zip(batch, outcomes, strict=True):
                _settle(submission, outcome)

    async def _commit(self, batch: list[Submission]) -> list[list[tuple[int, int]] | BaseException]:
        outcomes: list[list[tuple[int, int]] | BaseException] = []
        async with self.database.transaction() as session:
            # Write first, so SQLite takes the write lock now (a read-then-write transaction
            # could otherwise fail with SQLITE_BUSY when another connection wrote meanwhile).
            await session.execute(update(Mailbox).where(Mailbox.id == -1).values(last_sequence=0))
            ids = [s.message_id for s in batch]
            taken = set(
                await session.scalars(select(Message.message_id).where(Message.message_id.in_(ids)))
            )
            addresses = sorted({a for s in batch for a in s.recipients})
            rows = (
                await session.execute(
                    select(
                        Mailbox.id, Mailbox.address, Mailbox.active, Mailbox.last_sequence
                    ).where(Mailbox.address.in_(addresses))
                )
            ).all()
            boxes = {row.address: row for row in rows}
            sequence = {row.id: row.last_sequence for row in rows}
            accepted: list[tuple[Submission, list[tuple[int, int]]]] = []
            for submission in batch:
                outcome = _allocate(submission, taken, boxes, sequence)
                outcomes.append(outcome)
                if not isinstance(outcome, BaseException):
                    taken.add(submission.message_id)
                    accepted.append((submission, outcome))
            if accepted:
                await _write(session, accepted, sequence)
        log.debug("group commit of %d submissions (%d accepted)", len(batch), len(accepted))
        return outcomes


def _allocate(
    submission: Submission,
    taken: set[str],
    boxes: dict[str, Row[int, str, bool, int]],
    sequence: dict[int, int],
) -> list[tuple[int, int]] | RelayError | IdTaken:
    if submission.message_id in taken:
        return IdTaken(submission.message_id)
    unknown = [a for a in submission.recipients if a not in boxes]
    if unknown:
        return UnknownRecipient(f"no mailbox for {', '.join(unknown)}", addresses=unknown)
    inactive = [a for a in submission.recipients if not boxes[a].active]
    if inactive:
        return InactiveRecipient(f"closed mailbox {', '.join(inactive)}", addresses=inactive)
    pairs = []
    for address in submission.recipients:
        mailbox_id = boxes[address].id
        sequence[mailbox_id] += 1
        pairs.append((mailbox_id, sequence[mailbox_id]))
    return pairs


async def _write(
    session: AsyncSession,
    accepted: list[tuple[Submission, list[tuple[int, int]]]],
    sequence: dict[int, int],
) -> None:
    messages = [
        {
            "message_id": s.message_id,
            "sender_mailbox_id": s.sender_id,
            "size": s.size,
            "ciphertext_sha256": s.sha256,
            "envelope_from": s.sender,
            "envelope_to": list(s.recipients),
            "envelope_date": s.date,
            "subject": s.subject,
            "accepted_at": s.accepted_at,
        }
        for s, _ in accepted
    ]
    pks = list(
        await session.scalars(
            insert(Message).returning(Message.id, sort_by_parameter_order=True), messages
        )
    )
    deliveries = [
        {
            "message_pk": pk,
            "mailbox_id": mailbox_id,
            "sequence": number,
            "state": DeliveryState.STORED.value,
            "stored_at": s.accepted_at,
        }
        for pk, (s, pairs) in zip(pks, accepted, strict=True)
        for mailbox_id, number in pairs
    ]
    await session.execute(insert(Delivery), deliveries)
    touched = {mailbox_id for _, pairs in accepted for mailbox_id, _ in pairs}
    await session.execute(
        update(Mailbox), [{"id": i, "last_sequence": sequence[i]} for i in sorted(touched)]
    )
