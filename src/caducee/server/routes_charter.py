"""The charter every establishment signs before enrolling its people, and the support.

- ``POST /api/v1/console/charter`` {text} → 201 {version, sha256}: a new version, which
  every establishment must sign again (operator)
- ``GET /api/v1/charter`` (public): the current version
- ``POST /api/v1/charter/signatures`` {finess, charter_sha256}: a manager accepts the
  current charter (``CharterSigned`` evidence)
- ``GET /api/v1/support`` (public): the support contact and hours
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from caducee.errors import CaduceeError
from caducee.policy.console_errors import NoCharter
from caducee.server.auth import Agent
from caducee.server.console_common import (
    ConsoleOperator,
    State,
    charter_service,
    charter_url,
    problem,
    rpps_of,
)
from caducee.server.requests import StrictRequest

__all__ = ["router"]

router = APIRouter()


class CharterRequest(StrictRequest):
    text: str = Field(min_length=1, max_length=100_000)


@router.post("/api/v1/console/charter", status_code=201, tags=["console"])
async def publish_charter(body: CharterRequest, _op: ConsoleOperator, state: State) -> Any:
    try:
        charter = await charter_service(state).publish(body.text)
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"version": charter.version, "sha256": charter.sha256}


@router.get("/api/v1/charter", tags=["charter"])
async def current_charter(state: State) -> dict[str, Any]:
    charter = await charter_service(state).current()
    if charter is None:
        raise problem(NoCharter("no charter has been published"))
    return {
        "version": charter.version,
        "sha256": charter.sha256,
        "text": charter.text,
        "published_at": charter.published_at.isoformat(),
        "url": charter_url(state),
    }


class SignRequest(StrictRequest):
    finess: str = Field(max_length=9)
    charter_sha256: str = Field(max_length=64)


@router.post("/api/v1/charter/signatures", status_code=201, tags=["charter"])
async def sign_charter(body: SignRequest, agent: Agent, state: State) -> dict[str, Any]:
    """A manager accepts the current charter for their establishment."""
    try:
        signature = await charter_service(state).sign(
            finess=body.finess,
            signer_rpps=await rpps_of(state, agent.mailbox_id),
            signer_address=agent.address,
            charter_sha256=body.charter_sha256,
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    return {**asdict(signature), "signed_at": signature.signed_at.isoformat()}


@router.get("/api/v1/support", tags=["charter"])
async def support(state: State) -> dict[str, str]:
    return {
        "contact": state.settings.support_contact,
        "hours": state.settings.support_hours,
        "operator": state.settings.operator_name,
        "charter_url": charter_url(state),
    }
