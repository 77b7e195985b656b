"""The pharmacy's reads: one prescription by its paper code, the patient's by their card.

Nothing here changes a task's state (a lapsed one is left to the expiry sweep), but every
read of a patient's data is a line of their access log. The history needs the patient's
consent at the counter, and is refused if the patient refused it for good.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from caducee.prescriptions.access import aware, record_access
from caducee.prescriptions.errors import NotAllowed, TransitionRefused
from caducee.prescriptions.models import Task
from caducee.prescriptions.roles import Caller, Role
from caducee.prescriptions.states import TaskStatus
from caducee.prescriptions.task_core import TaskCore
from caducee.prescriptions.task_views import TaskView, task_view

__all__ = ["HISTORY_WINDOW", "PharmacyReads"]

HISTORY_WINDOW = timedelta(days=122)  # the Dossier Pharmaceutique shows four months


class PharmacyReads(TaskCore):
    """What a pharmacy may read, with the paper code or the patient's card."""

    async def open_by_code(self, caller: Caller, task_id: str, access_code: str) -> TaskView:
        """The paper code opens one prescription (read only)."""
        self._require(caller, Role.PHARMACY)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id)
            self._check_code(task, access_code)
            await self._expire_if_due(session, task)
            held_by_other = task.status != TaskStatus.READY.value and (
                task.pharmacy_mailbox_id != caller.mailbox_id
            )
            if task.status == TaskStatus.IN_PROGRESS.value and held_by_other:
                raise TransitionRefused(
                    "prise en charge par une autre pharmacie / held by another pharmacy",
                    status=task.status,
                    code="already-accepted",
                )
            if held_by_other or task.patient_nir is None:
                raise TransitionRefused(
                    f"ordonnance « {task.status} » / prescription is {task.status!r}",
                    status=task.status,
                )
            await record_access(
                session, task.patient_nir, caller.address, "open-by-code", self.now(), task.id
            )
            return await task_view(session, task, content=True)

    async def patient_open(self, caller: Caller, card_token: str | None) -> list[TaskView]:
        """With the card: the patient's ready prescriptions; nothing changes state."""
        self._require(caller, Role.PHARMACY)
        async with self.database.transaction() as session:
            grant = await self.access.check(session, card_token, caller.address)
            tasks = list(
                await session.scalars(
                    select(Task)
                    .where(Task.patient_nir == grant.nir, Task.status == TaskStatus.READY.value)
                    .order_by(Task.activated_at)
                )
            )
            views = []
            for task in tasks:
                if task.expires_at is not None and aware(task.expires_at) <= self.now():
                    continue  # lapsed: the expiry sweep cancels it, listing changes nothing
                views.append(await task_view(session, task, content=True))
            await record_access(
                session, grant.nir, caller.address, "list", self.now(), None, f"{len(views)}"
            )
            return views

    async def patient_history(
        self, caller: Caller, card_token: str | None, *, consent: bool
    ) -> list[TaskView]:
        """With the card and the patient's consent: dispensing of the last four months."""
        self._require(caller, Role.PHARMACY)
        async with self.database.transaction() as session:
            grant = await self.access.check(session, card_token, caller.address)
            if await self.access.history_refused(session, grant.nir):
                raise NotAllowed(
                    "le patient a refusé l'accès à son historique / the patient refused access "
                    "to their history",
                    code="history-refused",
                )
            if not consent:
                raise NotAllowed(
                    "consentement du patient requis / the patient's consent is required",
                    code="consent-required",
                )
            since = self.now() - HISTORY_WINDOW
            tasks = await session.scalars(
                select(Task)
                .where(
                    Task.patient_nir == grant.nir,
                    Task.status == TaskStatus.COMPLETED.value,
                    Task.completed_at >= since,
                )
                .order_by(Task.completed_at.desc())
            )
            views = [await task_view(session, t, content=True) for t in tasks]
            await record_access(
                session, grant.nir, caller.address, "history", self.now(), None, "consent"
            )
            return views
