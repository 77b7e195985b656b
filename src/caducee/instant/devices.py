"""A person's devices: registered from a statement their certificate key signed, revoked.

The server checks each statement with the certificate the caller logged in with
(:func:`.device_keys.verify_device_statement`): a forged statement, or one for another
address, is refused. Registration and revocation are evidence (``DeviceRegistered``,
``DeviceRevoked``), written in the same transaction, so the log is the devices' history
(key transparency for devices, as for certificates).
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
from caducee.instant.device_keys import verify_device_statement
from caducee.instant.errors import ForgedDeviceStatement, MalformedInstantData
from caducee.instant.models import Device
from caducee.instant.roles import aware
from caducee.instant.service_errors import DeviceRevoked, DeviceTaken, UnknownDevice
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = ["DeviceInfo", "DeviceRegistry", "active_device"]

log = logging.getLogger(__name__)
MAX_DEVICE_ID = 128


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    address: str
    kem: int
    statement: bytes
    statement_sha256: str
    registered_at: datetime
    revoked_at: datetime | None


def _info(row: Device) -> DeviceInfo:
    return DeviceInfo(
        row.device_id,
        row.address,
        row.kem,
        bytes(row.statement),
        row.statement_sha256,
        aware(row.registered_at),
        aware(row.revoked_at) if row.revoked_at else None,
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

    async def register(self, address: str, certificate_serial: str, statement: bytes) -> DeviceInfo:
        """Register a device of ``address``; the same keys again are a no-op (a retry)."""
        address = address.lower()
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
            )
            session.add(row)
            await self._evidence(
                session, EvidenceEvent.DEVICE_REGISTERED, row, now, serial=certificate_serial
            )
            log.info("device %s registered for %s", device.device_id, digest[:16])
            return _info(row)

    async def devices(self, address: str, *, include_revoked: bool = True) -> list[DeviceInfo]:
        query = select(Device).where(Device.address == address.lower())
        if not include_revoked:
            query = query.where(Device.revoked_at.is_(None))
        async with self.database.sessions() as session:
            rows = await session.scalars(query.order_by(Device.registered_at, Device.device_id))
            return [_info(r) for r in rows]

    async def revoke(self, address: str, device_id: str) -> bool:
        """Revoke one of the caller's devices; False when it already was."""
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
