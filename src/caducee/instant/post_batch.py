"""Group commit of case messages: concurrent posts share one transaction in a worker thread.

A post is a handful of statements (the caller in the case, the device and its signing key,
the message id not taken, the case's next sequence number, the row). Run one by one through
the async engine, each statement is several hops between the event loop and the database
thread, and that, not SQLite, was most of a post's CPU. ``PostBatcher`` queues posts while
a commit is in flight and records the whole queue in the next transaction, run whole in
one worker thread on the blocking engine (``Database.sync_engine``): a few statements per
batch, one hop, one fsync. It is the relay's group commit (:mod:`caducee.relay.batching`)
applied to MISS, on the same queue (:class:`caducee.store.group_commit.GroupCommit`).

Each post still gets its own answer, with the same checks and the same errors as one alone
(:meth:`CaseService._post`): the caller must be in the case, the device theirs and active,
the ciphertext's signed header for this case and device (checked with the device's key,
:func:`.envelope.check_envelope`); a message id already taken is answered as a replay (the
same post again: its sequence; anything else: refused). Only messages, edits and deletions
are batched: read receipts and acknowledgements stop escalations, and a key's recipient
must be someone the case may reach (:meth:`CaseService._recipient_in_case`), so those keep
the one-by-one path, where those rules live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, tuple_, update

from caducee.errors import CaduceeError
from caducee.instant.envelope import MessageKind, check_envelope
from caducee.instant.models import Case, CaseMessage, Device, Participant
from caducee.instant.service_errors import (
    CaseNotFound,
    DeviceRevoked,
    MessageReplayed,
    UnknownDevice,
)
from caducee.store import Database, is_sqlite
from caducee.store.group_commit import GroupCommit

__all__ = ["BATCHED_KINDS", "PendingPost", "PostBatcher", "PostOutcome"]

log = logging.getLogger(__name__)
BATCHED_KINDS = frozenset({MessageKind.MESSAGE, MessageKind.EDIT, MessageKind.DELETION})
MAX_BATCH = 500

#: (sequence, created) or the domain error the post gets.
PostOutcome = tuple[int, bool] | BaseException


@dataclass
class PendingPost:
    """One post waiting for the next commit."""

    caller: str
    case_id: str
    device_id: str
    message_id: str
    kind: MessageKind
    ciphertext: bytes
    digest: str
    future: asyncio.Future[tuple[int, bool]] = field(repr=False)


class PostBatcher:
    """Records queued posts, one transaction per batch, in arrival order."""

    def __init__(self, database: Database, *, now: Callable[[], datetime]) -> None:
        self.database = database
        self.now = now
        self.queue: GroupCommit[PendingPost, tuple[int, bool]] = GroupCommit(
            self._commit,
            take=lambda queue: MAX_BATCH,
            taken=lambda post: MessageReplayed(
                "identifiant de message déjà utilisé / message id already used"
            ),
            thread_name="caducee-posts",
            turn=database.writing,
        )

    @property
    def batches(self) -> int:
        """Transactions run so far."""
        return self.queue.batches

    async def close(self) -> None:
        """Record what is queued, then end the worker thread."""
        await self.queue.close()

    async def record(self, post: PendingPost) -> tuple[int, bool]:
        """Wait for the commit that records ``post``: (its sequence, whether it is new)."""
        return await self.queue.record(post)

    def _commit(self, batch: list[PendingPost]) -> list[PostOutcome]:
        sqlite = is_sqlite(self.database.url)
        with self.database.sync_engine.begin() as connection:
            if sqlite:  # take the write lock first (a read-then-write could get SQLITE_BUSY)
                connection.execute(update(Case).where(Case.id == "").values(last_sequence=0))
            facts = _Facts.read(connection, batch, sqlite=sqlite)
            outcomes: list[PostOutcome] = []
            rows: list[dict[str, Any]] = []
            now = self.now()
            for post in batch:
                outcome = facts.allocate(post)
                outcomes.append(outcome)
                if isinstance(outcome, tuple) and outcome[1]:
                    rows.append(_row(post, outcome[0], now))
            if rows:
                connection.execute(insert(CaseMessage), rows)
                connection.execute(
                    update(Case)
                    .where(Case.id == bindparam("case"))
                    .values(last_sequence=bindparam("last")),
                    [{"case": c, "last": n} for c, n in facts.sequence.items()],
                )
        for row in rows:
            log.info(
                "case %s: message %d (%s, %s)",
                row["case_id"],
                row["sequence"],
                row["kind"],
                row["ciphertext_sha256"][:16],
            )
        return outcomes


def _row(post: PendingPost, sequence: int, now: datetime) -> dict[str, Any]:
    return {
        "case_id": post.case_id,
        "sequence": sequence,
        "message_id": post.message_id,
        "kind": post.kind.value,
        "sender_address": post.caller,
        "sender_device_id": post.device_id,
        "recipient_device_id": None,  # only keys have one, and they are not batched
        "ciphertext": post.ciphertext,
        "ciphertext_sha256": post.digest,
        "created_at": now,
    }


@dataclass
class _Facts:
    """What a batch's checks need, read in a few statements of its transaction."""

    members: set[tuple[str, str]]
    devices: dict[str, Any]
    known: dict[str, Any]
    sequence: dict[str, int]
    envelopes: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, connection: Connection, batch: list[PendingPost], *, sqlite: bool) -> _Facts:
        pairs = {(p.case_id, p.caller) for p in batch}
        members = {
            (row[0], row[1])
            for row in connection.execute(
                select(Participant.case_id, Participant.address).where(
                    tuple_(Participant.case_id, Participant.address).in_(pairs),
                    Participant.removed_at.is_(None),
                )
            )
        }
        devices = {
            row.device_id: row
            for row in connection.execute(
                select(
                    Device.device_id, Device.address, Device.revoked_at, Device.signing_public
                ).where(Device.device_id.in_({p.device_id for p in batch}))
            )
        }
        known = {
            row.message_id: row
            for row in connection.execute(
                select(
                    CaseMessage.message_id,
                    CaseMessage.case_id,
                    CaseMessage.sequence,
                    CaseMessage.sender_address,
                    CaseMessage.ciphertext_sha256,
                ).where(CaseMessage.message_id.in_({p.message_id for p in batch}))
            )
        }
        cases = select(Case.id, Case.last_sequence).where(
            Case.id.in_({case for case, _ in members})
        )
        if not sqlite:  # lock the counters (sorted: no deadlock with another process)
            cases = cases.order_by(Case.id).with_for_update()
        sequence = {row.id: row.last_sequence for row in connection.execute(cases)}
        return cls(members, devices, known, sequence)

    def _envelope(self, post: PendingPost) -> Any:
        """The post's checked envelope, or the error it gets (each checked once)."""
        key = id(post)
        if key not in self.envelopes:
            try:
                if (post.case_id, post.caller) not in self.members:
                    raise CaseNotFound("conversation introuvable / case not found")
                device = self.devices.get(post.device_id)
                if device is None or device.address != post.caller:
                    raise UnknownDevice("appareil inconnu / unknown device")
                if device.revoked_at is not None:
                    raise DeviceRevoked("cet appareil est révoqué / this device is revoked")
                self.envelopes[key] = check_envelope(
                    post.kind,
                    post.ciphertext,
                    case_id=post.case_id,
                    sender_device_id=post.device_id,
                    signing_public=bytes(device.signing_public),
                )
            except CaduceeError as exc:
                self.envelopes[key] = exc
        return self.envelopes[key]

    def allocate(self, post: PendingPost) -> PostOutcome:
        """The post's sequence (taken from the case's counter) or its error."""
        envelope = self._envelope(post)
        if isinstance(envelope, BaseException):
            return envelope
        known = self.known.get(post.message_id)
        if known is not None:
            if (
                known.case_id == post.case_id
                and known.sender_address == post.caller
                and known.ciphertext_sha256 == post.digest
            ):
                return (known.sequence, False)
            return MessageReplayed("identifiant de message déjà utilisé / message id already used")
        number = self.sequence[post.case_id] + 1
        self.sequence[post.case_id] = number
        self.known[post.message_id] = _Known(
            post.message_id, post.case_id, number, post.caller, post.digest
        )
        return (number, True)


@dataclass(frozen=True)
class _Known:
    message_id: str
    case_id: str
    sequence: int
    sender_address: str
    ciphertext_sha256: str
