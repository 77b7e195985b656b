"""The content policy: set by the operator per organisation, read by agents.

- ``PUT /api/v1/admin/organisations/{finess}/content-policy`` (operator token), body the
  policy JSON ``{"modes": {"pdf-only": "strict", ...}, "max_part_bytes": ...}`` (absent keys
  take the strict defaults) → {organisation, default: false, policy}
- ``GET /api/v1/policy`` (an agent's access token) → {organisation, default, policy}: the
  policy of the caller's organisation, or the platform default.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from caducee.directory.content_policy import ContentPolicyService, EffectivePolicy
from caducee.errors import CaduceeError
from caducee.policy.content import ContentPolicy
from caducee.policy.errors import InvalidPolicy
from caducee.server.auth import Agent, Operator, clock
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState, get_state

__all__ = ["router"]

router = APIRouter(tags=["policy"])
State = Annotated[ServerState, Depends(get_state)]
MAX_BODY = 4096


def _service(state: ServerState) -> ContentPolicyService:
    return ContentPolicyService(state.database, now=clock(state))


def _answer(effective: EffectivePolicy) -> dict[str, Any]:
    return {
        "organisation": effective.organisation,
        "default": effective.is_default,
        "policy": json.loads(effective.policy.to_json()),
    }


@router.put(
    "/api/v1/admin/organisations/{finess}/content-policy",
    summary="Set an organisation's content policy (operator)",
)
async def set_content_policy(
    finess: str, body: Annotated[dict[str, Any], Body()], _op: Operator, state: State
) -> dict[str, Any]:
    text = json.dumps(body)
    if len(text) > MAX_BODY:
        raise ProblemError(413, "policy-too-large", "the policy document is too large")
    try:
        policy = ContentPolicy.from_json(text)
    except InvalidPolicy as exc:
        raise ProblemError(422, exc.code, exc.reason) from None
    try:
        return _answer(await _service(state).set_policy(finess, policy))
    except CaduceeError as exc:
        raise to_problem(exc) from None


@router.get("/api/v1/policy", summary="The content policy that applies to the caller")
async def my_content_policy(agent: Agent, state: State) -> dict[str, Any]:
    try:
        return _answer(await _service(state).for_mailbox(agent.mailbox_id))
    except CaduceeError as exc:
        raise to_problem(exc) from None
