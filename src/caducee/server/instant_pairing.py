"""MISS pairing: a browser posts its public keys, the person's agent approves them.

- ``POST /api/v1/instant/pairing`` (no token) {address, device_id, label, kem, hpke_public,
  signing_public, created_at} → 201 {code, expires_at}: kept 10 minutes; at most
  ``extras["instant_pairing_per_minute"]`` (10) requests a minute from one client address,
  else 429 ``instant-pairing-rate-limited``.
- ``GET /api/v1/instant/pairing/{code}`` (the person's agent token) → the request with its key
  fingerprints; another person's, expired or unknown code: 404 ``instant-pairing-unknown``.
- ``DELETE /api/v1/instant/pairing/{code}`` (the person's agent token) → {consumed}: after
  ``POST /api/v1/instant/devices`` registered the statement.

A device token cannot fetch or consume a pairing there: approving with the person's key is
the agent's. One of the person's devices approves with its own key instead (an endorsement,
:mod:`caducee.instant.endorsement`):

- ``GET /api/v1/instant/pairing/{code}/endorsement`` (a device token) → the request, as
  above, if the calling device may endorse.
- ``POST /api/v1/instant/pairing/{code}/endorsement`` (a device token) {endorsement: base64}
  → 201 the registered device (as the device listings give it); the request is consumed.

Refusals (problem+json): no token or an expired one 401 ``unauthenticated``; a person's
token without a device 403 ``instant-endorsement-needs-device``; an unknown, expired or
another person's code 404 ``instant-pairing-unknown``; the calling device revoked 403
``instant-endorser-revoked`` (once the authentication cache forgot its token: 401); the
calling device itself endorsed 403 ``instant-endorser-endorsed``; a bad signature or
another endorser named 422 ``instant-forged-device``; keys other than the request's 422
``instant-endorsement-mismatch``; unparsable bytes 400 ``instant-malformed``.
"""

from __future__ import annotations

import base64
import collections
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from caducee.directory.credentials import digest
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DevicePublicKeys
from caducee.instant.devices import EndorsementMismatch, EndorserEndorsed, EndorserRevoked
from caducee.instant.models import DeviceToken
from caducee.instant.pairing import (
    PairingInfo,
    PairingLimit,
    PairingService,
    PairingUnknown,
    key_fingerprint,
    normalise_code,
)
from caducee.instant.service_errors import DeviceTaken
from caducee.server.auth import Agent, bearer_token, is_device_token
from caducee.server.instant_common import State, decode_base64, domain_errors, now_of
from caducee.server.instant_devices import device_json, device_registry
from caducee.server.problems import ProblemError
from caducee.server.requests import MAX_DB_INTEGER, StrictRequest
from caducee.server.state import ServerState

__all__ = ["router", "throttle"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/instant/pairing", tags=["instant"])
PER_MINUTE = 10
MAX_KEY_BASE64 = 4096
MAX_CLIENTS_TRACKED = 10_000
MAX_ENDORSEMENT_BASE64 = 16_384


def pairing_service(state: ServerState) -> PairingService:
    return PairingService(state.database, now=now_of(state))


class PairingRequestBody(StrictRequest):
    address: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    device_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    label: str = Field(min_length=1, max_length=100)
    kem: int
    hpke_public: str = Field(min_length=1, max_length=MAX_KEY_BASE64)
    signing_public: str = Field(min_length=1, max_length=MAX_KEY_BASE64)
    created_at: int = Field(ge=0, le=MAX_DB_INTEGER)


@contextmanager
def _pairing_errors() -> Iterator[None]:
    """Statuses of the pairing refusals (the others as every MISS route maps them)."""
    with domain_errors():
        try:
            yield
        except PairingUnknown as exc:
            raise ProblemError(404, exc.code, exc.reason) from None
        except PairingLimit as exc:
            raise ProblemError(429, exc.code, exc.reason) from None
        except DeviceTaken as exc:
            raise ProblemError(409, exc.code, exc.reason) from None
        except (EndorserRevoked, EndorserEndorsed) as exc:
            raise ProblemError(403, exc.code, exc.reason) from None
        except EndorsementMismatch as exc:
            raise ProblemError(422, exc.code, exc.reason) from None


def throttle(
    request: Request, state: ServerState, bucket: str, limit: int, code: str, message: str
) -> None:
    """At most ``limit`` calls a minute per client address into ``bucket`` (this process)."""
    hits: dict[str, collections.deque[datetime]] = state.extras.setdefault(
        f"instant_{bucket}_hits", {}
    )
    client = request.client.host if request.client else "?"
    now = now_of(state)()
    window = hits.get(client)
    if window is None:
        if len(hits) >= MAX_CLIENTS_TRACKED:
            hits.clear()
        window = hits[client] = collections.deque()
    while window and window[0] <= now - timedelta(minutes=1):
        window.popleft()
    if len(window) >= limit:
        raise ProblemError(429, code, message)
    window.append(now)


def _throttle(request: Request, state: ServerState) -> None:
    throttle(
        request,
        state,
        "pairing",
        int(state.extras.get("instant_pairing_per_minute", PER_MINUTE)),
        "instant-pairing-rate-limited",
        "trop de demandes d'appairage, réessayez dans une minute / "
        "too many pairing requests, try again in a minute",
    )


def _person_only(request: Request) -> None:
    if is_device_token(bearer_token(request)):
        raise ProblemError(
            403,
            "instant-pairing-needs-person",
            "l'approbation se fait avec la clé de la personne (agent) / "
            "approving a device takes the person's key (the agent)",
        )


def _answer(info: PairingInfo) -> dict[str, Any]:
    keys = info.keys
    return {
        "address": info.address,
        "device_id": keys.device_id,
        "label": info.label,
        "kem": keys.kem.value,
        "hpke_public": base64.b64encode(keys.hpke_public).decode(),
        "signing_public": base64.b64encode(keys.signing_public).decode(),
        "created_at": int(keys.created_at.timestamp()),
        "hpke_fingerprint": key_fingerprint(keys.hpke_public),
        "signing_fingerprint": key_fingerprint(keys.signing_public),
        "expires_at": info.expires_at.isoformat(),
    }


@router.post("", status_code=201, summary="Ask to pair this browser as a device")
async def request_pairing(
    body: PairingRequestBody, request: Request, state: State
) -> dict[str, Any]:
    _throttle(request, state)
    with _pairing_errors():
        keys = DevicePublicKeys(
            body.device_id,
            body.address.lower(),
            Kem.from_id(body.kem),
            decode_base64(body.hpke_public, "hpke_public"),
            decode_base64(body.signing_public, "signing_public"),
            datetime.fromtimestamp(body.created_at, UTC),
        )
        code, expires_at = await pairing_service(state).create(body.label.strip(), keys)
    return {
        "code": code,
        "expires_at": expires_at.isoformat(),
        "hpke_fingerprint": key_fingerprint(keys.hpke_public),
        "signing_fingerprint": key_fingerprint(keys.signing_public),
    }


@router.get("/{code}", summary="A pairing request of mine, to approve")
async def get_pairing(code: str, request: Request, agent: Agent, state: State) -> dict[str, Any]:
    _person_only(request)
    with _pairing_errors():
        info = await pairing_service(state).fetch(agent.address, code)
    return _answer(info)


@router.delete("/{code}", summary="Consume an approved pairing request")
async def consume_pairing(
    code: str, request: Request, agent: Agent, state: State
) -> dict[str, Any]:
    _person_only(request)
    with _pairing_errors():
        info = await pairing_service(state).consume(agent.address, code)
    return {"device_id": info.keys.device_id, "consumed": True}


class EndorsementBody(StrictRequest):
    endorsement: str = Field(min_length=1, max_length=MAX_ENDORSEMENT_BASE64)


async def _calling_device(request: Request, state: ServerState) -> str:
    """The device whose token calls (a person's own token has none: refused)."""
    token = bearer_token(request)
    device_id = None
    if token is not None and is_device_token(token):  # as instant_login.device_of_token
        async with state.database.sessions() as session:
            row = await session.get(DeviceToken, digest(token))
        device_id = row.device_id if row is not None else None
    if device_id is None:
        raise ProblemError(
            403,
            "instant-endorsement-needs-device",
            "seul un appareil déjà appairé approuve ainsi ; sur le poste, utilisez "
            "« caducee agent devices approve » / only an already paired device approves this "
            "way; on the workstation, use `caducee agent devices approve`",
        )
    return device_id


@router.get("/{code}/endorsement", summary="A pairing request of my person, for this device")
async def get_pairing_to_endorse(
    code: str, request: Request, agent: Agent, state: State
) -> dict[str, Any]:
    device_id = await _calling_device(request, state)
    with _pairing_errors():
        await device_registry(state).endorser(agent.address, device_id)
        info = await pairing_service(state).fetch(agent.address, code)
    return {**_answer(info), "endorser": device_id}


@router.post(
    "/{code}/endorsement", status_code=201, summary="Approve a pairing request from this device"
)
async def endorse_pairing(
    code: str, body: EndorsementBody, request: Request, agent: Agent, state: State
) -> dict[str, Any]:
    device_id = await _calling_device(request, state)
    endorsement = decode_base64(body.endorsement, "endorsement")
    with _pairing_errors():
        info = await device_registry(state).endorse(
            agent.address, device_id, normalise_code(code), endorsement
        )
    log.info("pairing endorsed by %s for device %s", device_id, info.device_id)
    return device_json(info)
