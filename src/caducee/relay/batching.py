"""Group commit: many concurrent submissions share one transaction and one fsync.

Each commit costs a disk flush (SQLite ``synchronous=FULL``, PostgreSQL ``fsync``), and every
submission to a mailbox takes its sequence number from the same row, so one transaction per
message caps the relay at the disk's flush rate. ``GroupCommitter`` queues submissions while a
commit is in flight and records the whole queue in the next transaction
(:class:`caducee.store.group_commit.GroupCommit`, shared with the MISS posts). The transaction
runs whole in one worker thread on the database's blocking engine (``Database.sync_engine``):
one hop per batch, so the batch does not wait for an event-loop turn per statement while
the loop serves the other requests. Each submission still gets its own answer: accepted
(its sequence numbers), refused (unknown or inactive recipient), or "id already taken" (the
caller then replays it). If the batch's transaction fails on a constraint (another process
recorded the same id meanwhile), each submission is retried alone, so one duplicate does not
fail the others.

The same transaction appends the evidence records of the batch (``SubmissionAcceptance`` or
``ReceivedFromExternal``, then one ``ContentConsignment`` per recipient mailbox) and runs the
commit hooks: no message without its evidence, no evidence without its message. On
PostgreSQL the records are signed in a second thread while the first writes the rows (with
``COPY``, :mod:`caducee.store.bulk`).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from caducee.directory.models import Mailbox
from caducee.evidence import EvidenceLog, SignedLeaf
from caducee.evidence.tree import CommittedFrontier
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.relay.errors import InactiveRecipient, RelayError, UnknownRecipient
from caducee.relay.hooks import Accepted, CommitHook
from caducee.relay.models import Delivery, DeliveryState, Message
from caducee.store import Database, is_sqlite
from caducee.store.bulk import insert_rows, insert_rows_returning_ids
from caducee.store.group_commit import GroupCommit

__all__ = ["MAX_BATCH_RECIPIENTS", "GroupCommitter", "IdTaken", "Submission"]

log = logging.getLogger(__name__)
MAX_BATCH_RECIPIENTS = 10_000  # SQLite binds at most 32,766 variables per statement


# The statements of every batch, built once: a statement object keeps its cache key, which
# SQLAlchemy would otherwise compute again for each new one (measured: a tenth of the commit
# thread's time on SQLite went to building and keying these three).
_TAKE_WRITE_LOCK = update(Mailbox).where(Mailbox.id == -1).values(last_sequence=0)
_BOXES = select(Mailbox.id, Mailbox.address, Mailbox.active, Mailbox.last_sequence).where(
    Mailbox.address.in_(bindparam("addresses", expanding=True))
)
# On PostgreSQL the counters are locked, in address order (no deadlock with another process).
_BOXES_LOCKED = _BOXES.order_by(Mailbox.address).with_for_update()
_SET_LAST = (
    update(Mailbox).where(Mailbox.id == bindparam("box")).values(last_sequence=bindparam("last"))
)


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
    external_origin: str | None = None
    inline_ciphertext: bytes | None = field(default=None, repr=False)  # kept in the row


def _take(queue: list[Submission]) -> int:
    """How many queued submissions the next batch holds: up to MAX_BATCH_RECIPIENTS."""
    total = 0
    for count, submission in enumerate(queue):
        if count and total >= MAX_BATCH_RECIPIENTS:
            return count
        total += len(submission.recipients)
    return len(queue)


class GroupCommitter:
    """Records queued submissions, one transaction per batch, in arrival order."""

    def __init__(
        self,
        database: Database,
        *,
        evidence: EvidenceLog | None = None,
        hooks: list[CommitHook] | None = None,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.hooks = hooks if hooks is not None else []  # shared: parts register later
        self.queue: GroupCommit[Submission, list[tuple[int, int]]] = GroupCommit(
            self._commit_blocking,
            take=_take,
            taken=lambda submission: IdTaken(submission.message_id),
            thread_name="caducee-commit",
            turn=database.writing,
        )
        self.frontier = CommittedFrontier()  # the last batch's evidence frontier (tests read it)
        # On PostgreSQL the commit thread mostly waits on the network: the evidence is signed
        # meanwhile in a second thread. SQLite's writes run in this process, leaving nothing
        # to overlap with signatures made here: a second thread there only cost CPU (about
        # 60-100 µs a message, measured); it is used when a child process signs.
        signs_elsewhere = evidence is not None and evidence.signer is not None
        overlap = not is_sqlite(database.url) or signs_elsewhere
        self._signer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="caducee-sign")
            if overlap
            else None
        )

    async def record(self, submission: Submission) -> list[tuple[int, int]]:
        """Wait for the commit that records ``submission``; its (mailbox id, sequence) pairs."""
        return await self.queue.record(submission)

    async def close(self) -> None:
        """Record what is queued, then end the worker threads."""
        await self.queue.close()
        if self._signer is not None:
            self._signer.shutdown(wait=False)

    def _commit_blocking(
        self, batch: list[Submission]
    ) -> list[list[tuple[int, int]] | BaseException]:
        try:
            outcomes = self._transaction(batch)
        except BaseException:
            self.frontier.forget()
            raise
        self.frontier.commit()  # the batch is durable: its evidence frontier may be reused
        return outcomes

    def _transaction(self, batch: list[Submission]) -> list[list[tuple[int, int]] | BaseException]:
        outcomes: list[list[tuple[int, int]] | BaseException] = []
        sqlite = is_sqlite(self.database.url)
        with self.database.sync_engine.begin() as connection:
            if sqlite:
                # Write first, so SQLite takes the write lock now (a read-then-write
                # transaction could otherwise fail with SQLITE_BUSY when another connection
                # wrote meanwhile).
                connection.execute(_TAKE_WRITE_LOCK)
            # Ids recorded by earlier batches are not looked up first (a round trip per batch
            # for what retries alone cause): the message's unique id refuses them, and the
            # batch is then recorded again one by one (GroupCommit). Only this batch's own
            # ids, and its refusals, are checked here.
            taken: set[str] = set()
            addresses = sorted({a for s in batch for a in s.recipients})
            boxes_query = _BOXES if sqlite else _BOXES_LOCKED
            boxes: dict[str, Any] = {
                row.address: row
                for row in connection.execute(boxes_query, {"addresses": addresses})
            }
            sequence = {row.id: row.last_sequence for row in boxes.values()}
            accepted: list[tuple[Submission, list[tuple[int, int]]]] = []
            for submission in batch:
                outcome = _allocate(submission, taken, boxes, sequence)
                outcomes.append(outcome)
                if not isinstance(outcome, BaseException):
                    taken.add(submission.message_id)
                    accepted.append((submission, outcome))
            _replays_of_refused(connection, batch, outcomes)
            if accepted:
                self._record_accepted(connection, accepted, boxes, sequence)
        log.debug("group commit of %d submissions (%d accepted)", len(batch), len(accepted))
        return outcomes

    def _record_accepted(
        self,
        connection: Connection,
        accepted: list[tuple[Submission, list[tuple[int, int]]]],
        boxes: dict[str, Any],
        sequence: dict[int, int],
    ) -> None:
        """The rows, the evidence and the hooks, in the batch's transaction.

        On PostgreSQL the evidence is built and signed in a thread of its own while this one
        writes the rows: that writing is mostly waiting on the database, and a signature lets
        go of the GIL.
        """
        facts = [
            Accepted(
                message_id=s.message_id,
                sender_mailbox_id=s.sender_id,
                sender=s.sender,
                recipients=tuple((a, boxes[a].id) for a in s.recipients),
                size=s.size,
                ciphertext_sha256=s.sha256,
                accepted_at=s.accepted_at,
                external_origin=s.external_origin,
            )
            for s, _ in accepted
        ]
        evidence = self.evidence
        numbers = [pairs for _, pairs in accepted]
        if evidence is None:
            _write(connection, accepted, sequence)
        elif self._signer is None:
            _write(connection, accepted, sequence)
            leaves = _sign_evidence(evidence, facts, numbers)
            evidence.append_signed_sync(connection, leaves, remembered=self.frontier)
        else:
            signing = self._signer.submit(_sign_evidence, evidence, facts, numbers)
            try:
                _write(connection, accepted, sequence)
            except BaseException:
                signing.cancel()  # the batch fails whole: its records are not appended
                raise
            evidence.append_signed_sync(connection, signing.result(), remembered=self.frontier)
        for hook in self.hooks:
            hook(connection, facts)


def _sign_evidence(
    evidence: EvidenceLog, facts: list[Accepted], pairs: list[list[tuple[int, int]]]
) -> list[SignedLeaf]:
    """The batch's evidence records, signed (in the signing thread)."""
    records = [
        record
        for fact, its_pairs in zip(facts, pairs, strict=True)
        for record in acceptance_records(fact, its_pairs, evidence.origin)
    ]
    return evidence.sign(records)


def acceptance_records(
    fact: Accepted, pairs: list[tuple[int, int]], relay_id: str
) -> list[EvidenceRecord]:
    """The acceptance record, then one consignment record per recipient mailbox."""
    extra = {"size": str(fact.size)}
    if fact.external_origin is None:
        event, actor = EvidenceEvent.SUBMISSION_ACCEPTANCE, fact.sender
    else:
        event, actor = EvidenceEvent.RECEIVED_FROM_EXTERNAL, relay_id
        extra["origin_domain"] = fact.external_origin
    accepted = EvidenceRecord(
        event=event,
        message_id=fact.message_id,
        ciphertext_sha256=fact.ciphertext_sha256,
        actor_id=actor,
        time=fact.accepted_at,
        sender_id=fact.sender,
        recipient_ids=tuple(address for address, _ in fact.recipients),
        extra=extra,
    )
    previous = accepted.record_digest()
    records = [accepted]
    for (address, _), (_, sequence) in zip(fact.recipients, pairs, strict=True):
        records.append(
            EvidenceRecord(
                event=EvidenceEvent.CONTENT_CONSIGNMENT,
                message_id=fact.message_id,
                ciphertext_sha256=fact.ciphertext_sha256,
                actor_id=relay_id,
                time=fact.accepted_at,
                sender_id=fact.sender,
                recipient_ids=(address,),
                previous_record_sha256=previous,
                extra={"sequence": str(sequence)},
            )
        )
    return records


def _replays_of_refused(
    connection: Connection,
    batch: list[Submission],
    outcomes: list[list[tuple[int, int]] | BaseException],
) -> None:
    """A refused submission whose id is already recorded is a retry of an accepted message
    (its recipient may have been closed since): it gets ``IdTaken``, so the caller replays
    the first acceptance, instead of the refusal."""
    refused: dict[str, list[int]] = {}
    for i, submission in enumerate(batch):
        if isinstance(outcomes[i], RelayError):
            refused.setdefault(submission.message_id, []).append(i)
    if not refused:
        return
    query = select(Message.message_id).where(Message.message_id.in_(sorted(refused)))
    for message_id in connection.scalars(query):
        for i in refused[message_id]:
            outcomes[i] = IdTaken(message_id)


def _allocate(
    submission: Submission,
    taken: set[str],
    boxes: dict[str, Any],
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


def _write(
    connection: Connection,
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
            "inline_ciphertext": s.inline_ciphertext,
        }
        for s, _ in accepted
    ]
    pks = insert_rows_returning_ids(connection, Message, messages)
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
    insert_rows(connection, Delivery, deliveries)
    touched = {mailbox_id for _, pairs in accepted for mailbox_id, _ in pairs}
    connection.execute(_SET_LAST, [{"box": i, "last": sequence[i]} for i in sorted(touched)])
