"""Escalation: a case sent to a role that nobody reads or acknowledges in time goes further.

Routing (:meth:`.cases.CaseService.create`) reached step 0 of the role's escalation chain
(:func:`.oncall.escalation_chain`: on duty, backup, head of service, the service) and set
``escalation_due_at``. When that instant passes without a read receipt or an "I'm handling
it" from someone the role reached (at any step; never the creator nor people added by hand:
:meth:`.cases.CaseService._answered`), :meth:`Escalator.run_due` adds the next step's people
to the case, through the role, and sets the next deadline; after the last step the case stays
as it is. The chain is resolved again at each step, at that step's time. Each step is a
``CaseEscalated`` record in the transaction that adds the people; the stop is a
``CaseAcknowledged`` or ``CaseRead`` record in the transaction that stores the answer.

Whom the remaining steps would add is the case's *escalation reach*
(:meth:`.cases.CaseService._reach`): clients seal their sender keys to those people's devices
ahead of time, so the people a step adds read the question that triggered it, its sender
offline by then. Moving past a step or stopping needs no key rotation: people who leave the
reach without being added never saw anything of the case.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from caducee.background import BackgroundLoop
from caducee.evidence import EvidenceLog
from caducee.instant.cases import CaseService, Notify
from caducee.instant.models import Case
from caducee.instant.oncall import OnDuty
from caducee.instant.roles import Resolution, aware
from caducee.instant.service_errors import InstantError
from caducee.ledger import EvidenceEvent
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["DEFAULT_INTERVAL", "Escalator", "step_name"]

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 5.0  # seconds between two looks at the deadlines
BATCH = 100


def step_name(duty: OnDuty, step: tuple[str, ...]) -> str:
    """What a step of the chain is, for the evidence: primary, backup, head or service."""
    if step and set(step) <= set(duty.primary):
        return "primary"
    if step and set(step) <= set(duty.backup):
        return "backup"
    if duty.head is not None and step == (duty.head,):
        return "head"
    return "service"


class Escalator:
    def __init__(
        self,
        database: Database,
        evidence: EvidenceLog | None,
        *,
        now: Callable[[], datetime] = utcnow,
        on_commit: Notify | None = None,
    ) -> None:
        self.database = database
        self.cases = CaseService(database, evidence, now=now, on_commit=on_commit)
        self.now = now
        self._loop = BackgroundLoop("instant-escalation")

    async def run_due(self) -> int:
        """Escalate every case whose deadline has passed; the number of cases escalated."""
        now = self.now()
        async with self.database.sessions() as session:
            due = list(
                await session.scalars(
                    select(Case.id)
                    .where(Case.escalation_due_at.is_not(None), Case.escalation_due_at <= now)
                    .order_by(Case.escalation_due_at)
                    .limit(BATCH)
                )
            )
        done = 0
        for case_id in due:
            try:
                escalated = await self._escalate(case_id, now)
                if escalated:
                    await self.cases.announce(case_id, 0)  # the people reached, if connected
                done += escalated
            except InstantError as exc:  # one case's failure never stops the others
                log.warning("case %s: escalation failed: %s", case_id, exc.code)
        return done

    async def _escalate(self, case_id: str, now: datetime) -> int:
        async with self.database.transaction() as session:
            case = await session.get(Case, case_id, with_for_update=True)
            due = case.escalation_due_at if case is not None else None
            if case is None or case.role_id is None or due is None:
                return 0  # answered or escalated meanwhile
            if aware(due) > now:
                return 0
            resolution: Resolution | None
            try:
                resolution = await self.cases.roles.resolve_in(session, case.role_id, now)
            except InstantError:
                resolution = None
            step = case.escalation_level + 1
            if resolution is None or step >= len(resolution.steps):
                case.escalation_due_at = None
                await self.cases.append_evidence(
                    session,
                    EvidenceEvent.CASE_ESCALATED,
                    case,
                    now,
                    role=str(case.role_id),
                    step=str(step),
                    reached="nobody-further",
                )
                log.info("case %s: escalation chain exhausted at step %d", case_id, step)
                return 1
            people = resolution.steps[step]
            await self.cases.add_in(session, case_id, people, case.role_id, now)
            seconds = await self.cases.roles.escalation_seconds(session, case.role_id)
            case.escalation_level = step
            case.escalation_due_at = now + timedelta(seconds=seconds)
            await self.cases.append_evidence(
                session,
                EvidenceEvent.CASE_ESCALATED,
                case,
                now,
                recipients=people,
                role=str(case.role_id),
                step=str(step),
                reached=step_name(resolution.duty, people),
            )
            log.info("case %s: escalated to step %d", case_id, step)
            return 1

    def wake(self) -> None:
        """Look at the deadlines now rather than at the next interval (tests move time)."""
        self._loop.wake()

    def start(self, interval: Callable[[], float]) -> Callable[[], Awaitable[None]]:
        """Run :meth:`run_due` every ``interval()`` seconds, or when woken; returns the stopper."""

        async def loop() -> None:
            while await self._loop.pause(interval()):
                try:
                    await self.run_due()
                except Exception:  # a failed pass is retried at the next one
                    log.exception("escalation pass failed")

        self._loop.start(loop)
        return self._loop.stop
