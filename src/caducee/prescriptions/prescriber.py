"""The prescriber's side: create a draft, activate it with a signed bundle, abort, read.

Activation checks everything before the row moves: the CMS signature (in a thread, before
any row is locked), that the signing certificate is one of the caller's mailbox's and valid
now, that the bundle names this task, this prescriber and known drugs. Repeating a
transition that already happened, by the same caller, answers as the first time.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import CertificateStatus, MailboxCertificate
from caducee.prescriptions.access import aware, record_access, sha256_hex
from caducee.prescriptions.codes import DrugCodeKind
from caducee.prescriptions.drugs import DrugCatalogue
from caducee.prescriptions.errors import SignatureRejected, UnknownDrug, UnknownTask
from caducee.prescriptions.ids import new_prescription_id
from caducee.prescriptions.models import Task
from caducee.prescriptions.roles import Caller, Role
from caducee.prescriptions.signed_bundles import remember_signed, verify_and_parse
from caducee.prescriptions.states import Action, TaskStatus, next_status
from caducee.prescriptions.task_core import TaskCore, changed
from caducee.prescriptions.task_views import TaskView, task_view
from caducee.store.models import IssuedCertificate

__all__ = ["CLOCK_SKEW", "PrescriberActions"]

CLOCK_SKEW = timedelta(minutes=5)


class PrescriberActions(TaskCore):
    """What a prescriber does with their own prescriptions."""

    async def create(self, caller: Caller) -> tuple[str, str]:
        """``$create``: a draft with a new id; returns (id, access code)."""
        self._require(caller, Role.PRESCRIBER)
        now = self.now()
        async with self.database.transaction() as session:
            while True:
                task_id = new_prescription_id()
                if await session.get(Task, task_id) is None:
                    break
            task = Task(
                id=task_id,
                status=TaskStatus.DRAFT.value,
                prescriber_mailbox_id=caller.mailbox_id,
                prescriber_address=caller.address,
                access_code_sha256=sha256_hex(self.access_code(task_id)),
                created_at=now,
                expires_at=now + timedelta(days=1),  # a draft not activated in a day lapses
            )
            session.add(task)
            await session.flush()
            await self._evidence(session, task, caller.address, Action.CREATE, "-", "draft")
        return task_id, self.access_code(task_id)

    async def _check_signer(
        self, session: AsyncSession, caller: Caller, certificate: x509.Certificate
    ) -> None:
        """Refuse unless ``certificate`` is one of the caller's mailbox's, valid now."""
        serial_hex = format(certificate.serial_number, "x")
        now = self.now()
        row = await session.scalar(
            select(IssuedCertificate)
            .join(MailboxCertificate, MailboxCertificate.serial_hex == IssuedCertificate.serial_hex)
            .where(
                MailboxCertificate.mailbox_id == caller.mailbox_id,
                MailboxCertificate.status == CertificateStatus.ACTIVE.value,
                IssuedCertificate.serial_hex == serial_hex,
            )
        )
        if row is None or bytes(row.der) != certificate.public_bytes(Encoding.DER):
            raise SignatureRejected(
                "signé avec un certificat qui n'est pas le vôtre / signed with a certificate "
                "that is not yours"
            )
        if row.revoked_at is not None:
            raise SignatureRejected("certificat du prescripteur révoqué / certificate revoked")
        if not aware(row.not_before) <= now <= aware(row.not_after):
            raise SignatureRejected("certificat du prescripteur expiré / certificate expired")

    async def activate(self, caller: Caller, task_id: str, signed: bytes) -> TaskView:
        """``$activate``: verify the signature and the bundle; draft → ready."""
        self._require(caller, Role.PRESCRIBER)
        digest = hashlib.sha256(signed).hexdigest()
        # CPU work (signature, FHIR models) in a thread, before any row is locked.
        signer, prescription = await asyncio.to_thread(verify_and_parse, signed)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            await self._expire_if_due(session, task)
            if task.status == TaskStatus.READY.value and task.bundle_sha256 == digest:
                return await task_view(session, task)  # the same request again
            next_status(TaskStatus(task.status), Action.ACTIVATE)  # refuse early, clearly
            await self._check_signer(session, caller, signer)
            remember_signed(digest, prescription)
            if prescription.prescription_id != task.id:
                raise SignatureRejected(
                    "l'ordonnance signée porte un autre numéro / the signed prescription has "
                    "another id"
                )
            if prescription.rpps != caller.rpps:
                raise SignatureRejected(
                    "le prescripteur de l'ordonnance n'est pas vous / you are not its prescriber"
                )
            if prescription.authored_on > self.now() + CLOCK_SKEW:
                raise SignatureRejected("date de prescription future / authored in the future")
            codes = [
                line.drug.code
                for line in prescription.lines
                if line.drug is not None and line.drug.kind is DrugCodeKind.CIP13
            ]
            unknown = await DrugCatalogue.unknown(session, codes)
            if unknown:
                raise UnknownDrug(
                    f"CIP13 absent de la base des médicaments / CIP13 not in the drug database: "
                    f"{', '.join(unknown[:5])}"
                )
            now = self.now()
            moved = await self._transition(
                session,
                task,
                Action.ACTIVATE,
                caller.address,
                bundle_cms=signed,
                bundle_sha256=digest,
                patient_nir=prescription.nir,
                lines=len(prescription.lines),
                activated_at=now,
                expires_at=now + self.validity,
            )
            if not moved:
                await session.refresh(task)
                if task.status == TaskStatus.READY.value and task.bundle_sha256 == digest:
                    return await task_view(session, task)  # a concurrent identical request
                raise changed(task)
            await record_access(session, prescription.nir, caller.address, "deposit", now, task.id)
            return await task_view(session, task)

    async def abort(self, caller: Caller, task_id: str) -> TaskView:
        """``$abort`` by the prescriber: draft/ready → cancelled; the bundle is deleted."""
        self._require(caller, Role.PRESCRIBER)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            if task.status == TaskStatus.CANCELLED.value:
                return await task_view(session, task)
            now = self.now()
            if not await self._transition(
                session,
                task,
                Action.ABORT,
                caller.address,
                cancelled_at=now,
                cancel_reason="prescriber",
                bundle_cms=None,
            ):
                await session.refresh(task)
                if task.status == TaskStatus.CANCELLED.value:
                    return await task_view(session, task)
                raise changed(task)
            if task.patient_nir:
                await record_access(
                    session, task.patient_nir, caller.address, "cancel", now, task.id
                )
            return await task_view(session, task)

    async def prescriber_view(self, caller: Caller, task_id: str) -> TaskView:
        self._require(caller, Role.PRESCRIBER)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            await self._expire_if_due(session, task)
            return await task_view(session, task, content=True)

    async def prescriber_list(self, caller: Caller, limit: int = 100) -> list[TaskView]:
        self._require(caller, Role.PRESCRIBER)
        async with self.database.sessions() as session:
            tasks = await session.scalars(
                select(Task)
                .where(Task.prescriber_mailbox_id == caller.mailbox_id)
                .order_by(Task.created_at.desc())
                .limit(min(limit, 500))
            )
            return [await task_view(session, t) for t in tasks]
