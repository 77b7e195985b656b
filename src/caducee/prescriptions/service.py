"""The prescriptions service on the database: the Task lifecycle, evidence, receipts.

One class made of its parts, each a module of its own:

- :mod:`~caducee.prescriptions.task_core`: the task row, its conditional transitions and
  their evidence (one transaction each), the HMAC-derived codes and secrets;
- :mod:`~caducee.prescriptions.prescriber`: create, activate (a signed bundle), abort, read;
- :mod:`~caducee.prescriptions.pharmacy_reads`: by the paper code, with the card, history;
- :mod:`~caducee.prescriptions.pharmacy_dispensing`: accept, reject, close with a receipt;
- :mod:`~caducee.prescriptions.task_views`: what a caller sees of a task;
- here: the expiry sweep.
"""

from __future__ import annotations

from sqlalchemy import select

from caducee.prescriptions.models import Task
from caducee.prescriptions.pharmacy_dispensing import PharmacyDispensing
from caducee.prescriptions.pharmacy_reads import HISTORY_WINDOW, PharmacyReads
from caducee.prescriptions.prescriber import PrescriberActions
from caducee.prescriptions.states import TaskStatus
from caducee.prescriptions.task_core import DEFAULT_VALIDITY
from caducee.prescriptions.task_views import AcceptedTask, TaskView

__all__ = [
    "DEFAULT_VALIDITY",
    "HISTORY_WINDOW",
    "AcceptedTask",
    "PrescriptionService",
    "TaskView",
]


class PrescriptionService(PrescriberActions, PharmacyReads, PharmacyDispensing):
    """One deployment's prescriptions: ``hmac_key`` is a 32-byte server secret."""

    async def expire_due(self, limit: int = 500) -> int:
        """Cancel the drafts and ready prescriptions whose validity is over; return how many."""
        now = self.now()
        async with self.database.sessions() as session:
            ids = list(
                await session.scalars(
                    select(Task.id)
                    .where(
                        Task.status.in_([TaskStatus.DRAFT.value, TaskStatus.READY.value]),
                        Task.expires_at <= now,
                    )
                    .limit(limit)
                )
            )
        count = 0
        for task_id in ids:
            async with self.database.transaction() as session:
                task = await session.get(Task, task_id, with_for_update=True)
                if task is not None:
                    before = task.status
                    await self._expire_if_due(session, task)
                    count += task.status != before
        return count
