"""The prescriptions service on the database: the Task lifecycle, evidence, receipts.

Each transition is one transaction: a conditional ``UPDATE ... WHERE status = <from>`` (so
of two pharmacies accepting at once exactly one row update succeeds, on SQLite and
PostgreSQL alike), the evidence record (``EvidenceEvent.PRESCRIPTION_TRANSITION``, chained
per prescription), and the patient's access-log line commit together or not at all.
Repeating a transition that already happened, by the same caller, answers as the first time.
Access codes and pharmacy secrets are HMAC-derived from a server key (so they can be shown
again to whom they belong) and stored as SHA-256 only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.directory.models import CertificateStatus, MailboxCertificate
from caducee.evidence import EvidenceLog
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.prescriptions.access import CardAccess, aware, record_access, sha256_hex
from caducee.prescriptions.bundle import Prescription, parse_bundle
from caducee.prescriptions.codes import DrugCodeKind
from caducee.prescriptions.dispense import DispenseItem, Outcome, check_dispense
from caducee.prescriptions.drugs import DrugCatalogue
from caducee.prescriptions.errors import (
    NotAllowed,
    PrescriptionError,
    SignatureRejected,
    TransitionRefused,
    UnknownDrug,
    UnknownTask,
)
from caducee.prescriptions.ids import new_prescription_id, parse_prescription_id
from caducee.prescriptions.models import DispenseLine, Task
from caducee.prescriptions.receipt import RECEIPT_VERSION, sign_receipt
from caducee.prescriptions.roles import Caller, Role
from caducee.prescriptions.states import Action, TaskStatus, next_status
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = [
    "DEFAULT_VALIDITY",
    "HISTORY_WINDOW",
    "AcceptedTask",
    "PrescriptionService",
    "TaskView",
]

DEFAULT_VALIDITY = timedelta(days=90)  # a community prescription is valid three months
HISTORY_WINDOW = timedelta(days=122)  # the Dossier Pharmaceutique shows four months
CLOCK_SKEW = timedelta(minutes=5)
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


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
    view: TaskView
    secret: str


def _changed(task: Task) -> TransitionRefused:
    return TransitionRefused(
        f"ordonnance modifiée entre-temps, maintenant « {task.status} » / the prescription "
        f"changed meanwhile, now {task.status!r}",
        status=task.status,
    )


_READ: OrderedDict[str, Prescription] = OrderedDict()
_READ_MAX = 2048


def _remember(digest: str, prescription: Prescription) -> Prescription:
    _READ[digest] = prescription
    _READ.move_to_end(digest)
    while len(_READ) > _READ_MAX:
        _READ.popitem(last=False)
    return prescription


def _read_signed(signed: bytes) -> Prescription:
    """The checked prescription inside a stored CMS: a signed bundle never changes, so it is
    verified and parsed once per process (keyed by its SHA-256), not at every read."""
    digest = hashlib.sha256(signed).hexdigest()
    known = _READ.get(digest)
    if known is not None:
        return known
    return _remember(digest, parse_bundle(verify_signed_data(signed).content))


def _verify_and_parse(signed: bytes) -> tuple[x509.Certificate, Prescription]:
    """The signer's certificate and the checked prescription of a prescriber's CMS."""
    try:
        content = verify_signed_data(signed)
    except CryptoError as exc:
        raise SignatureRejected(
            f"signature du prescripteur invalide / prescriber signature invalid ({exc.code})"
        ) from None
    return content.signer_certificate, parse_bundle(content.content)


def _opt(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


class PrescriptionService:
    """One deployment's prescriptions: ``hmac_key`` is a 32-byte server secret."""

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
            what = (
                "prescripteur / prescriber" if role is Role.PRESCRIBER else "pharmacie / pharmacy"
            )
            raise NotAllowed(f"réservé au rôle {what} / only for the {role.value} role")

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

    async def _dispense(self, session: AsyncSession, task_id: str) -> tuple[DispenseItem, ...]:
        rows = await session.scalars(
            select(DispenseLine).where(DispenseLine.task_id == task_id).order_by(DispenseLine.line)
        )
        return tuple(
            DispenseItem(r.line, Outcome(r.outcome), r.quantity, r.code, r.reason) for r in rows
        )

    async def _view(self, session: AsyncSession, task: Task, *, content: bool = False) -> TaskView:
        prescription, signed = None, None
        if content and task.bundle_cms is not None:
            signed = bytes(task.bundle_cms)
            prescription = _read_signed(signed)
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
                await self._dispense(session, task.id)
                if task.status == TaskStatus.COMPLETED.value
                else ()
            ),
            prescription=prescription,
            signed_bundle=signed,
            receipt=task.receipt_json,
        )

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

    # -- prescriber -------------------------------------------------------------------------

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
        signer, prescription = await asyncio.to_thread(_verify_and_parse, signed)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            await self._expire_if_due(session, task)
            if task.status == TaskStatus.READY.value and task.bundle_sha256 == digest:
                return await self._view(session, task)  # the same request again
            next_status(TaskStatus(task.status), Action.ACTIVATE)  # refuse early, clearly
            await self._check_signer(session, caller, signer)
            _remember(digest, prescription)
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
                    return await self._view(session, task)  # a concurrent identical request
                raise _changed(task)
            await record_access(session, prescription.nir, caller.address, "deposit", now, task.id)
            return await self._view(session, task)

    async def abort(self, caller: Caller, task_id: str) -> TaskView:
        """``$abort`` by the prescriber: draft/ready → cancelled; the bundle is deleted."""
        self._require(caller, Role.PRESCRIBER)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id, lock=True)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            if task.status == TaskStatus.CANCELLED.value:
                return await self._view(session, task)
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
                    return await self._view(session, task)
                raise _changed(task)
            if task.patient_nir:
                await record_access(
                    session, task.patient_nir, caller.address, "cancel", now, task.id
                )
            return await self._view(session, task)

    async def prescriber_view(self, caller: Caller, task_id: str) -> TaskView:
        self._require(caller, Role.PRESCRIBER)
        async with self.database.transaction() as session:
            task = await self._load(session, task_id)
            if task.prescriber_mailbox_id != caller.mailbox_id:
                raise UnknownTask("ordonnance inconnue / unknown prescription")
            await self._expire_if_due(session, task)
            return await self._view(session, task, content=True)

    async def prescriber_list(self, caller: Caller, limit: int = 100) -> list[TaskView]:
        self._require(caller, Role.PRESCRIBER)
        async with self.database.sessions() as session:
            tasks = await session.scalars(
                select(Task)
                .where(Task.prescriber_mailbox_id == caller.mailbox_id)
                .order_by(Task.created_at.desc())
                .limit(min(limit, 500))
            )
            return [await self._view(session, t) for t in tasks]

    # -- pharmacy ---------------------------------------------------------------------------

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
            return await self._view(session, task, content=True)

    def _check_code(self, task: Task, access_code: str | None) -> None:
        if not access_code or not hmac.compare_digest(
            sha256_hex(access_code), task.access_code_sha256
        ):
            raise UnknownTask("ordonnance ou code d'accès inconnu / unknown prescription or code")

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
                views.append(await self._view(session, task, content=True))
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
            views = [await self._view(session, t, content=True) for t in tasks]
            await record_access(
                session, grant.nir, caller.address, "history", self.now(), None, "consent"
            )
            return views

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
                    await self._view(session, task, content=True), self._secret(task)
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
                    view = await self._view(session, task, content=True)
                    return AcceptedTask(view, self._secret(task))
                if task.status != TaskStatus.IN_PROGRESS.value:
                    raise _changed(task)  # cancelled or closed meanwhile
                raise TransitionRefused(
                    "déjà prise en charge par une autre pharmacie / already accepted by another "
                    "pharmacy",
                    status=task.status,
                    code="already-accepted",
                )
            assert task.patient_nir is not None
            await record_access(session, task.patient_nir, caller.address, "accept", now, task.id)
            return AcceptedTask(await self._view(session, task, content=True), secret)

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
                return await self._view(session, task)
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
                    return await self._view(session, task)
                raise _changed(task)
            assert task.patient_nir is not None
            await record_access(
                session, task.patient_nir, caller.address, "reject", self.now(), task.id
            )
            return await self._view(session, task)

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
                return await self._view(session, task)  # closed already: same receipt
            next_status(TaskStatus(task.status), Action.CLOSE)
            assert task.bundle_cms is not None and task.accepted_at is not None
            prescription = _read_signed(bytes(task.bundle_cms))
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
                    return await self._view(session, task)  # a concurrent identical close
                raise _changed(task)
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
            return await self._view(session, task)

    # -- background -------------------------------------------------------------------------

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
