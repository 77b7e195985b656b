"""Who is calling: an agent's mailbox (bearer access token) or the operator (operator token).

Agents never have passwords: they earn short-lived tokens by signing challenges
(``routes_auth``). The operator token is a random secret kept in ``<data>/operator_token``
(mode 0600, created on first use or by ``ensure_operator_token`` at init); only its SHA-256
is held in memory. ``ServerState.extras["operator_token_sha256"]`` overrides the file.

Authenticated access tokens are remembered for at most ``AUTH_CACHE_SECONDS`` (5 s, by the
server's clock) and never past the token's or its certificate's expiry: an agent sending a
burst of messages costs one database lookup per 5 s, not one per request. The price is
that revoking a certificate, or closing a mailbox, takes effect on tokens already in use
within those 5 s rather than at once (new logins are refused at once).
``extras["auth_cache_seconds"] = 0`` turns the cache off.

A MISS device (a paired browser) logs in with its own Ed25519 key and gets a token that starts
with ``DEVICE_TOKEN_PREFIX``: ``extras["instant_device_authenticator"]`` (set by
``instant_login``) vouches for it, and only under ``DEVICE_SCOPE`` (the instant API and its
hub); anywhere else it is a 403 ``device-token-out-of-scope``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from caducee.directory import (
    AuthenticatedMailbox,
    CredentialError,
    CredentialService,
    InvalidToken,
)
from caducee.directory.credentials import digest
from caducee.relay import (
    GroupCommitter,
    InProcessNotifier,
    MailboxNotifier,
    RelayService,
)
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState
from caducee.store.models import utcnow

__all__ = [
    "AUTH_CACHE_SECONDS",
    "DEVICE_SCOPE",
    "DEVICE_TOKEN_PREFIX",
    "OPERATOR_TOKEN_FILE",
    "Agent",
    "Operator",
    "authenticated_mailbox",
    "bearer_token",
    "clock",
    "credential_service",
    "ensure_operator_token",
    "is_device_token",
    "is_operator",
    "notifier",
    "operator_token_matches",
    "relay_committer",
    "relay_service",
    "require_operator",
    "server_state",
]

log = logging.getLogger(__name__)
OPERATOR_TOKEN_FILE = "operator_token"  # noqa: S105 (a file name, not a secret)
AUTH_CACHE_SECONDS = 5.0
AUTH_CACHE_MAX_ENTRIES = 10_000
DEVICE_TOKEN_PREFIX = "miss-device."  # noqa: S105 (a prefix, not a secret)
DEVICE_SCOPE = "/api/v1/instant/"
DeviceAuthenticator = Callable[[str], Awaitable[AuthenticatedMailbox]]


def clock(state: ServerState) -> Callable[[], datetime]:
    """The server's clock (``extras["clock"]`` lets tests move time)."""
    now: Callable[[], datetime] = state.extras.get("clock", utcnow)
    return now


class _Credentials(CredentialService):
    """Agents' tokens as before; a device token goes to the MISS device authenticator."""

    def __init__(self, state: ServerState) -> None:
        super().__init__(
            state.database, now=clock(state), evidence=state.extras.get("evidence_log")
        )
        self._devices: DeviceAuthenticator | None = state.extras.get("instant_device_authenticator")

    async def authenticate(self, token: str) -> AuthenticatedMailbox:
        if token.startswith(DEVICE_TOKEN_PREFIX):
            if self._devices is None:
                raise InvalidToken("unknown access token: authenticate again")
            return await self._devices(token)
        return await super().authenticate(token)


def credential_service(state: ServerState) -> CredentialService:
    return _Credentials(state)


def is_device_token(token: str | None) -> bool:
    """Whether ``token`` is a MISS device's (valid for the instant API and hub only)."""
    return token is not None and token.startswith(DEVICE_TOKEN_PREFIX)


def notifier(state: ServerState) -> MailboxNotifier:
    bus: MailboxNotifier = state.extras.setdefault("relay_notifier", InProcessNotifier())
    return bus


def relay_service(state: ServerState) -> RelayService:
    max_size = state.extras.get("relay_max_message_size", state.settings.max_message_size)
    return RelayService(
        state.database,
        state.blobs,
        notifier(state),
        max_size=int(max_size),
        inline_max=state.settings.relay_inline_max_bytes,
        now=clock(state),
        committer=relay_committer(state),
        evidence=state.extras.get("evidence_log"),
        gate=state.extras.get("submission_gate"),
    )


def relay_committer(state: ServerState) -> GroupCommitter:
    """The process's one group committer, with the evidence log and the parts' commit hooks."""
    committer: GroupCommitter | None = state.extras.get("relay_committer")
    if committer is None:  # SQLite and PostgreSQL alike: one transaction per batch
        committer = state.extras["relay_committer"] = GroupCommitter(
            state.database,
            evidence=state.extras.get("evidence_log"),
            hooks=state.extras.setdefault("relay_commit_hooks", []),
        )
    return committer


async def server_state(request: Request) -> ServerState:
    """``get_state`` as a coroutine: FastAPI runs a plain function in a worker thread, a hop
    per request that the hot routes (submission, listing) need not pay."""
    state: ServerState = request.app.state.caducee
    return state


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticated_mailbox(
    request: Request, state: Annotated[ServerState, Depends(server_state)]
) -> AuthenticatedMailbox:
    """FastAPI dependency: the caller's mailbox, or 401 problem+json saying why not."""
    token = bearer_token(request)
    if token is None:
        raise ProblemError(401, "unauthenticated", "send `Authorization: Bearer <access token>`")
    if is_device_token(token) and not request.url.path.startswith(DEVICE_SCOPE):
        raise ProblemError(
            403,
            "device-token-out-of-scope",
            "un jeton d'appareil ne vaut que pour la messagerie instantanée / "
            "a device token is valid for instant messaging only",
        )
    cache: dict[str, tuple[AuthenticatedMailbox, datetime]] = state.extras.setdefault(
        "auth_cache", {}
    )
    key = digest(token)
    now = clock(state)()
    hit = cache.get(key)
    if hit is not None:
        if now < hit[1]:
            return hit[0]
        del cache[key]
    # One lookup per token at a time: the concurrent requests of an agent share it.
    lookups: dict[str, asyncio.Task[AuthenticatedMailbox]] = state.extras.setdefault(
        "auth_lookups", {}
    )
    lookup = lookups.get(key)
    if lookup is None:
        lookup = lookups[key] = asyncio.create_task(_authenticate(state, token, key, now))
        lookup.add_done_callback(lambda task: _forget(lookups, key, task))
    try:
        return await asyncio.shield(lookup)
    except CredentialError as exc:
        raise to_problem(exc) from None


def _forget(
    lookups: dict[str, asyncio.Task[AuthenticatedMailbox]],
    key: str,
    task: asyncio.Task[AuthenticatedMailbox],
) -> None:
    lookups.pop(key, None)
    if not task.cancelled():
        task.exception()  # retrieved here too, in case every waiter went away


async def _authenticate(
    state: ServerState, token: str, key: str, now: datetime
) -> AuthenticatedMailbox:
    mailbox = await credential_service(state).authenticate(token)
    seconds = float(state.extras.get("auth_cache_seconds", AUTH_CACHE_SECONDS))
    if seconds > 0:
        cache: dict[str, tuple[AuthenticatedMailbox, datetime]] = state.extras["auth_cache"]
        until = now + timedelta(seconds=seconds)
        if mailbox.valid_until is not None:
            until = min(until, mailbox.valid_until)
        if len(cache) >= AUTH_CACHE_MAX_ENTRIES:  # bounded: forget the stale, else all
            for stale in [k for k, (_, end) in cache.items() if end <= now] or list(cache):
                del cache[stale]
        cache[key] = (mailbox, until)
    return mailbox


def ensure_operator_token(data_dir: Path) -> str | None:
    """Create ``<data_dir>/operator_token`` (mode 0600) if missing; return it when created."""
    path = data_dir / OPERATOR_TOKEN_FILE
    if path.exists():
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    log.info("operator token created in %s", path)
    return token


def _operator_digest(state: ServerState) -> str:
    cached = state.extras.get("operator_token_sha256")
    if isinstance(cached, str):
        return cached
    ensure_operator_token(state.settings.data_dir)
    token = (state.settings.data_dir / OPERATOR_TOKEN_FILE).read_text().strip()
    state.extras["operator_token_sha256"] = digest(token)
    return digest(token)


def operator_token_matches(state: ServerState, token: str | None) -> bool:
    """Whether ``token`` is the operator's (compared in constant time)."""
    return token is not None and hmac.compare_digest(digest(token), _operator_digest(state))


def is_operator(request: Request, state: ServerState) -> bool:
    """Whether the caller presents the operator token."""
    return operator_token_matches(state, bearer_token(request))


async def require_operator(
    request: Request, state: Annotated[ServerState, Depends(server_state)]
) -> None:
    """FastAPI dependency: 401 unless the caller presents the operator token."""
    if not is_operator(request, state):
        raise ProblemError(401, "operator-only", "this operation needs the operator token")


Agent = Annotated[AuthenticatedMailbox, Depends(authenticated_mailbox)]
Operator = Annotated[None, Depends(require_operator)]
