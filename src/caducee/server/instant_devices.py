"""MISS devices: a person registers, lists and revokes their devices; others fetch the keys.

- ``POST /api/v1/instant/devices`` {statement: base64, label?} → 201: checked against the
  certificate the caller logged in with; a forged statement is 422 ``instant-forged-device``,
  a label that is not 1 to 100 printable characters 400 ``instant-malformed``.
- ``GET /api/v1/instant/devices`` → {devices}: the caller's, revoked ones included, each with
  its ``label`` (what the person named it: the agent passes a pairing request's label on; an
  endorsement keeps the request's). The label goes to its person only, in either listing.
- ``DELETE /api/v1/instant/devices/{device_id}`` → {revoked}: the caller's only.
- ``GET /api/v1/instant/people/{address}/devices`` → {devices}: active statements, to seal
  sender keys to (each client checks them with the person's certificate itself).
- ``GET /api/v1/instant/people/{address}/certificates`` → {address, certificates: [base64
  DER]}: what ``/api/v1/directory/mailboxes/{address}/certificates`` gives agents (active,
  not revoked, within validity), for a browser's device token, which is valid under
  ``/api/v1/instant/`` only. The browser validates each against the root it pinned (chain,
  CRLs from ``/pki``) before trusting the devices it signed: this list is a hint, not trust.
- ``GET /api/v1/instant/ledger/certificates/{sha256}`` → {issued, revoked}: the receipts
  ``/api/v1/ledger/certificates/{sha256}`` gives agents (404 ``certificate-not-in-log``),
  under the device token's scope: the browser trusts a certificate only if the evidence log
  proves it against the log key it pinned (key transparency, static/instant/transparency.js).

Each listed device has ``endorsed_by`` (null, or the id of the device that endorsed it). For
an endorsed device, ``statement`` holds the endorsement and ``endorser_statement`` the
endorser's certificate statement: a client verifies the latter with the person's
certificate, then the endorsement with the endorser's key
(:func:`caducee.instant.endorsement.verify_endorsed_device`); a client that does not know
endorsements fails to parse ``statement`` and leaves the device out, as for any unreadable
statement. Endorsements are made with ``/api/v1/instant/pairing/{code}/endorsement``.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter
from pydantic import Field

from caducee.instant.devices import DeviceInfo, DeviceRegistry
from caducee.server.auth import Agent
from caducee.server.instant_common import State, decode_base64, domain_errors, now_of
from caducee.server.requests import StrictRequest
from caducee.server.routes_directory import directory_service
from caducee.server.routes_ledger import get_certificate_records
from caducee.server.state import ServerState

__all__ = ["device_json", "router"]

router = APIRouter(prefix="/api/v1/instant", tags=["instant"])
MAX_STATEMENT_BASE64 = 16_384


def device_registry(state: ServerState) -> DeviceRegistry:
    return DeviceRegistry(state.database, state.extras.get("evidence_log"), now=now_of(state))


class DeviceRequest(StrictRequest):
    statement: str = Field(min_length=1, max_length=MAX_STATEMENT_BASE64)
    label: str | None = Field(default=None, max_length=400)  # checked by the registry


def device_json(info: DeviceInfo, *, owner: bool = True) -> dict[str, Any]:
    """A device as every listing gives it (``endorser_statement`` only for endorsed ones;
    ``label`` only to its ``owner``: the name a person gave their phone is theirs)."""
    answer: dict[str, Any] = {
        "device_id": info.device_id,
        "address": info.address,
        "kem": info.kem,
        "statement": base64.b64encode(info.statement).decode(),
        "statement_sha256": info.statement_sha256,
        "registered_at": info.registered_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "endorsed_by": info.endorsed_by,
    }
    if owner:
        answer["label"] = info.label
    if info.endorsed_by is not None and info.endorser_statement is not None:
        answer["endorser_statement"] = base64.b64encode(info.endorser_statement).decode()
    return answer


@router.post("/devices", status_code=201, summary="Register one of my devices")
async def register_device(body: DeviceRequest, agent: Agent, state: State) -> dict[str, Any]:
    statement = decode_base64(body.statement, "statement")
    with domain_errors():
        info = await device_registry(state).register(
            agent.address, agent.serial_hex, statement, body.label
        )
    return device_json(info)


@router.get("/devices", summary="My devices, revoked ones included")
async def my_devices(agent: Agent, state: State) -> dict[str, Any]:
    devices = await device_registry(state).devices(agent.address)
    return {"devices": [device_json(d) for d in devices]}


@router.delete("/devices/{device_id}", summary="Revoke one of my devices")
async def revoke_device(device_id: str, agent: Agent, state: State) -> dict[str, Any]:
    with domain_errors():
        revoked = await device_registry(state).revoke(agent.address, device_id)
    return {"device_id": device_id, "revoked": revoked}


@router.get("/people/{address}/devices", summary="A person's active devices")
async def person_devices(address: str, agent: Agent, state: State) -> dict[str, Any]:
    devices = await device_registry(state).devices(address, include_revoked=False)
    owner = agent.address == address.lower()
    return {"address": address.lower(), "devices": [device_json(d, owner=owner) for d in devices]}


@router.get("/people/{address}/certificates", summary="A person's certificates (DER, base64)")
async def person_certificates(address: str, _agent: Agent, state: State) -> dict[str, Any]:
    with domain_errors():
        found = await directory_service(state).valid_certificates(address)
    ders = [c.public_bytes(serialization.Encoding.DER) for c in found]
    return {
        "address": address.lower(),
        "certificates": [base64.b64encode(der).decode() for der in ders],
    }


# Key transparency for the web app: a certificate's {issued, revoked} receipts, as
# GET /api/v1/ledger/certificates/{sha256} gives agents, under the device token's scope.
router.add_api_route(
    "/ledger/certificates/{sha256}",
    get_certificate_records,
    methods=["GET"],
    summary="A certificate's receipts in the transparency log (404 if it is not in it)",
)
