"""The prescription task at the heart of the service: its row, its moves, their evidence.

Each transition is one transaction: a conditional ``UPDATE ... WHERE status = <from>`` (so
of two pharmacies accepting at once exactly one row update succeeds, on SQLite and
PostgreSQL alike), and the evidence record (``EvidenceEvent.PRESCRIPTION_TRANSITION``,
chained per prescription) in the same transaction. Access codes and pharmacy secrets are
HMAC-derived from a server key (so they can be shown again to whom they belong) and stored
as SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.evidence import EvidenceLog
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.prescriptions.access import CardAccess, aware, sha256_hex
from caducee.prescriptions.drugs import DrugCatalogue
from caducee.prescriptions.errors import (
    NotAllowed,
    PrescriptionError,
    TransitionRefused,
    UnknownTask,
)
from caducee.prescriptions.ids import parse_prescription_id
from caducee.prescriptions.models import Task
from caducee.prescriptions.roles import Caller, Role
from caducee.prescriptions.states import Action, TaskStatus, next_status
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["DEFAULT_VALIDITY", "TaskCore", "changed"]

DEFAULT_VALIDITY = timedelta(days=90)  # a community prescription is valid three months
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def changed(task: Task) -> TransitionRefused:
    """The refusal when another request moved the task first."""
    return TransitionRefused(
        f"ordonnance modifiée entre-temps, maintenant « {task.status} » / the prescription "
        f"changed meanwhile, now {task.status!r}",
        status=task.status,
    )


class TaskCore:
    """The service's state and shared steps: ``hmac_key`` is a 32-byte server secret."""

    def __init__(
        self,
        database: Database,
        log: EvidenceLog,
        access: CardAccess,
        *,
        hmac_key: bytes,
        now: Callable[[], datetime] = utcnow,
        validity: timedelta = DEFAULT_VALIDITY,
    ) -> None:
        if len(hmac_key) < 32:
            raise ValueError("the prescriptions HMAC key needs 32 bytes")
        self.database = database
        self.log = log
        self.access = access
        self.drugs = DrugCatalogue(database)
        self._key = hmac_key
        self.now = now
        self.validity = validity

    # -- secrets ------------------------------------------------------------------------

    def _derive(self, *parts: str) -> str:
        return hmac.new(self._key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()

    def access_code(self, task_id: str) -> str:
        return self._derive("access-code", task_id)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _require(caller: Caller, role: Role) -> None:
        if caller.role is not role:
            french = "prescripteur" if role is Role.PRESCRIBER else "pharmacie"
            raise NotAllowed(f"réservé au rôle {french} / only for the {role.value} role")

    async def _load(self, session: AsyncSession, task_id: str, *, lock: bool = False) -> Task:
        try:
            pid = parse_prescription_id(task_id)
        except PrescriptionError:
            raise UnknownTask("ordonnance inconnue / unknown prescription") from None
        task = await session.get(Task, pid, with_for_update=lock)
        if task is None:
            raise UnknownTask("ordonnance inconnue / unknown prescription")
        return task

    async def _evidence(
        self, session: AsyncSession, task: Task, caller: str, action: Action, old: str, new: str
    ) -> None:
        record = EvidenceRecord(
            event=EvidenceEvent.PRESCRIPTION_TRANSITION,
            message_id=task.id,
            ciphertext_sha256=task.bundle_sha256 or _EMPTY_SHA256,
            actor_id=caller,
            time=self.now(),
            previous_record_sha256=task.evidence_sha256,
            extra={"action": action.value, "from": old, "to": new},
        )
        _, signed = await self.log.append(session, record)
        task.evidence_sha256 = signed.record.record_digest()

    async def _transition(
        self,
        session: AsyncSession,
        task: Task,
        action: Action,
        caller: str,
        extra_where: Sequence[object] = (),
        **values: object,
    ) -> bool:
        """UPDATE the row from its current status to the next, if nobody moved it first."""
        old = TaskStatus(task.status)
        new = next_status(old, action)
        done = await session.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == old.value, *extra_where)  # type: ignore[arg-type]
            .values(status=new.value, **values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await session.refresh(task)
        await self._evidence(session, task, caller, action, old.value, new.value)
        return True

    async def _expire_if_due(self, session: AsyncSession, task: Task) -> None:
        if (
            task.status in (TaskStatus.DRAFT.value, TaskStatus.READY.value)
            and task.expires_at is not None
            and aware(task.expires_at) <= self.now()
        ):
            await self._transition(
                session,
                task,
                Action.EXPIRE,
                "caducee:expiry",
                cancelled_at=self.now(),
                cancel_reason="expired",
                bundle_cms=None,
            )

    def _check_code(self, task: Task, access_code: str | None) -> None:
        if not access_code or not hmac.compare_digest(
            sha256_hex(access_code), task.access_code_sha256
        ):
            raise UnknownTask("ordonnance ou code d'accès inconnu / unknown prescription or code")
