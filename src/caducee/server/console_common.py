"""What every console module shares: who is calling, the services, the error statuses.

The operator is recognised by its token, as a bearer header (API) or the console's cookie
(pages); a moderator is the operator or a person named in ``policy_moderator``. The
services are built on the server's state at each call (the clock is the state's, so tests
can move it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from caducee.directory import DirectoryService
from caducee.directory.models import Mailbox
from caducee.errors import CaduceeError
from caducee.policy.charter import CharterService
from caducee.policy.console_errors import (
    CharterNotSigned,
    InvalidLimits,
    NoCharter,
    NotARecipient,
    NotManager,
    NotModerator,
    NotRegistered,
    StaleCharter,
    UnknownHold,
)
from caducee.policy.gate import BulkGate
from caducee.policy.moderation import OPERATOR_ACTOR, ModerationService
from caducee.policy.sanctions import SenderBlocked
from caducee.server.auth import authenticated_mailbox, bearer_token, clock, operator_token_matches
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState, get_state

__all__ = [
    "COOKIE",
    "ConsoleOperator",
    "Moderator",
    "State",
    "charter_service",
    "charter_url",
    "console_operator",
    "directory_service",
    "moderation_service",
    "moderator",
    "operator_session",
    "problem",
    "rpps_of",
    "submission_gate",
]

State = Annotated[ServerState, Depends(get_state)]
COOKIE = "caducee_console"
STATUS_BY_ERROR: tuple[tuple[type[CaduceeError], int], ...] = (
    (NotManager, 403),
    (NotModerator, 403),
    (NotARecipient, 403),
    (SenderBlocked, 403),
    (UnknownHold, 404),
    (NotRegistered, 409),
    (CharterNotSigned, 409),
    (NoCharter, 409),
    (StaleCharter, 409),
    (InvalidLimits, 422),
)


def problem(exc: CaduceeError) -> ProblemError:
    """Our errors' statuses here; the others' through the shared table."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return ProblemError(status, exc.code, exc.reason)
    return to_problem(exc)


# -- who is calling ---------------------------------------------------------------------


def operator_session(request: Request, state: ServerState) -> str | None:
    """The operator token the caller presents (a bearer header, or the console's cookie)."""
    token = bearer_token(request) or request.cookies.get(COOKIE)
    return token if operator_token_matches(state, token) else None


async def console_operator(request: Request, state: State) -> None:
    """The operator token, as a bearer header (API) or the console's cookie (pages)."""
    if operator_session(request, state) is None:
        raise ProblemError(401, "operator-only", "this operation needs the operator token")


async def moderator(request: Request, state: State) -> str:
    """The operator, or a moderator's mailbox address; else 401/403 problem+json."""
    if operator_session(request, state) is not None:
        return OPERATOR_ACTOR
    agent = await authenticated_mailbox(request, state)
    if not await moderation_service(state).is_moderator(await rpps_of(state, agent.mailbox_id)):
        raise problem(NotModerator("only a moderator may release or refuse a held message"))
    return agent.address


ConsoleOperator = Annotated[None, Depends(console_operator)]
Moderator = Annotated[str, Depends(moderator)]


async def rpps_of(state: ServerState, mailbox_id: int) -> str | None:
    """The RPPS of a personal mailbox's person (None for another kind of mailbox)."""
    async with state.database.sessions() as session:
        rpps: str | None = await session.scalar(
            select(Mailbox.person_rpps).where(Mailbox.id == mailbox_id)
        )
        return rpps


# -- services -----------------------------------------------------------------------------


def charter_service(state: ServerState) -> CharterService:
    return CharterService(state.database, state.extras.get("evidence_log"), now=clock(state))


def moderation_service(state: ServerState) -> ModerationService:
    return ModerationService(state.database, state.extras.get("evidence_log"), now=clock(state))


def directory_service(state: ServerState) -> DirectoryService:
    return DirectoryService(state.database, now=clock(state))


def submission_gate(state: ServerState) -> BulkGate | None:
    """The relay's bulk gate, once :func:`caducee.server.console_startup.start` made it."""
    gate = state.extras.get("submission_gate")
    return gate if isinstance(gate, BulkGate) else None


def charter_url(state: ServerState) -> str:
    return state.settings.public_url.rstrip("/") + "/charter"
