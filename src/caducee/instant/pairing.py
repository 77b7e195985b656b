"""Pairing a browser as a MISS device: its public keys wait for the person's approval.

A browser cannot hold the person's certificate key, so it generates its device keys, posts
their *public* halves with a label, and gets a short code to type on the workstation, where
the agent fetches the request, shows the key fingerprints, signs the device statement with
the person's key and registers it (``POST /api/v1/instant/devices``), then consumes the
request. An existing device of the person may approve instead (an endorsement,
:mod:`caducee.instant.endorsement`): :func:`take_request` gives the request to
:meth:`caducee.instant.devices.DeviceRegistry.endorse`, which consumes it in the same
transaction as the registration. A request lives ``PAIRING_SECONDS`` (10 minutes); only
the code's SHA-256 is stored (the code names the request, it is not a credential: fetching
it needs the person's token, or one of their devices' tokens).

The code is ``CODE_LENGTH`` (8) characters of ``CODE_ALPHABET``, which leaves out the
characters people confuse (0/O, 1/I/L, U/V). :func:`key_fingerprint` is what both screens
show, so that the person checks the keys they certify are the browser's.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.instant._hpke import Kem, load_public_key
from caducee.instant.device_keys import DevicePublicKeys
from caducee.instant.errors import MalformedInstantData
from caducee.instant.models import Device, PairingRequest
from caducee.instant.roles import aware
from caducee.instant.service_errors import DeviceTaken, InstantError
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "PAIRING_SECONDS",
    "PairingInfo",
    "PairingLimit",
    "PairingService",
    "PairingUnknown",
    "key_fingerprint",
    "normalise_code",
    "take_request",
    "tidy_label",
]

log = logging.getLogger(__name__)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 8
PAIRING_SECONDS = 600
MAX_PENDING_PER_ADDRESS = 5
MAX_LABEL = 100


class PairingUnknown(InstantError):
    """No such pairing code, or it expired, or it was made for someone else."""

    code = "instant-pairing-unknown"


class PairingLimit(InstantError):
    """Too many pairing requests (from one client, or pending for one address)."""

    code = "instant-pairing-rate-limited"


def normalise_code(code: str) -> str:
    """What people type: any case, spaces and dashes ignored."""
    return "".join(c for c in code.upper() if c not in " -")


def _digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def key_fingerprint(public: bytes) -> str:
    """The first 16 bytes of SHA-256 of a public key, hex in groups of 4 (what people compare)."""
    hexa = hashlib.sha256(public).hexdigest()[:32].upper()
    return " ".join(hexa[i : i + 4] for i in range(0, 32, 4))


@dataclass(frozen=True)
class PairingInfo:
    """A waiting request: the device's public keys, as its statement will carry them."""

    address: str
    label: str
    keys: DevicePublicKeys
    expires_at: datetime


def _info(row: PairingRequest) -> PairingInfo:
    keys = DevicePublicKeys(
        row.device_id,
        row.address,
        Kem.from_id(row.kem),
        bytes(row.hpke_public),
        bytes(row.signing_public),
        datetime.fromtimestamp(row.keys_created_at, UTC),
    )
    return PairingInfo(row.address, row.label, keys, aware(row.expires_at))


def _unknown() -> PairingUnknown:
    return PairingUnknown(
        "code d'appairage inconnu ou expiré : recommencez l'appairage sur l'appareil / "
        "unknown or expired pairing code: pair the device again"
    )


async def take_request(
    session: AsyncSession, address: str, code: str, now: datetime
) -> PairingInfo:
    """Remove and return ``address``'s valid request behind ``code``, in ``session``."""
    row = await session.get(PairingRequest, _digest(code), with_for_update=True)
    if row is None or row.address != address.lower() or aware(row.expires_at) <= now:
        raise _unknown()
    info = _info(row)
    await session.delete(row)
    log.info("pairing request taken for device %s", info.keys.device_id)
    return info


def tidy_label(text: str) -> str | None:
    """A browser's name for itself made fit to show and keep: control characters become
    spaces, runs of spaces one, at most ``MAX_LABEL`` characters; None when nothing is left.
    The request keeps it so, and the device it becomes (approved or endorsed) too."""
    words = "".join(c if c.isprintable() else " " for c in text).split()
    return " ".join(words)[:MAX_LABEL].strip() or None


class PairingService:
    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def create(self, label: str, keys: DevicePublicKeys) -> tuple[str, datetime]:
        """Keep a request; its code and end. Keys are checked (sizes, KEM); no private part."""
        label = tidy_label(label) or ""
        if not label:
            raise MalformedInstantData("nom d'appareil vide / empty device name")
        load_public_key(keys.kem, keys.hpke_public)
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(keys.signing_public)
        except ValueError:
            raise MalformedInstantData("Ed25519 public key of the wrong size") from None
        now = self.now()
        expires_at = now + timedelta(seconds=PAIRING_SECONDS)
        address = keys.address.lower()
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        async with self.database.transaction() as session:
            await session.execute(delete(PairingRequest).where(PairingRequest.expires_at <= now))
            if await session.get(Device, keys.device_id) is not None:
                raise DeviceTaken("identifiant d'appareil déjà pris / device id already taken")
            pending = (
                await session.scalars(
                    select(PairingRequest.code_sha256).where(PairingRequest.address == address)
                )
            ).all()
            if len(pending) >= MAX_PENDING_PER_ADDRESS:
                raise PairingLimit(
                    "trop de demandes en attente pour cette adresse / "
                    "too many pending requests for this address"
                )
            session.add(
                PairingRequest(
                    code_sha256=_digest(code),
                    address=address,
                    device_id=keys.device_id,
                    label=label,
                    kem=keys.kem.value,
                    hpke_public=keys.hpke_public,
                    signing_public=keys.signing_public,
                    keys_created_at=int(keys.created_at.timestamp()),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        log.info("pairing request for device %s (%s)", keys.device_id, _digest(code)[:12])
        return code, expires_at

    async def fetch(self, address: str, code: str) -> PairingInfo:
        """The request behind ``code``, if it is ``address``'s and still valid."""
        async with self.database.sessions() as session:
            row = await session.get(PairingRequest, _digest(code))
        if row is None or row.address != address.lower() or aware(row.expires_at) <= self.now():
            raise _unknown()
        return _info(row)

    async def consume(self, address: str, code: str) -> PairingInfo:
        """Remove an approved request (it cannot be approved twice)."""
        info = await self.fetch(address, code)
        async with self.database.transaction() as session:
            await session.execute(
                delete(PairingRequest).where(PairingRequest.code_sha256 == _digest(code))
            )
        log.info("pairing request consumed for device %s", info.keys.device_id)
        return info
