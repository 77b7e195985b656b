"""Cases: conversations about a patient, their participants and their messages.

The server holds ids, addresses, sequence numbers and ciphertexts; the patient (INS, name,
birth date) is only inside the ciphertexts. Whoever is not a participant gets
:class:`CaseNotFound` for everything about a case, its existence included.

A case routed to a role has an *escalation reach*: the people the remaining steps of the
role's escalation chain would add (resolved at the instant it is asked, as the escalation
resolves it at each step; empty once the escalation stopped or ran out). Sender keys may be
sealed ahead of time to their devices (and to no other outsider's), so that someone added by
the escalation reads the question that triggered it even when its sender is offline by then.
They still see nothing of the case until they are added. People removed from the case by
hand are never in the reach: their devices must not get the chains that replace theirs. Messages are
numbered per case densely (the case row's ``last_sequence`` is bumped in the transaction
that stores the message) and are unique on ``message_id``: a retry of the same bytes returns
the same sequence, other bytes under a used id are a replay.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import Mailbox
from caducee.evidence import EvidenceLog
from caducee.instant.devices import active_device
from caducee.instant.envelope import MessageKind, check_envelope
from caducee.instant.models import Case, CaseMessage, Device, Participant
from caducee.instant.post_batch import BATCHED_KINDS, PendingPost, PostBatcher
from caducee.instant.retention import case_organisation, retention_days
from caducee.instant.roles import RoleDirectory, aware
from caducee.instant.service_errors import (
    CaseNotFound,
    InstantError,
    InvalidInstantRequest,
    MessageReplayed,
    UnknownParticipant,
)
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["CaseService", "CaseView", "Posted", "StoredMessage", "case_log_id"]

log = logging.getLogger(__name__)
MAX_PAGE = 500
# A bus's publish: (case id, sequence of a new message, or 0 when participants were added).
Notify = Callable[[str, int], Awaitable[None]]


def case_log_id(case_id: str) -> str:
    """The evidence ``message_id`` of a case's routing records."""
    return f"miss-case:{case_id}"


@dataclass(frozen=True)
class CaseView:
    case_id: str
    created_by: str
    role_id: int | None
    participants: tuple[str, ...]
    last_sequence: int
    escalation_level: int
    escalation_due_at: datetime | None
    acknowledged_by: str | None
    retention_days: int | None = None  # its organisation's (None: kept without limit)
    escalation_reach: tuple[str, ...] = ()  # whom the escalation may still add


@dataclass(frozen=True)
class Posted:
    case_id: str
    sequence: int
    created: bool


@dataclass(frozen=True)
class StoredMessage:
    sequence: int
    message_id: str
    kind: str
    sender_address: str
    sender_device_id: str
    recipient_device_id: str | None
    ciphertext: bytes
    created_at: datetime


def _cases_of(caller: str, what: Any) -> Any:
    """Select ``what`` of the cases ``caller`` is in, oldest first."""
    return (
        select(what)
        .join(Participant, Participant.case_id == Case.id)
        .where(Participant.address == caller.lower(), Participant.removed_at.is_(None))
        .order_by(Case.created_at, Case.id)
    )


class CaseService:
    def __init__(
        self,
        database: Database,
        evidence: EvidenceLog | None,
        *,
        now: Callable[[], datetime] = utcnow,
        on_commit: Notify | None = None,
        batcher: PostBatcher | None = None,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.now = now
        self.on_commit = on_commit
        self.batcher = batcher  # the process's group commit of posts, when it runs one
        self.roles = RoleDirectory(database, now=now)

    # -- cases and participants ---------------------------------------------------------------

    async def create(
        self, creator: str, participants: Iterable[str] = (), role_id: int | None = None
    ) -> CaseView:
        """A new case with its creator, the people named, and whoever is on duty for the role."""
        creator = creator.lower()
        case_id = str(uuid.uuid4())
        now = self.now()
        async with self.database.transaction() as session:
            case = Case(
                id=case_id,
                created_by=creator,
                last_sequence=0,
                organisation_finess=await case_organisation(session, creator, role_id),
                created_at=now,
            )
            session.add(case)
            await session.flush()
            await self._known(session, participants)
            await self._add(session, case_id, [creator, *participants], None, now)
            if role_id is not None:
                await self._route(session, case, role_id, now)
            view = await self._view(session, case)
        log.info("case %s created (role %s)", case_id, role_id)
        await self.announce(case_id, 0)
        return view

    async def add_participants(
        self,
        caller: str,
        case_id: str,
        addresses: Iterable[str] = (),
        role_id: int | None = None,
    ) -> CaseView:
        """Add people, or join the people on duty for a role (which starts its escalation)."""
        now = self.now()
        async with self.database.transaction() as session:
            case = await self._case_of(session, caller, case_id, lock=True)
            await self._known(session, addresses)
            await self._add(session, case_id, addresses, None, now)
            if role_id is not None:
                await self._route(session, case, role_id, now)
            view = await self._view(session, case)
        await self.announce(case_id, 0)
        return view

    async def remove_participant(self, caller: str, case_id: str, address: str) -> CaseView:
        """Remove someone (or oneself); they see nothing of the case afterwards."""
        async with self.database.transaction() as session:
            case = await self._case_of(session, caller, case_id, lock=True)
            row = await session.get(Participant, (case_id, address.lower()))
            if row is None or row.removed_at is not None:
                raise InvalidInstantRequest(
                    "cette personne n'est pas dans la conversation / not a participant"
                )
            row.removed_at = self.now()
            await session.flush()
            return await self._view(session, case)

    async def view(self, caller: str, case_id: str) -> CaseView:
        async with self.database.sessions() as session:
            case = await self._case_of(session, caller, case_id)
            return await self._view(session, case)

    async def cases_of(self, caller: str) -> list[CaseView]:
        async with self.database.sessions() as session:
            rows = await session.scalars(_cases_of(caller, Case))
            return [await self._view(session, case) for case in list(rows)]

    async def case_ids_of(self, caller: str) -> list[str]:
        """The ids of ``caller``'s cases, without building their views (the hub's resume)."""
        async with self.database.sessions() as session:
            return list(await session.scalars(_cases_of(caller, Case.id)))

    async def is_participant(self, address: str, case_id: str) -> bool:
        async with self.database.sessions() as session:
            row = await session.get(Participant, (case_id, address.lower()))
            return row is not None and row.removed_at is None

    # -- messages -------------------------------------------------------------------------------

    async def post(
        self,
        caller: str,
        case_id: str,
        *,
        device_id: str,
        message_id: str,
        kind: MessageKind,
        ciphertext: bytes,
    ) -> Posted:
        """Store one message after checking its signed header; idempotent on ``message_id``."""
        caller = caller.lower()
        digest = hashlib.sha256(ciphertext).hexdigest()
        if self.batcher is not None and kind in BATCHED_KINDS:
            future = asyncio.get_running_loop().create_future()
            pending = PendingPost(
                caller, case_id, device_id, message_id, kind, ciphertext, digest, future
            )
            sequence, created = await self.batcher.record(pending)
            if created:
                await self.announce(case_id, sequence)
            return Posted(case_id, sequence, created)
        try:
            async with self.database.transaction() as session:
                posted = await self._post(
                    session, caller, case_id, device_id, message_id, kind, ciphertext, digest
                )
        except IntegrityError:  # the same id committed meanwhile by a concurrent request
            async with self.database.sessions() as session:
                posted = await self._replay(session, case_id, message_id, caller, digest)
        if posted.created:
            await self.announce(case_id, posted.sequence)
        return posted

    async def announce(self, case_id: str, sequence: int) -> None:
        """Tell the hubs, after the commit: a new message, or (sequence 0) new participants."""
        if self.on_commit is None:
            return
        try:
            await self.on_commit(case_id, sequence)
        except Exception:  # stored and durable: devices get it when they resume
            log.exception("case %s: event %d not announced", case_id, sequence)

    async def _post(
        self,
        session: AsyncSession,
        caller: str,
        case_id: str,
        device_id: str,
        message_id: str,
        kind: MessageKind,
        ciphertext: bytes,
        digest: str,
    ) -> Posted:
        await self._case_of(session, caller, case_id)
        device = await active_device(session, caller, device_id)
        envelope = check_envelope(
            kind,
            ciphertext,
            case_id=case_id,
            sender_device_id=device_id,
            signing_public=bytes(device.signing_public),
        )
        if envelope.recipient_device_id is not None:
            await self._recipient_in_case(session, case_id, envelope.recipient_device_id)
        known = await session.scalar(
            select(CaseMessage).where(CaseMessage.message_id == message_id)
        )
        if known is not None:
            return await self._replay(session, case_id, message_id, caller, digest)
        sequence = await session.scalar(
            update(Case)
            .where(Case.id == case_id)
            .values(last_sequence=Case.last_sequence + 1)
            .returning(Case.last_sequence)
        )
        assert sequence is not None
        now = self.now()
        session.add(
            CaseMessage(
                case_id=case_id,
                sequence=sequence,
                message_id=message_id,
                kind=kind.value,
                sender_address=caller,
                sender_device_id=device_id,
                recipient_device_id=envelope.recipient_device_id,
                ciphertext=ciphertext,
                ciphertext_sha256=digest,
                created_at=now,
            )
        )
        await session.flush()
        if kind in (MessageKind.READ, MessageKind.ACK):
            await self._answered(session, case_id, caller, kind, message_id, digest, now)
        log.info("case %s: message %d (%s, %s)", case_id, sequence, kind.value, digest[:16])
        return Posted(case_id, sequence, True)

    async def _replay(
        self, session: AsyncSession, case_id: str, message_id: str, caller: str, digest: str
    ) -> Posted:
        known = await session.scalar(
            select(CaseMessage).where(CaseMessage.message_id == message_id)
        )
        if (
            known is not None
            and known.case_id == case_id
            and known.sender_address == caller
            and known.ciphertext_sha256 == digest
        ):
            return Posted(case_id, known.sequence, False)
        raise MessageReplayed("identifiant de message déjà utilisé / message id already used")

    async def messages(
        self, caller: str, case_id: str, *, device_id: str, after: int = 0, limit: int = 100
    ) -> tuple[int, list[StoredMessage]]:
        """(last sequence, messages after ``after``) for one of the caller's active devices.

        Sender keys sealed to other devices are left out: each device gets its own.
        """
        async with self.database.sessions() as session:
            case = await self._case_of(session, caller, case_id)
            await active_device(session, caller.lower(), device_id)
            rows = await session.scalars(
                select(CaseMessage)
                .where(CaseMessage.case_id == case_id, CaseMessage.sequence > after)
                .where(
                    (CaseMessage.recipient_device_id.is_(None))
                    | (CaseMessage.recipient_device_id == device_id)
                )
                .order_by(CaseMessage.sequence)
                .limit(min(max(limit, 1), MAX_PAGE))
            )
            return case.last_sequence, [
                StoredMessage(
                    r.sequence,
                    r.message_id,
                    r.kind,
                    r.sender_address,
                    r.sender_device_id,
                    r.recipient_device_id,
                    bytes(r.ciphertext),
                    aware(r.created_at),
                )
                for r in rows
            ]

    # -- routing to a role ------------------------------------------------------------------

    async def _route(self, session: AsyncSession, case: Case, role_id: int, now: datetime) -> None:
        """Resolve the role now, add the first reachable step, start the escalation timer."""
        resolution = await self.roles.resolve_in(session, role_id, now)
        first = resolution.steps[0]
        await self._add(session, case.id, first, role_id, now)
        seconds = await self.roles.escalation_seconds(session, role_id)
        case.role_id = role_id
        case.escalation_level = 0
        case.escalation_due_at = now + timedelta(seconds=seconds)
        case.acknowledged_by = None
        level = "primary" if resolution.duty.primary else "fallback"
        await self.append_evidence(
            session,
            EvidenceEvent.CASE_ROUTED,
            case,
            now,
            recipients=first,
            role=str(role_id),
            step="0",
            reached=level,
        )

    async def _answered(
        self,
        session: AsyncSession,
        case_id: str,
        caller: str,
        kind: MessageKind,
        message_id: str,
        digest: str,
        now: datetime,
    ) -> None:
        """A read receipt or an "I'm handling it" from one the role reached stops the escalation.

        The role's people are the ones who must answer: a participant counts when the case's
        role reached them (``Participant.via_role_id``), at step 0 or at any later step (the
        backup, the head of service, the service). The case's creator never counts, nor does
        anyone added by hand: their read receipt or acknowledgement stays a message of the case,
        but the case is not marked taken in hand, no record is written, and the escalation goes
        on. A stop is evidence in the transaction that stores the message: ``CaseAcknowledged``
        for the first acknowledgement (also after a read stopped the escalation), ``CaseRead``
        for a read receipt that stops a running escalation (the reader, the receipt's id and
        digest, the step reached); later read receipts stop nothing and leave no record.
        """
        # Locked and read afresh: the escalator may have moved a step since this
        # transaction first loaded the case.
        case = await session.get(Case, case_id, with_for_update=True, populate_existing=True)
        assert case is not None
        if case.role_id is None or caller == case.created_by:
            return
        via_role = await session.scalar(
            select(Participant.via_role_id).where(
                Participant.case_id == case_id, Participant.address == caller
            )
        )
        if via_role != case.role_id:
            return
        running = case.escalation_due_at is not None
        if kind is MessageKind.ACK and case.acknowledged_by is None:
            case.acknowledged_by = caller
            await self.append_evidence(
                session,
                EvidenceEvent.CASE_ACKNOWLEDGED,
                case,
                now,
                actor=caller,
                recipients=(case.created_by,),
                ciphertext_sha256=digest,
                acknowledged_message=message_id,
            )
        elif kind is MessageKind.READ and running:
            await self.append_evidence(
                session,
                EvidenceEvent.CASE_READ,
                case,
                now,
                actor=caller,
                recipients=(case.created_by,),
                ciphertext_sha256=digest,
                read_receipt=message_id,
                role=str(case.role_id),
                step=str(case.escalation_level),
            )
        if running:
            case.escalation_due_at = None
            log.info("case %s: escalation stopped by a %s", case_id, kind.value)

    async def append_evidence(
        self,
        session: AsyncSession,
        event: EvidenceEvent,
        case: Case,
        now: datetime,
        *,
        recipients: Sequence[str] = (),
        actor: str = "miss-router",
        ciphertext_sha256: str | None = None,
        **extra: str,
    ) -> None:
        if self.evidence is None:
            return
        await self.evidence.append(
            session,
            EvidenceRecord(
                event=event,
                message_id=case_log_id(case.id),
                ciphertext_sha256=ciphertext_sha256 or hashlib.sha256(case.id.encode()).hexdigest(),
                actor_id=actor,
                time=now,
                sender_id=case.created_by,
                recipient_ids=tuple(recipients),
                extra={"case_id": case.id, **extra},
            ),
        )

    # -- helpers --------------------------------------------------------------------------------

    async def add_in(
        self,
        session: AsyncSession,
        case_id: str,
        addresses: Iterable[str],
        role_id: int | None,
        now: datetime,
    ) -> list[str]:
        return await self._add(session, case_id, addresses, role_id, now)

    async def _add(
        self,
        session: AsyncSession,
        case_id: str,
        addresses: Iterable[str],
        role_id: int | None,
        now: datetime,
    ) -> list[str]:
        """Add (or bring back) participants; returns those who were not in already.

        With ``role_id`` the role reached them, which their row records even when they were
        in already (named by hand, or reached through an earlier role): their answer is then
        the role's (:meth:`_answered`).
        """
        added: list[str] = []
        for address in sorted({a.strip().lower() for a in addresses if a.strip()}):
            row = await session.get(Participant, (case_id, address))
            if row is None:
                session.add(
                    Participant(case_id=case_id, address=address, via_role_id=role_id, added_at=now)
                )
                added.append(address)
                continue
            if role_id is not None:
                row.via_role_id = role_id
            if row.removed_at is not None:
                row.removed_at = None
                row.added_at = now
                added.append(address)
        await session.flush()
        return added

    @staticmethod
    async def _known(session: AsyncSession, addresses: Iterable[str]) -> None:
        """Refuse addresses the directory has no active mailbox for (typos, strangers)."""
        wanted = {a.strip().lower() for a in addresses if a.strip()}
        if not wanted:
            return
        found = set(
            await session.scalars(
                select(Mailbox.address).where(Mailbox.address.in_(wanted), Mailbox.active.is_(True))
            )
        )
        if missing := sorted(wanted - found):
            raise UnknownParticipant(
                "adresse inconnue de l'annuaire / address not in the directory", missing
            )

    async def _recipient_in_case(self, session: AsyncSession, case_id: str, device: str) -> None:
        """A key goes to a participant's device, or to a device of the escalation's reach."""
        row = await session.get(Device, device)
        member = None if row is None else await session.get(Participant, (case_id, row.address))
        if member is not None and member.removed_at is None:
            return
        case = await session.get(Case, case_id)
        if row is None or case is None or row.address not in await self._reach(session, case):
            raise InvalidInstantRequest(
                "clé pour un appareil hors de la conversation / key for a device not in the case"
            )

    async def _reach(self, session: AsyncSession, case: Case) -> tuple[str, ...]:
        """Whom the remaining escalation steps would add, resolved now; () once it stopped."""
        if case.role_id is None or case.escalation_due_at is None:
            return ()
        try:
            resolution = await self.roles.resolve_in(session, case.role_id, self.now())
        except InstantError:  # the role is gone or nobody is reachable: nobody further
            return ()
        already = set(
            await session.scalars(select(Participant.address).where(Participant.case_id == case.id))
        )
        later = resolution.steps[case.escalation_level + 1 :]
        return tuple(sorted({a for step in later for a in step} - already))

    async def _case_of(
        self, session: AsyncSession, caller: str, case_id: str, *, lock: bool = False
    ) -> Case:
        """The case, if ``caller`` is in it; otherwise the same answer as for no such case."""
        participant = await session.get(Participant, (case_id, caller.lower()))
        if participant is None or participant.removed_at is not None:
            raise CaseNotFound("conversation introuvable / case not found")
        case = await session.get(Case, case_id, with_for_update=lock)
        if case is None:
            raise CaseNotFound("conversation introuvable / case not found")
        return case

    async def _view(self, session: AsyncSession, case: Case) -> CaseView:
        people = await session.scalars(
            select(Participant.address)
            .where(Participant.case_id == case.id, Participant.removed_at.is_(None))
            .order_by(Participant.address)
        )
        due = case.escalation_due_at
        return CaseView(
            case.id,
            case.created_by,
            case.role_id,
            tuple(people),
            case.last_sequence,
            case.escalation_level,
            aware(due) if due else None,
            case.acknowledged_by,
            await retention_days(session, case.organisation_finess),
            await self._reach(session, case),
        )
