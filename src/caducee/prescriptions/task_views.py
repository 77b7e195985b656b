"""What a caller sees of a prescription task: its states, dates, dispensing and receipt.

The bundle itself (the prescription and its signed CMS) is shown only to who may read it:
the prescriber, and a pharmacy that opened it with the paper code or the patient's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.prescriptions.access import aware
from caducee.prescriptions.bundle import Prescription
from caducee.prescriptions.dispense import DispenseItem, Outcome
from caducee.prescriptions.models import DispenseLine, Task
from caducee.prescriptions.signed_bundles import read_signed
from caducee.prescriptions.states import TaskStatus

__all__ = ["AcceptedTask", "TaskView", "task_view"]


@dataclass(frozen=True)
class TaskView:
    """What a caller may see of a task (the bundle only to who may read it)."""

    id: str
    status: TaskStatus
    prescriber: str
    pharmacy: str | None
    created_at: datetime
    activated_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    expires_at: datetime | None
    cancel_reason: str | None
    bundle_sha256: str | None
    dispense: tuple[DispenseItem, ...] = ()
    prescription: Prescription | None = None
    signed_bundle: bytes | None = None
    receipt: str | None = None


@dataclass(frozen=True)
class AcceptedTask:
    """A task this pharmacy holds, with the secret that proves it at reject and close."""

    view: TaskView
    secret: str


def _opt(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


async def _dispense(session: AsyncSession, task_id: str) -> tuple[DispenseItem, ...]:
    rows = await session.scalars(
        select(DispenseLine).where(DispenseLine.task_id == task_id).order_by(DispenseLine.line)
    )
    return tuple(
        DispenseItem(r.line, Outcome(r.outcome), r.quantity, r.code, r.reason) for r in rows
    )


async def task_view(session: AsyncSession, task: Task, *, content: bool = False) -> TaskView:
    """A task as a caller sees it; ``content`` adds the prescription (to who may read it)."""
    prescription, signed = None, None
    if content and task.bundle_cms is not None:
        signed = bytes(task.bundle_cms)
        prescription = read_signed(signed)
    return TaskView(
        id=task.id,
        status=TaskStatus(task.status),
        prescriber=task.prescriber_address,
        pharmacy=task.pharmacy_address,
        created_at=aware(task.created_at),
        activated_at=_opt(task.activated_at),
        accepted_at=_opt(task.accepted_at),
        completed_at=_opt(task.completed_at),
        cancelled_at=_opt(task.cancelled_at),
        expires_at=_opt(task.expires_at),
        cancel_reason=task.cancel_reason,
        bundle_sha256=task.bundle_sha256,
        dispense=(
            await _dispense(session, task.id) if task.status == TaskStatus.COMPLETED.value else ()
        ),
        prescription=prescription,
        signed_bundle=signed,
        receipt=task.receipt_json,
    )
