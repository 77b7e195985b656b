"""A person's devices: registered from a statement their certificate key signed, or from an
endorsement by one of their certified devices; revoked.

The server checks each statement with the certificate the caller logged in with
(:func:`.device_keys.verify_device_statement`): a forged statement, or one for another
address, is refused. An endorsement (:mod:`.endorsement`) is checked with the endorsing
device's key; the endorser must be the caller's own device, active and certified by a
statement (depth one), and the endorsed keys those of the caller's pending pairing request,
which the registration consumes. The endorsement is stored where a statement is
(``statement``), under the endorser's certificate serial, so nothing in the schema changes;
revoking an endorser revokes, in the same transaction, the devices it endorsed.
Registration and revocation are evidence (``DeviceRegistered``, ``DeviceRevoked``; an
endorsed device's record names ``endorsed_by``), written in the same transaction, so the log
is the devices' history (key transparency for devices, as for certificates).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.evidence import EvidenceLog
from caducee.instant.device_keys import parse_device_statement, verify_device_statement
from caducee.instant.endorsement import endorser_of, is_endorsement, verify_endorsement
from caducee.instant.errors import ForgedDeviceStatement, MalformedInstantData
from caducee.instant.models import Device
from caducee.instant.pairing import MAX_LABEL, take_request, tidy_label
from caducee.instant.roles import aware
from caducee.instant.service_errors import DeviceRevoked, DeviceTaken, InstantError, UnknownDevice
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = [
    "DeviceInfo",
    "DeviceRegistry",
    "EndorsementMismatch",
    "EndorserEndorsed",
    "EndorserRevoked",
    "active_device",
    "device_label",
]

log = logging.getLogger(__name__)
MAX_DEVICE_ID = 128


class EndorserRevoked(InstantError):
    """The endorsing device is revoked: it vouches for nothing any more."""

    code = "instant-endorser-revoked"


class EndorserEndorsed(InstantError):
    """The endorsing device was itself endorsed: only certified devices endorse (depth one)."""

    code = "instant-endorser-endorsed"


class EndorsementMismatch(InstantError):
    """The endorsement's keys are not those of the pairing request it answers."""

    code = "instant-endorsement-mismatch"


@dataclass(frozen=True)
class DeviceInfo:
    """A device as listed; ``statement`` is its endorsement when ``endorsed_by`` is set."""

    device_id: str
    address: str
    kem: int
    statement: bytes
    statement_sha256: str
    registered_at: datetime
    revoked_at: datetime | None
    endorsed_by: str | None = None
    endorser_statement: bytes | None = None
    label: str | None = None


def device_label(label: str | None) -> str | None:
    """A device's name as its person typed it: trimmed, 1 to ``MAX_LABEL`` printable
    characters (None for none); anything else is refused, not cut."""
    if label is None or not label.strip():
        return None
    label = label.strip()
    if len(label) > MAX_LABEL or not label.isprintable():
        raise MalformedInstantData(
            f"nom d'appareil invalide (1 à {MAX_LABEL} caractères imprimables) / "
            f"bad device name (1 to {MAX_LABEL} printable characters)"
        )
    return label


def _info(row: Device, endorser_statement: bytes | None = None) -> DeviceInfo:
    document = bytes(row.statement)
    return DeviceInfo(
        row.device_id,
        row.address,
        row.kem,
        document,
        row.statement_sha256,
        aware(row.registered_at),
        aware(row.revoked_at) if row.revoked_at else None,
        endorser_of(document),
        endorser_statement,
        row.label,
    )


def device_log_id(device_id: str) -> str:
    """The evidence ``message_id`` of a device's records."""
    return f"miss-device:{device_id}"


async def active_device(session: AsyncSession, address: str, device_id: str) -> Device:
    """The caller's device, if registered and not revoked."""
    row = await session.get(Device, device_id)
    if row is None or row.address != address:
        raise UnknownDevice("appareil inconnu / unknown device")
    if row.revoked_at is not None:
        raise DeviceRevoked("cet appareil est révoqué / this device is revoked")
    return row


class DeviceRegistry:
    def __init__(
        self,
        database: Database,
        evidence: EvidenceLog | None,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.now = now

    async def register(
        self, address: str, certificate_serial: str, statement: bytes, label: str | None = None
    ) -> DeviceInfo:
        """Register a device of ``address``, named ``label`` for its person; the same keys
        again are a no-op (a retry)."""
        address = address.lower()
        label = device_label(label)
        async with self.database.transaction() as session:
            issued = await session.get(IssuedCertificate, certificate_serial)
            if issued is None:
                raise ForgedDeviceStatement("certificat inconnu / unknown certificate")
            certificate = x509.load_der_x509_certificate(bytes(issued.der))
            device = verify_device_statement(statement, certificate)
            if device.address != address:
                raise ForgedDeviceStatement(
                    "la déclaration nomme une autre adresse / the statement names another address"
                )
            if len(device.device_id) > MAX_DEVICE_ID or not device.device_id.isprintable():
                raise MalformedInstantData("identifiant d'appareil invalide / bad device id")
            digest = hashlib.sha256(statement).hexdigest()
            known = await session.get(Device, device.device_id)
            if known is not None:
                same_keys = (
                    known.address == address
                    and bytes(known.signing_public) == device.signing_public
                    and bytes(known.hpke_public) == device.hpke_public
                )
                if same_keys and known.revoked_at is None:  # a retry, maybe re-signed
                    return _info(known)
                raise DeviceTaken("cet identifiant d'appareil est pris / device id taken")
            now = self.now()
            row = Device(
                device_id=device.device_id,
                address=address,
                certificate_serial=certificate_serial,
                kem=device.kem.value,
                hpke_public=device.hpke_public,
                signing_public=device.signing_public,
                statement=statement,
                statement_sha256=digest,
                registered_at=now,
                label=label,
            )
            session.add(row)
            await self._evidence(
                session, EvidenceEvent.DEVICE_REGISTERED, row, now, serial=certificate_serial
            )
            log.info("device %s registered for %s", device.device_id, digest[:16])
            return _info(row)

    async def endorser(self, address: str, device_id: str) -> Device:
        """The caller's device, if it may endorse: active, certified by a statement."""
        async with self.database.sessions() as session:
            return _may_endorse(await session.get(Device, device_id), address.lower())

    async def endorse(
        self, address: str, endorser_id: str, code: str, endorsement: bytes
    ) -> DeviceInfo:
        """Register the device of pairing ``code`` from ``endorser_id``'s endorsement.

        The request is consumed in the same transaction; the endorsed device is registered
        under the endorser's certificate serial.
        """
        address = address.lower()
        async with self.database.transaction() as session:
            endorser = _may_endorse(
                await session.get(Device, endorser_id, with_for_update=True), address
            )
            request = await take_request(session, address, code, self.now())
            endorser_keys, _ = parse_device_statement(bytes(endorser.statement))
            device = verify_endorsement(endorsement, endorser_keys)
            if device != request.keys or device.address != address:
                raise EndorsementMismatch(
                    "l'approbation ne porte pas les clés de cette demande : recommencez / "
                    "the approval does not carry this request's keys: start again"
                )
            if await session.get(Device, device.device_id) is not None:
                raise DeviceTaken("cet identifiant d'appareil est pris / device id taken")
            digest = hashlib.sha256(endorsement).hexdigest()
            now = self.now()
            row = Device(
                device_id=device.device_id,
                address=address,
                certificate_serial=endorser.certificate_serial,
                kem=device.kem.value,
                hpke_public=device.hpke_public,
                signing_public=device.signing_public,
                statement=endorsement,
                statement_sha256=digest,
                registered_at=now,
                label=tidy_label(request.label),  # what the browser was named when it asked
            )
            session.add(row)
            await self._evidence(
                session,
                EvidenceEvent.DEVICE_REGISTERED,
                row,
                now,
                serial=endorser.certificate_serial,
                endorsed_by=endorser.device_id,
                endorser_statement_sha256=endorser.statement_sha256,
            )
            log.info(
                "device %s registered by endorsement of %s (%s)",
                device.device_id,
                endorser.device_id,
                digest[:16],
            )
            return _info(row, bytes(endorser.statement))

    async def devices(self, address: str, *, include_revoked: bool = True) -> list[DeviceInfo]:
        """The devices of ``address``; an endorsed one comes with its endorser's statement."""
        query = select(Device).where(Device.address == address.lower())
        async with self.database.sessions() as session:
            rows = list(
                await session.scalars(query.order_by(Device.registered_at, Device.device_id))
            )
        statements = {r.device_id: bytes(r.statement) for r in rows}
        listed = []
        for row in rows:
            if row.revoked_at is not None and not include_revoked:
                continue
            endorser = endorser_of(bytes(row.statement))
            listed.append(_info(row, statements.get(endorser) if endorser else None))
        return listed

    async def revoke(self, address: str, device_id: str) -> bool:
        """Revoke one of the caller's devices, and those it endorsed; False when it already was."""
        async with self.database.transaction() as session:
            row = await session.get(Device, device_id, with_for_update=True)
            if row is None or row.address != address.lower():
                raise UnknownDevice("appareil inconnu / unknown device")
            if row.revoked_at is not None:
                return False
            now = self.now()
            row.revoked_at = now
            await self._evidence(session, EvidenceEvent.DEVICE_REVOKED, row, now)
            log.info("device %s revoked", device_id)
            active = await session.scalars(
                select(Device).where(Device.address == row.address, Device.revoked_at.is_(None))
            )
            for endorsed in active:
                if endorser_of(bytes(endorsed.statement)) == device_id:
                    endorsed.revoked_at = now
                    await self._evidence(
                        session, EvidenceEvent.DEVICE_REVOKED, endorsed, now, revoked_with=device_id
                    )
                    log.info("device %s revoked with %s", endorsed.device_id, device_id)
            return True

    async def _evidence(
        self,
        session: AsyncSession,
        event: EvidenceEvent,
        row: Device,
        now: datetime,
        **extra: str,
    ) -> None:
        if self.evidence is None:
            return
        signing = hashlib.sha256(row.signing_public).hexdigest()
        await self.evidence.append(
            session,
            EvidenceRecord(
                event=event,
                message_id=device_log_id(row.device_id),
                ciphertext_sha256=row.statement_sha256,
                actor_id=row.address,
                time=now,
                recipient_ids=(row.address,),
                extra={"device_id": row.device_id, "signing_key_sha256": signing, **extra},
            ),
        )


def _may_endorse(row: Device | None, address: str) -> Device:
    if row is None or row.address != address:
        raise UnknownDevice("appareil inconnu / unknown device")
    if row.revoked_at is not None:
        raise EndorserRevoked(
            "cet appareil est révoqué, il ne peut plus approuver : utilisez l'agent / "
            "this device is revoked and approves nothing: use the agent"
        )
    if is_endorsement(bytes(row.statement)):
        raise EndorserEndorsed(
            "un appareil approuvé par un autre ne peut pas en approuver : utilisez un appareil "
            "certifié par l'agent / a device approved by another cannot approve: use a device "
            "the agent certified"
        )
    return row
