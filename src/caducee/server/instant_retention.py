"""MISS retention per organisation: who sets it, and the loop that enforces it.

- ``GET|PUT /api/v1/admin/organisations/{finess}/instant-retention`` (the operator's token)
- ``GET|PUT /api/v1/establishments/{finess}/instant-retention`` (the agent token of a manager
  of that establishment; anyone else 403 ``not-manager``; a device token 403, out of scope)

Both take and give ``{"organisation": finess, "retention_days": int | null, "updated_by",
"updated_at"}``; ``retention_days`` is 1 to 3,650 or null (no limit): otherwise 422
``instant-retention-invalid``. An unknown organisation is 404
``instant-retention-unknown-organisation``. Each change is logged with ids only (the ledger
has no event for settings). Cases announce their organisation's value as ``retention_days``.

The purge runs in the server every ``extras["instant_retention_interval"]`` seconds (3,600
by default) on the server's clock, and by hand with ``caducee server purge-instant``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StrictInt
from sqlalchemy import select

from caducee.background import BackgroundLoop
from caducee.directory.models import Mailbox
from caducee.instant.retention import (
    InvalidRetention,
    RetentionService,
    RetentionSetting,
    UnknownOrganisation,
)
from caducee.policy.charter import CharterService
from caducee.policy.console_errors import NotManager
from caducee.server.auth import Agent, Operator
from caducee.server.instant_common import State, now_of
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState

__all__ = ["DEFAULT_INTERVAL", "router", "start"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["instant"])
DEFAULT_INTERVAL = 3600.0
PATH = "/instant-retention"
Finess = Annotated[str, Field(min_length=9, max_length=9)]


class RetentionRequest(StrictRequest):
    retention_days: StrictInt | None


def service(state: ServerState) -> RetentionService:
    return RetentionService(state.database, now=now_of(state))


def _json(setting: RetentionSetting) -> dict[str, Any]:
    return {
        "organisation": setting.organisation_finess,
        "retention_days": setting.days,
        "updated_by": setting.updated_by,
        "updated_at": setting.updated_at.isoformat() if setting.updated_at else None,
    }


async def _call(work: Awaitable[RetentionSetting]) -> dict[str, Any]:
    try:
        return _json(await work)
    except InvalidRetention as exc:
        raise ProblemError(422, exc.code, exc.reason) from None
    except UnknownOrganisation as exc:
        raise ProblemError(404, exc.code, exc.reason) from None


async def _manager(state: ServerState, agent: Agent, finess: str) -> None:
    """403 ``not-manager`` unless the caller's person manages ``finess``."""
    async with state.database.sessions() as session:
        rpps = await session.scalar(
            select(Mailbox.person_rpps).where(Mailbox.id == agent.mailbox_id)
        )
    if finess not in await CharterService(state.database).managed_by(rpps):
        exc = NotManager("vous ne gérez pas cet établissement / you do not manage it")
        raise ProblemError(403, exc.code, exc.reason)


@router.get("/api/v1/admin/organisations/{finess}" + PATH, summary="An organisation's retention")
async def operator_get(finess: Finess, _op: Operator, state: State) -> dict[str, Any]:
    return await _call(service(state).get(finess))


@router.put("/api/v1/admin/organisations/{finess}" + PATH, summary="Set a retention")
async def operator_put(
    finess: Finess, body: RetentionRequest, _op: Operator, state: State
) -> dict[str, Any]:
    return await _call(service(state).set(finess, body.retention_days, "operator"))


@router.get("/api/v1/establishments/{finess}" + PATH, summary="My establishment's retention")
async def manager_get(finess: Finess, agent: Agent, state: State) -> dict[str, Any]:
    await _manager(state, agent, finess)
    return await _call(service(state).get(finess))


@router.put("/api/v1/establishments/{finess}" + PATH, summary="Set my establishment's retention")
async def manager_put(
    finess: Finess, body: RetentionRequest, agent: Agent, state: State
) -> dict[str, Any]:
    await _manager(state, agent, finess)
    return await _call(service(state).set(finess, body.retention_days, agent.address))


def start(state: ServerState, now: Callable[[], datetime]) -> Callable[[], Awaitable[None]]:
    """Purge every ``extras["instant_retention_interval"]`` seconds; returns what stops it."""
    loop = BackgroundLoop("instant-retention")
    purger = RetentionService(state.database, now=now)

    async def run() -> None:
        while True:  # at start-up first: a server restarted often still purges
            try:
                await purger.purge()
            except Exception:  # the next run retries; the server keeps serving
                log.exception("instant retention purge failed")
            interval = float(state.extras.get("instant_retention_interval", DEFAULT_INTERVAL))
            if not await loop.pause(interval):
                return

    loop.start(run)
    return loop.stop
