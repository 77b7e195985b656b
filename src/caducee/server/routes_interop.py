"""HTTP routes of the mail edge; ``start`` runs its background work.

- ``GET /.well-known/autoconfig/mail/config-v1.1.xml`` and ``GET /mail/config-v1.1.xml``
  (anyone): Thunderbird's autoconfig (IMAP and submission, STARTTLS, the address as
  user name, an application password as password).
- ``GET|POST /api/v1/interop/app-passwords`` (an agent's token): list the caller's
  application passwords / make one, ``{"label": "Thunderbird"}`` → 201 with the password,
  shown this once, and the server settings for the mail client.
- ``DELETE /api/v1/interop/app-passwords/{id}`` (the owner's token): revoke, 204.
- ``POST /api/v1/interop/outbound`` (an agent's token): the clear MIME message
  (``message/rfc822``) for recipients at other MSSanté operators, named in ``Caducee-To``
  (comma-separated); 202 {message_id, recipients} once queued (durable).
- ``GET /api/v1/interop/outbound/{message_id}`` (the sender's token): its queue state.

``start(state)``: the outbound worker (when the SMTP edge is on), Dovecot and the LMTP
copy (``CADUCEE_SMTP_DOVECOT_ENABLED``), the trust-list refresh when the edge does not run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from sqlalchemy import select

from caducee.errors import CaduceeError
from caducee.gateway import GatewayConfig, TrustList, TrustListRefresher
from caducee.gateway.dovecot import DovecotServer
from caducee.gateway.edge import outbound_queue, tls_files
from caducee.gateway.errors import (
    DomainNotTrusted,
    PasswordError,
    RelayDenied,
    SMTPRefusal,
    TooManyPasswords,
    UnknownPassword,
)
from caducee.gateway.external import check_external_recipient, queue_external
from caducee.gateway.imap_delivery import IMAPDelivery
from caducee.gateway.models import OutboundMail
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.passwords import AppPasswordService
from caducee.server.auth import Agent, clock, server_state
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState

__all__ = ["router", "start"]

router = APIRouter(tags=["interop"])
State = Annotated[ServerState, Depends(server_state)]
MAX_RECIPIENTS = 100


def _config(state: ServerState) -> GatewayConfig:
    config: GatewayConfig | None = state.extras.get("gateway_config")
    if config is None:
        config = state.extras["gateway_config"] = GatewayConfig.from_settings(state.settings)
    return config


def _trust_list(state: ServerState, config: GatewayConfig) -> TrustList:
    edge = state.extras.get("smtp_edge")
    if edge is not None:
        trust: TrustList = edge.trust_list
        return trust
    found: TrustList | None = state.extras.get("trust_list")
    if found is None:
        found = state.extras["trust_list"] = TrustList(
            local=(*config.internal_domains, *config.trust_list_local)
        )
    return found


# -- autoconfig ---------------------------------------------------------------------------


def autoconfig_xml(state: ServerState) -> str:
    """Thunderbird's ``clientConfig`` 1.1 for this operator's mail domain."""
    config = _config(state)
    settings = state.settings
    host = escape(config.hostname)

    def server(kind: str, tag: str, port: int) -> str:
        return (
            f'<{tag} type="{kind}"><hostname>{host}</hostname><port>{port}</port>'
            "<socketType>STARTTLS</socketType><authentication>password-cleartext"
            "</authentication><username>%EMAILADDRESS%</username></" + tag + ">"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">'
        f'<emailProvider id="{escape(config.mail_domain)}">'
        f"<domain>{escape(config.mail_domain)}</domain>"
        f"<displayName>{escape(settings.operator_name)}</displayName>"
        "<displayShortName>Caducée</displayShortName>"
        + server("imap", "incomingServer", config.imap_port)
        + server("smtp", "outgoingServer", int(settings.smtp_submission_port))
        + f'<documentation url="{escape(settings.public_url)}/">'
        "<descr lang=\"fr\">Mot de passe : un mot de passe d'application créé dans l'agent "
        "Caducée. Les messages restent chiffrés (S/MIME) : importez votre certificat.</descr>"
        '<descr lang="en">Password: an application password made in the Caducée agent. '
        "Messages stay encrypted (S/MIME): import your certificate.</descr>"
        "</documentation></emailProvider></clientConfig>\n"
    )


@router.get("/.well-known/autoconfig/mail/config-v1.1.xml", include_in_schema=False)
@router.get("/mail/config-v1.1.xml")
async def autoconfig(state: State) -> Response:
    return Response(autoconfig_xml(state), media_type="application/xml; charset=utf-8")


# -- application passwords ----------------------------------------------------------------


def _passwords(state: ServerState) -> AppPasswordService:
    return AppPasswordService(state.database, now=clock(state))


def _password_problem(exc: PasswordError) -> ProblemError:
    if isinstance(exc, TooManyPasswords):
        return ProblemError(409, exc.code, f"Trop de mots de passe / too many: {exc.reason}")
    if isinstance(exc, UnknownPassword):
        return ProblemError(404, exc.code, f"Mot de passe inconnu / unknown: {exc.reason}")
    return ProblemError(400, exc.code, exc.reason)


def _client_settings(state: ServerState) -> dict[str, Any]:
    config = _config(state)
    return {
        "imap": {"host": config.hostname, "port": config.imap_port, "security": "STARTTLS"},
        "smtp": {
            "host": config.hostname,
            "port": int(state.settings.smtp_submission_port),
            "security": "STARTTLS",
        },
    }


@router.get("/api/v1/interop/app-passwords")
async def list_app_passwords(state: State, caller: Agent) -> dict[str, Any]:
    try:
        rows = await _passwords(state).list_passwords(caller.address)
    except PasswordError as exc:
        raise _password_problem(exc) from None
    return {
        "username": caller.address,
        # whether a password can be used at all: the agent hides its form when neither is on
        "smtp_enabled": bool(state.settings.smtp_enabled),
        "imap_enabled": _config(state).dovecot_enabled,
        "passwords": [
            {
                "id": r.id,
                "label": r.label,
                "created_at": r.created_at.isoformat(),
                "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in rows
        ],
    }


@router.post("/api/v1/interop/app-passwords", status_code=201)
async def create_app_password(
    state: State, caller: Agent, body: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, Any]:
    label = (body or {}).get("label", "mail client")
    if not isinstance(label, str) or len(label) > 100:
        raise ProblemError(
            400, "invalid-label", "Libellé invalide (100 caractères) / invalid label"
        )
    try:
        created = await _passwords(state).create(caller.address, label)
    except PasswordError as exc:
        raise _password_problem(exc) from None
    return {
        "id": created.id,
        "label": created.label,
        "username": caller.address,
        "password": created.password,
        "created_at": created.created_at.isoformat(),
        "notice": "Affiché une seule fois / shown only once",
        **_client_settings(state),
    }


@router.delete("/api/v1/interop/app-passwords/{password_id}", status_code=204)
async def revoke_app_password(state: State, caller: Agent, password_id: int) -> Response:
    if not 0 < password_id < 2**31:
        raise ProblemError(404, "unknown-app-password", "Mot de passe inconnu / unknown password")
    try:
        await _passwords(state).revoke(caller.address, password_id)
    except PasswordError as exc:
        raise _password_problem(exc) from None
    return Response(status_code=204)


# -- outbound for the agent ----------------------------------------------------------------


def _refusal_problem(refusal: SMTPRefusal) -> ProblemError:
    status = 422
    if isinstance(refusal, DomainNotTrusted | RelayDenied):
        status = 403
    if refusal.smtp_code < 500:
        status = 503
    if refusal.code == "too-large":
        status = 413
    return ProblemError(status, refusal.code, refusal.reason, smtp=refusal.reply)


@router.post("/api/v1/interop/outbound", status_code=202)
async def send_outbound(
    request: Request,
    state: State,
    caller: Agent,
    caducee_to: Annotated[str, Header(max_length=32_000)],
) -> dict[str, Any]:
    queue: OutboundQueue | None = state.extras.get("outbound_queue")
    if queue is None:
        raise ProblemError(
            503,
            "gateway-off",
            "La passerelle MSSanté n'est pas active / the MSSanté gateway is off",
        )
    config = _config(state)
    recipients = [a.strip().lower() for a in caducee_to.split(",") if a.strip()]
    if not 0 < len(recipients) <= MAX_RECIPIENTS:
        raise ProblemError(400, "invalid-recipients", f"1 à/to {MAX_RECIPIENTS} destinataires")
    body = await request.body()
    if len(body) > config.data_size_limit:
        raise ProblemError(413, "too-large", "Message trop grand / message too large")
    try:
        for address in recipients:
            check_external_recipient(config, _trust_list(state, config), address)
        message_id = await queue_external(
            queue,
            config,
            sender=caller.address,
            sender_mailbox_id=caller.mailbox_id,
            recipients=recipients,
            content=body,
            via="HTTPS",
        )
    except SMTPRefusal as refusal:
        raise _refusal_problem(refusal) from None
    except CaduceeError as exc:
        raise ProblemError(503, exc.code, "Réessayez plus tard / try again later") from None
    return {"message_id": message_id, "recipients": recipients, "state": "queued"}


@router.get("/api/v1/interop/outbound/{message_id}")
async def outbound_state(state: State, caller: Agent, message_id: str) -> dict[str, Any]:
    async with state.database.sessions() as session:
        rows = list(
            await session.scalars(
                select(OutboundMail).where(
                    OutboundMail.message_id == message_id,
                    OutboundMail.sender_mailbox_id == caller.mailbox_id,
                )
            )
        )
    if not rows:
        raise ProblemError(404, "unknown-message", "Message inconnu / unknown message")
    return {
        "message_id": message_id,
        "domains": [
            {
                "domain": r.domain,
                "recipients": r.recipients,
                "state": r.state,
                "attempts": r.attempts,
                "last_reply": r.last_reply,
            }
            for r in rows
        ],
    }


# -- background work ------------------------------------------------------------------------


async def start(state: ServerState) -> Callable[[], Awaitable[None]] | None:
    """Start background work; return the coroutine function that stops it, or None."""
    config = _config(state)
    stoppers: list[Callable[[], Awaitable[None]]] = []
    try:
        if state.settings.smtp_enabled and config.outbound_enabled:
            queue = await outbound_queue(state, config)
            queue.start()
            stoppers.append(queue.stop)
            if state.extras.get("smtp_edge") is None and config.trust_list_source:
                refresher = TrustListRefresher(
                    _trust_list(state, config),
                    config.trust_list_source,
                    config.trust_list_refresh_seconds,
                )
                refresher.start()
                stoppers.append(refresher.stop)
        if config.dovecot_enabled:
            cert, key = await asyncio.to_thread(tls_files, config)
            dovecot = DovecotServer(config, state.settings.resolved_database_url, cert, key)
            await dovecot.start()
            stoppers.append(dovecot.stop)
            delivery = IMAPDelivery(state.database, state.blobs, config.lmtp_port, now=clock(state))
            delivery.start()
            stoppers.append(delivery.stop)
    except BaseException:
        for stop in reversed(stoppers):
            await stop()
        raise
    if not stoppers:
        return None

    async def stop_all() -> None:
        for stop in reversed(stoppers):
            await stop()

    return stop_all
