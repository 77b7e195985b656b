"""An establishment's manager, from their own agent: the establishments they manage.

- ``GET /api/v1/establishments/mine`` (an agent's token): the establishments the calling
  mailbox's person manages, each with its charter status (the version signed, the current
  one, whether a new signature is needed) and the current charter's digest. A person who
  manages nothing gets an empty list (the agent then hides its manager page); the operator's
  token is not an agent's and gets 401, like no token or an expired one.

``GET|PUT /api/v1/establishments/{finess}/instant-retention``: how long MISS keeps the
establishment's cases; those routes live in ``instant_retention`` with the operator's pair.

The people and the enrolment codes are in ``routes_establishments``
(``/api/v1/establishments/{finess}/people``), the signature in ``routes_charter``
(``/api/v1/charter/signatures``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from caducee.policy.charter import CharterService, EstablishmentView
from caducee.server.auth import Agent, clock
from caducee.server.console_common import charter_url, rpps_of
from caducee.server.state import ServerState, get_state

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["establishment"])
State = Annotated[ServerState, Depends(get_state)]


def _view_json(view: EstablishmentView) -> dict[str, Any]:
    return {
        "finess": view.finess,
        "name": view.name,
        "type": view.type,
        "city": view.city,
        "region": view.region,
        "status": view.status,
        "signed_version": view.signed_version,
        "current_version": view.current_version,
        "up_to_date": view.up_to_date,
        "needs_signature": not view.up_to_date,
    }


@router.get("/api/v1/establishments/mine")
async def my_establishments(agent: Agent, state: State) -> dict[str, Any]:
    """What the caller manages, with the charter's status (read-only, changes nothing)."""
    service = CharterService(state.database, now=clock(state))
    views: list[EstablishmentView] = []
    for finess in await service.managed_by(await rpps_of(state, agent.mailbox_id)):
        views.extend(await service.establishments(finess))
    charter = await service.current()
    log.info("establishments of mailbox %d: %d", agent.mailbox_id, len(views))
    return {
        "establishments": [_view_json(v) for v in views],
        "charter": None
        if charter is None
        else {"version": charter.version, "sha256": charter.sha256},
        "charter_url": charter_url(state),
    }
