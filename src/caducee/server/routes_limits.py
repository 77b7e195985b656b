"""Sending limits: the operator sets them per scope; a sender reads their own.

- ``GET /api/v1/console/limits``: the defaults and every scope set (operator)
- ``PUT /api/v1/console/limits/{scope}`` {three limits}: set one scope (operator)
- ``GET /api/v1/policy/limits``: the caller's limits (the agent warns before a send that
  would be held)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from caducee.errors import CaduceeError
from caducee.policy.bulk import Limits
from caducee.policy.limits import DEFAULTS, LimitService, check_scope
from caducee.server.auth import Agent, clock
from caducee.server.console_common import (
    ConsoleOperator,
    State,
    charter_url,
    problem,
    submission_gate,
)
from caducee.server.requests import StrictRequest

__all__ = ["LIMIT_RANGES", "router"]

router = APIRouter()
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "recipients_per_message": (1, 100_000),
    "messages_per_hour": (1, 10_000_000),
    "new_recipients_per_hour": (1, 10_000_000),
}


def _limit(name: str) -> Any:
    low, high = LIMIT_RANGES[name]
    return Field(ge=low, le=high)


class LimitsRequest(StrictRequest):
    recipients_per_message: int = _limit("recipients_per_message")
    messages_per_hour: int = _limit("messages_per_hour")
    new_recipients_per_hour: int = _limit("new_recipients_per_hour")


@router.get("/api/v1/console/limits", tags=["console"])
async def get_limits(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    stored = await LimitService(state.database).all()
    return {
        "defaults": {k: asdict(v) for k, v in DEFAULTS.items()},
        "scopes": {k: asdict(v) for k, v in stored.items()},
    }


@router.put("/api/v1/console/limits/{scope}", tags=["console"])
async def set_limits(
    scope: str, body: LimitsRequest, _op: ConsoleOperator, state: State
) -> dict[str, Any]:
    try:
        await LimitService(state.database, now=clock(state)).set(
            check_scope(scope), Limits(**body.model_dump())
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    if (gate := submission_gate(state)) is not None:
        gate.forget()
    return {"scope": scope, **body.model_dump()}


@router.get("/api/v1/policy/limits", tags=["moderation"])
async def my_limits(agent: Agent, state: State) -> dict[str, Any]:
    """The caller's sending limits: the agent warns before a send that would be held."""
    profile, limits = await LimitService(state.database).for_sender(agent.mailbox_id)
    return {
        **asdict(limits),
        "kind": profile.kind,
        "organisation": profile.finess,
        "charter_url": charter_url(state),
    }
