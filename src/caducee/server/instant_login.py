"""MISS device login: a paired browser earns a short-lived token with its own Ed25519 key.

- ``POST /api/v1/instant/devices/login/challenge`` {device_id} → {challenge, expires_at}:
  one use, 2 minutes; answered alike for unknown devices (nothing to learn from it); at most
  ``extras["instant_login_per_minute"]`` (120) a minute per client address, else 429
  ``instant-login-rate-limited``.
- ``POST /api/v1/instant/devices/login`` {device_id, challenge, signature} → {access_token,
  expires_at, address, device_id}: ``signature`` is the device's Ed25519 signature over
  ``LOGIN_CONTEXT`` followed by the challenge (UTF-8). The device must be registered and
  active, and its person's mailbox open; any other failure is the same 401
  ``instant-device-login-failed``, a revoked device 403 ``instant-device-revoked``.

The token (prefix ``DEVICE_TOKEN_PREFIX``, 15 minutes) is valid for the instant API and its
hub only (:mod:`caducee.server.auth` enforces the scope); it stops working as soon as the
device is revoked (within the 5 s authentication cache), and the hub closes the device's
socket as it does for any revoked device. Only digests of challenges and tokens are stored.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import delete, select

from caducee.directory import AuthenticatedMailbox, InvalidToken, TokenExpired
from caducee.directory.credentials import digest
from caducee.directory.models import Mailbox
from caducee.instant.models import Device, DeviceChallenge, DeviceToken
from caducee.instant.roles import aware
from caducee.server.auth import DEVICE_TOKEN_PREFIX
from caducee.server.instant_common import State, decode_base64, now_of
from caducee.server.instant_pairing import throttle
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState

__all__ = ["LOGIN_CONTEXT", "device_of_token", "install", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/instant/devices/login", tags=["instant"])
LOGIN_CONTEXT = "caducee-miss-v1 device login\n"
CHALLENGE_SECONDS = 120
TOKEN_SECONDS = 900
DEVICE_ID = r"^[A-Za-z0-9._:-]+$"
CHALLENGES_PER_MINUTE = 120  # per client address: a hospital's phones may share one


class ChallengeRequest(StrictRequest):
    device_id: str = Field(min_length=1, max_length=128, pattern=DEVICE_ID)


class LoginRequest(StrictRequest):
    device_id: str = Field(min_length=1, max_length=128, pattern=DEVICE_ID)
    challenge: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=1, max_length=200)


def _failed() -> ProblemError:
    return ProblemError(
        401,
        "instant-device-login-failed",
        "connexion de l'appareil refusée : défi inconnu ou expiré, signature fausse ou appareil "
        "inconnu / device login refused: unknown or expired challenge, bad signature or "
        "unknown device",
    )


@router.post("/challenge", summary="A challenge for a device to sign")
async def challenge(body: ChallengeRequest, request: Request, state: State) -> dict[str, Any]:
    throttle(
        request,
        state,
        "login",
        int(state.extras.get("instant_login_per_minute", CHALLENGES_PER_MINUTE)),
        "instant-login-rate-limited",
        "trop de tentatives de connexion, réessayez dans une minute / "
        "too many login attempts, try again in a minute",
    )
    now = now_of(state)()
    value = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=CHALLENGE_SECONDS)
    async with state.database.transaction() as session:
        await session.execute(delete(DeviceChallenge).where(DeviceChallenge.expires_at <= now))
        session.add(
            DeviceChallenge(
                challenge_sha256=digest(value), device_id=body.device_id, expires_at=expires_at
            )
        )
    return {"challenge": value, "expires_at": expires_at.isoformat()}


@router.post("", summary="Log a device in with its Ed25519 key")
async def login(body: LoginRequest, state: State) -> dict[str, Any]:
    now = now_of(state)()
    signature = decode_base64(body.signature, "signature")
    async with state.database.transaction() as session:
        row = await session.get(DeviceChallenge, digest(body.challenge))
        if row is not None:
            await session.delete(row)  # one use, whatever follows
    if row is None or row.device_id != body.device_id or aware(row.expires_at) <= now:
        raise _failed()
    async with state.database.transaction() as session:
        device = await session.get(Device, body.device_id)
        if device is None:
            raise _failed()
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(bytes(device.signing_public)).verify(
                signature, (LOGIN_CONTEXT + body.challenge).encode()
            )
        except (InvalidSignature, ValueError):
            log.info("device %s: login signature refused", body.device_id)
            raise _failed() from None
        if device.revoked_at is not None:
            raise ProblemError(
                403,
                "instant-device-revoked",
                "cet appareil est révoqué / this device is revoked",
            )
        active = await session.scalar(
            select(Mailbox.active).where(Mailbox.address == device.address)
        )
        if not active:
            raise _failed()
        token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + timedelta(seconds=TOKEN_SECONDS)
        await session.execute(delete(DeviceToken).where(DeviceToken.expires_at <= now))
        session.add(
            DeviceToken(
                token_sha256=digest(token),
                device_id=device.device_id,
                address=device.address,
                expires_at=expires_at,
            )
        )
    log.info("device %s logged in", body.device_id)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": expires_at.isoformat(),
        "address": device.address,
        "device_id": device.device_id,
    }


async def authenticate_device(state: ServerState, token: str) -> AuthenticatedMailbox:
    """The person a device token speaks for, if the token is current and the device active."""
    statement = (
        select(
            DeviceToken.expires_at,
            Device.revoked_at,
            Device.certificate_serial,
            Mailbox.id,
            Mailbox.address,
            Mailbox.kind,
            Mailbox.active,
        )
        .join(Device, Device.device_id == DeviceToken.device_id)
        .join(Mailbox, Mailbox.address == DeviceToken.address)
        .where(DeviceToken.token_sha256 == digest(token))
    )
    async with state.database.sessions() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        raise InvalidToken("unknown access token: authenticate again")
    expires_at, revoked_at, serial, mailbox_id, address, kind, active = row
    if revoked_at is not None:
        raise InvalidToken("this device is revoked")
    if aware(expires_at) <= now_of(state)():
        raise TokenExpired("the access token expired: authenticate again")
    if not active:
        raise InvalidToken("this mailbox is closed")
    return AuthenticatedMailbox(
        mailbox_id=mailbox_id,
        address=address,
        kind=kind,
        serial_hex=serial,
        valid_until=aware(expires_at),
    )


async def device_of_token(state: ServerState, token: str) -> str | None:
    """The device a device token was issued to (None for an agent's or an unknown token): the
    hub's hello should name that device and no other of the same person."""
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    async with state.database.sessions() as session:
        row = await session.get(DeviceToken, digest(token))
    return row.device_id if row is not None else None


def install(state: ServerState) -> None:
    """Let :mod:`caducee.server.auth` accept device tokens (on the instant API and hub)."""

    async def authenticator(token: str) -> AuthenticatedMailbox:
        return await authenticate_device(state, token)

    state.extras.setdefault("instant_device_authenticator", authenticator)
