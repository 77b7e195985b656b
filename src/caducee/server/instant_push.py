"""MISS push notifications without content (Web Push, RFC 8030, with VAPID, RFC 8292).

- ``GET /api/v1/instant/push/key`` → {key}: the application server key (P-256, base64url),
  public by nature (the browser hands it to its push service); served to anyone.
- ``POST /api/v1/instant/push/subscriptions`` {endpoint, keys: {p256dh, auth}} (a device
  token only) → 201 {device_id}: this device's subscription (one per device, replaced).
- ``DELETE /api/v1/instant/push/subscriptions`` (a device token only) → {removed}.

A person's (agent's) token gets 403 ``instant-push-device-only``: a subscription belongs to
a device. A bad subscription is 422 ``instant-push-invalid-subscription``.

The sender follows the case bus: for each new message (not read receipts, not sealed sender
keys) it POSTs an *empty* push (``TTL``, ``Urgency: high``, VAPID ``Authorization``, no body:
the push service learns neither content nor case) to the subscribed, unrevoked devices of
the case's participants, except the device that sent it; at most one push per device and
case every ``extras["instant_push_interval"]`` seconds (30), across server processes too (a
claim row per device and case: every process hears every event, one of them sends). The
phone's service worker then shows "new secure message" and the app fetches the rest itself.
A 404 or 410 deletes the subscription; other failures are logged with ids only and never
stop the loop. Events are handled side by side (up to ``MAX_IN_FLIGHT``): a push service
that answers slowly (within its ``TIMEOUT_SECONDS``) holds up only its own pushes. A revoked
device's subscription is deleted the first time it would have been pushed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from caducee.background import finish
from caducee.instant.bus import CaseBus, by_case
from caducee.instant.envelope import MessageKind
from caducee.instant.models import (
    CaseMessage,
    Device,
    Participant,
    PushClaim,
    PushSubscription,
)
from caducee.instant.push_endpoint import MAX_ENDPOINT, InvalidSubscription, check_subscription
from caducee.instant.vapid import application_server_key, authorization, load_or_create_key
from caducee.server.auth import Agent, bearer_token
from caducee.server.instant_common import State, now_of
from caducee.server.instant_login import device_of_token
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState
from caducee.store import Database

__all__ = ["PushSender", "router", "start"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/instant/push", tags=["instant"])

COALESCE_SECONDS = 30.0
TTL_SECONDS = 86_400  # a phone off for the night still learns in the morning
TIMEOUT_SECONDS = 5.0
MAX_IN_FLIGHT = 64  # events handled at once; more wait for a slot
SILENT = {MessageKind.READ.value, MessageKind.KEY.value}  # nobody is woken for these
Key = Annotated[str, Field(min_length=1, max_length=200)]


class SubscriptionKeys(StrictRequest):
    p256dh: Key
    auth: Key


class SubscriptionRequest(StrictRequest):
    endpoint: str = Field(min_length=8, max_length=MAX_ENDPOINT)
    keys: SubscriptionKeys
    expirationTime: float | None = None  # noqa: N815 (PushSubscription.toJSON()'s name)


def _key(state: ServerState) -> ec.EllipticCurvePrivateKey:
    key: ec.EllipticCurvePrivateKey | None = state.extras.get("instant_push_key")
    if key is None:
        raise ProblemError(
            503, "instant-push-unavailable", "push indisponible, réessayez / push unavailable"
        )
    return key


async def _device(request: Request, state: ServerState) -> str:
    device_id = await device_of_token(state, bearer_token(request) or "")
    if device_id is None:
        raise ProblemError(
            403,
            "instant-push-device-only",
            "un abonnement push appartient à un appareil : connectez l'appareil / "
            "a push subscription belongs to a device: log the device in",
        )
    return device_id


@router.get("/key", summary="The application server key (VAPID), base64url")
async def push_key(state: State) -> dict[str, str]:
    return {"key": application_server_key(_key(state))}


@router.post("/subscriptions", status_code=201, summary="This device's push subscription")
async def subscribe(
    body: SubscriptionRequest, request: Request, agent: Agent, state: State
) -> dict[str, Any]:
    device_id = await _device(request, state)
    try:
        endpoint = check_subscription(body.endpoint, body.keys.p256dh, body.keys.auth)
    except InvalidSubscription as exc:
        raise ProblemError(422, exc.code, exc.reason) from None
    async with state.database.transaction() as session:
        await session.execute(
            delete(PushSubscription).where(
                (PushSubscription.device_id == device_id) | (PushSubscription.endpoint == endpoint)
            )
        )
        session.add(
            PushSubscription(device_id=device_id, endpoint=endpoint, created_at=now_of(state)())
        )
    log.info("push subscription of device %s registered", device_id)
    return {"device_id": device_id, "subscribed": True}


@router.delete("/subscriptions", summary="Stop pushes to this device")
async def unsubscribe(request: Request, agent: Agent, state: State) -> dict[str, Any]:
    device_id = await _device(request, state)
    async with state.database.transaction() as session:
        result = await session.execute(
            delete(PushSubscription).where(PushSubscription.device_id == device_id)
        )
    removed = bool(getattr(result, "rowcount", 0))
    log.info("push subscription of device %s removed: %s", device_id, removed)
    return {"device_id": device_id, "removed": removed}


# Built once (bound per call): who sent a case's messages that wake someone (never the
# ciphertext, up to megabytes, just to learn its kind), and the subscriptions of its people.
_SENDERS = select(CaseMessage.sender_device_id).where(
    CaseMessage.case_id == bindparam("case"),
    CaseMessage.sequence.in_(bindparam("sequences", expanding=True)),
    CaseMessage.kind.not_in(SILENT),
)
_SUBSCRIBED = (
    select(PushSubscription.device_id, PushSubscription.endpoint, Device.revoked_at)
    .join(Device, Device.device_id == PushSubscription.device_id)
    .join(Participant, Participant.address == Device.address)
    .where(Participant.case_id == bindparam("case"), Participant.removed_at.is_(None))
    .order_by(PushSubscription.device_id)
)


class PushSender:
    """Empty pushes for new case messages, coalesced per device and case."""

    def __init__(
        self,
        database: Database,
        bus: CaseBus,
        key: ec.EllipticCurvePrivateKey,
        *,
        subject: str,
        now: Callable[[], datetime],
        interval: Callable[[], float] = lambda: COALESCE_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.database = database
        self.bus = bus
        self.key = key
        self.subject = subject
        self.now = now
        self.interval = interval
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self.processed = 0  # events handled (tests wait on it)

    async def run(self) -> None:
        """Follow the bus. The events that arrive while earlier ones are handled are taken
        together, a case at a time (two queries for all of a case's new messages), and the
        cases side by side (at most ``MAX_IN_FLIGHT``), so that a slow push service delays
        only the pushes sent to it."""
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        running: set[asyncio.Task[None]] = set()
        pending: list[tuple[str, int]] = []
        flushing: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()

        async def flush() -> None:
            while pending:
                events = pending[:]
                pending.clear()
                for case_id, sequences in by_case(events).items():
                    await slots.acquire()
                    task = loop.create_task(self._handle_case(case_id, sequences, slots))
                    running.add(task)
                    task.add_done_callback(running.discard)

        try:
            async for event in self.bus.subscribe():
                pending.append(event)
                if flushing is None or flushing.done():
                    flushing = loop.create_task(flush())
        finally:  # the pushes in hand end (their database calls must not be cut short)
            if flushing is not None:
                flushing.cancel()  # it only starts tasks
            await finish(running)

    async def _handle_case(
        self, case_id: str, sequences: list[int], slots: asyncio.Semaphore
    ) -> None:
        try:
            await self.handle(case_id, sequences)
        except Exception:  # one bad event never stops the pushes of the others
            log.exception("push for case %s messages %s failed", case_id, sequences)
        finally:
            self.processed += len(sequences)
            slots.release()

    async def handle(self, case_id: str, sequences: list[int]) -> None:
        """Push the devices a case's new messages (``sequences``) should wake."""
        numbers = [n for n in sequences if n]  # 0: new participants, not a message
        if numbers:
            targets = await self._targets(case_id, numbers)
            await asyncio.gather(*(self._push(case_id, d, e) for d, e in targets))

    async def _targets(self, case_id: str, sequences: list[int]) -> list[tuple[str, str]]:
        async with self.database.sessions() as session:
            senders = set(
                await session.scalars(_SENDERS, {"case": case_id, "sequences": sequences})
            )
            if not senders:  # read receipts and keys wake nobody
                return []
            rows = (await session.execute(_SUBSCRIBED, {"case": case_id})).all()
        revoked = [d for d, _, r in rows if r is not None]
        if revoked:
            await self._drop(revoked, "device revoked")
        now = self.now()
        live = [(d, e) for d, e, r in rows if r is None and senders - {d}]  # not its own
        return [(d, e) for d, e in live if await self._claim(d, case_id, now)]

    async def _claim(self, device_id: str, case_id: str, now: datetime) -> bool:
        """Whether this process pushes ``device_id`` for ``case_id`` now (coalescing).

        The claim row moves forward only if its last push is old enough; on PostgreSQL with
        several server processes, each hearing the same event, exactly one wins it.
        """
        since = now - timedelta(seconds=self.interval())
        async with self.database.transaction() as session:
            moved = await session.execute(
                update(PushClaim)
                .where(
                    PushClaim.device_id == device_id,
                    PushClaim.case_id == case_id,
                    PushClaim.pushed_at <= since,
                )
                .values(pushed_at=now)
            )
            if getattr(moved, "rowcount", 0) == 1:
                return True
            if await session.get(PushClaim, (device_id, case_id)) is not None:
                return False  # coalesced: the device already knows this case has news
        try:
            async with self.database.transaction() as session:
                session.add(PushClaim(device_id=device_id, case_id=case_id, pushed_at=now))
        except IntegrityError:  # another process claimed it first
            return False
        return True

    async def _push(self, case_id: str, device_id: str, endpoint: str) -> None:
        headers = {
            "TTL": str(TTL_SECONDS),
            "Urgency": "high",
            "Authorization": authorization(self.key, endpoint, self.subject, self.now()),
        }
        try:
            response = await self.client.post(endpoint, content=b"", headers=headers)
        except httpx.HTTPError as exc:
            log.warning(
                "push to device %s (case %s) failed: %s", device_id, case_id, type(exc).__name__
            )
            return
        if response.status_code in (404, 410):
            await self._drop([device_id], f"push service answered {response.status_code}")
        elif response.status_code >= 300:
            log.warning(
                "push to device %s (case %s): push service answered %d",
                device_id,
                case_id,
                response.status_code,
            )
        else:
            log.info("push to device %s (case %s) sent", device_id, case_id)

    async def _drop(self, devices: list[str], why: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                delete(PushSubscription).where(PushSubscription.device_id.in_(devices))
            )
        for device_id in devices:
            log.info("push subscription of device %s deleted: %s", device_id, why)

    async def close(self) -> None:
        await self.client.aclose()


async def start(state: ServerState, bus: CaseBus) -> Callable[[], Awaitable[None]]:
    """Load (or create) the VAPID key and follow the bus; returns what stops the sender."""
    key = await asyncio.to_thread(load_or_create_key, state.settings.data_dir)
    state.extras["instant_push_key"] = key
    sender = PushSender(
        state.database,
        bus,
        key,
        subject=f"mailto:{state.settings.support_contact}",
        now=now_of(state),
        interval=lambda: float(state.extras.get("instant_push_interval", COALESCE_SECONDS)),
    )
    state.extras["instant_push_sender"] = sender
    task = asyncio.get_running_loop().create_task(sender.run(), name="instant-push")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sender.close()

    return stop
