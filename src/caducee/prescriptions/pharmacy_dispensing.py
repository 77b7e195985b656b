"""The pharmacy's moves: accept (take charge), reject (give back), close (dispense).

Accepting derives a secret for this pharmacy only (HMAC of the task and a nonce; only its
SHA-256 is stored): reject and close need it, so no other pharmacy can act on a task held
elsewhere. Closing records every line's dispensing and a receipt signed by the server.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Sequence

from caducee.prescriptions.access import aware, record_access, sha256_hex
from caducee.prescriptions.dispense import DispenseItem, Outcome, check_dispense
from caducee.prescriptions.drugs import DrugCatalogue
from caducee.prescriptions.errors import NotAllowed, TransitionRefused, UnknownDrug, UnknownTask
from caducee.prescriptions.models import DispenseLine, Task
from caducee.prescriptions.receipt import RECEIPT_VERSION, sign_receipt
from caducee.prescriptions.roles import Caller, Role
from caducee.prescriptions.signed_bundles import read_signed
from caducee.prescriptions.states import Action, TaskStatus, next_status
from caducee.prescriptions.task_core import TaskCore, changed
from caducee.prescriptions.task_views import AcceptedTask, TaskView, task_view

__all__ = ["PharmacyDispensing"]


class PharmacyDispensing(TaskCore):
    """What a pharmacy does with a prescription it holds."""

    async def accept(
        self,
        caller: Caller,
        task_id: str,
        *,
        access_code: str | None = None,
        card_token: str | None = None,
    ) -> AcceptedTask:
        """``$accept``: ready → in-progress for this pharmacy only; returns its secret."""
        self._require(caller, Role.PHARMACY)
        now = self.now()
        async with self.database.transaction() as session:
            task = await self._load(session, task_id)
            if card_token is not None:
                grant = await self.access.check(session, card_token, caller.address)
                if grant.nir != task.patient_nir:
                    raise UnknownTask("ordonnance inconnue / unknown prescription")
            else:
                self._check_code(task, access_code)
            await self._expire_if_due(session, task)
            if task.status == TaskStatus.IN_PROGRESS.value and (
                task.pharmacy_mailbox_id == caller.mailbox_id
            ):
                return AcceptedTask(
                    await task_view(session, task, content=True), self._secret(task)
                )
            if task.status == TaskStatus.IN_PROGRESS.value:
                raise TransitionRefused(
                    "déjà prise en charge par une autre pharmacie / already accepted by another "
                    "pharmacy",
                    status=task.status,
                    code="already-accepted",
                )
            next_status(TaskStatus(task.status), Action.ACCEPT)
            nonce = secrets.token_hex(16)
            secret = self._derive("secret", task.id, nonce)
            if not await self._transition(
                session,
                task,
                Action.ACCEPT,
                caller.address,
                pharmacy_mailbox_id=caller.mailbox_id,
                pharmacy_address=caller.address,
                accept_nonce=nonce,
                secret_sha256=sha256_hex(secret),
                accepted_at=now,
            ):
                await session.refresh(task)
                if task.pharmacy_mailbox_id == caller.mailbox_id and task.accept_nonce:
                    view = await task_view(session, task, content=True)
                    return AcceptedTask(view, self._secret(task))
                if task.status != TaskStatus.IN_PROGRESS.value:
                    raise changed(task)  # cancelled or closed meanwhile
                raise TransitionRefused(
                    "déjà prise en charge par une autre pharmacie / already accepted by another "
                    "pharmacy",
                    status=task.status,
                    code="already-accepted",
                )
            assert task.patient_nir is not None
            await record_access(session, task.patient_nir, caller.address, "accept", now, task.id)
            return AcceptedTask(await task_view(session, task, content=True), secret)

    def _secret(self, task: Task) -> str:
        assert task.accept_nonce is not None
        return self._derive("secret", task.id, task.accept_nonce)

    def _check_holder(self, task: Task, caller: Caller, secret: str | None) -> None:
        if (
            task.pharmacy_mailbox_id != caller.mailbox_id
            or task.secret_sha256 is None
            or not secret
            or not hmac.compare_digest(sha256_hex(secret), task.secret_sha256)
        ):
            raise NotAllowed(
                "cette ordonnance est tenue par une autre pharmacie / another pharmacy holds it",
                code="not-holder",
            )

    async def reject(self, caller: Caller, task_id: str, secret: str | None) -> TaskView:
        """``$reject``: in-progress → ready; the patient may go elsewhere."""
        self._require(caller, Role.PHARMACY)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            if task.status == TaskStatus.READY.value:
                return await task_view(session, task)
            self._check_holder(task, caller, secret)
            if not await self._transition(
                session,
                task,
                Action.REJECT,
                caller.address,
                pharmacy_mailbox_id=None,
                pharmacy_address=None,
                secret_sha256=None,
                accept_nonce=None,
                accepted_at=None,
            ):
                await session.refresh(task)
                if task.status == TaskStatus.READY.value:
                    return await task_view(session, task)
                raise changed(task)
            assert task.patient_nir is not None
            await record_access(
                session, task.patient_nir, caller.address, "reject", self.now(), task.id
            )
            return await task_view(session, task)

    async def close(
        self, caller: Caller, task_id: str, secret: str | None, items: Sequence[DispenseItem]
    ) -> TaskView:
        """``$close``: in-progress → completed with every line's dispensing; signed receipt."""
        self._require(caller, Role.PHARMACY)
        now = self.now()
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            self._check_holder(task, caller, secret)
            if task.status == TaskStatus.COMPLETED.value:
                return await task_view(session, task)  # closed already: same receipt
            next_status(TaskStatus(task.status), Action.CLOSE)
            assert task.bundle_cms is not None and task.accepted_at is not None
            prescription = read_signed(bytes(task.bundle_cms))
            lines = check_dispense(prescription, items)
            codes = [i.code for i in lines if i.outcome is Outcome.SUBSTITUTED and i.code]
            unknown = await DrugCatalogue.unknown(session, codes)
            if unknown:
                raise UnknownDrug(
                    f"CIP13 absent de la base des médicaments / CIP13 not in the drug database: "
                    f"{', '.join(unknown[:5])}"
                )
            body = {
                "v": RECEIPT_VERSION,
                "prescription_id": task.id,
                "pharmacy": caller.address,
                "accepted_at": aware(task.accepted_at).isoformat(),
                "completed_at": now.isoformat(),
                "prescription_sha256": task.bundle_sha256,
                "dispense": [i.to_json() for i in lines],
            }
            receipt = sign_receipt(body, self.log.identity.private_key).to_json()
            if not await self._transition(
                session, task, Action.CLOSE, caller.address, completed_at=now, receipt_json=receipt
            ):
                await session.refresh(task)
                if task.status == TaskStatus.COMPLETED.value:
                    self._check_holder(task, caller, secret)
                    return await task_view(session, task)  # a concurrent identical close
                raise changed(task)
            for item in lines:
                session.add(
                    DispenseLine(
                        task_id=task.id,
                        line=item.line,
                        outcome=item.outcome.value,
                        code=item.code,
                        quantity=item.quantity,
                        reason=item.reason,
                        handed_over_at=now,
                    )
                )
            assert task.patient_nir is not None
            summary = json.dumps([i.outcome.value for i in lines])
            await record_access(
                session, task.patient_nir, caller.address, "dispense", now, task.id, summary
            )
            await session.flush()
            return await task_view(session, task)
