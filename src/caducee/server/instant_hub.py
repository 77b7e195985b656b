"""The MISS hub: ``/api/v1/instant/ws``, new message ids pushed to connected devices.

A device connects, authenticates with its person's access token (the ``Authorization``
header, or ``token`` in its hello, since browsers cannot set WebSocket headers), names
itself, and gives its cursor per case::

    → {"type": "hello", "device": "phone-1", "cursors": {"<case>": 12}}
    ← {"type": "message", "case_id": "<case>", "sequence": 13, "message_id": "..."}  (resume)
    ← {"type": "ready", "cases": {"<case>": 14}}
    ← {"type": "message", ...}                                                   (live)
    ← {"type": "case", "case_id": "<case>", "last_sequence": 3}    (added to a case, live)
    → {"type": "ping"}   ← {"type": "pong"}
    → {"type": "typing", "case_id": "<case>"}
    ← {"type": "typing", "case_id": "<case>", "address": "<who>"}    (others of the case)
    ← {"type": "presence", "address": "<who>", "online": true}        (after ready, live)

Frames carry ids only: the device fetches ciphertexts over HTTP with its own rights. A
connection lasts as long as its token: the first id due after the token's end closes it
with 4401 instead. Per case, ids arrive in sequence order, each once per connection. A bad
frame gets an ``error`` frame; a refused hello (token, device) closes with 4401, 4403 or
4404. Nothing a client sends can stop the hub. Live ids come from the process's bus
(in-process, or PostgreSQL LISTEN/NOTIFY across processes).

Typing and presence are ephemeral: never stored, never resumed, never evidence. A typing
frame is relayed to the case's other participants' connected devices (not to the typist's
own devices: they know), when its sender is in the case (else the same error as for an
unknown case); each connection may relay a few (``TYPING_BURST``, then one per
``TYPING_EVERY`` seconds): the rest are dropped silently, before any database read.

Presence ("online" or nothing, only to people who share a case, per process) is
:mod:`caducee.server.instant_presence`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from caducee.background import finish
from caducee.directory import CredentialError
from caducee.errors import CaduceeError
from caducee.instant.bus import CaseBus, by_case
from caducee.instant.cases import CaseService
from caducee.instant.devices import active_device
from caducee.instant.errors import MalformedInstantData
from caducee.instant.frames import Hello, Ping, Typing, parse_client_frame
from caducee.instant.models import Case, CaseMessage, Device, Participant
from caducee.instant.service_errors import DeviceRevoked
from caducee.server.auth import credential_service
from caducee.server.instant_login import device_of_token
from caducee.server.instant_presence import Presence, peers_of
from caducee.server.state import ServerState
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["Hub", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/instant", tags=["instant"])
HELLO_TIMEOUT = 10.0
OUTBOX_SIZE = 10_000
MAX_ERRORS = 20
RESUME_PAGE = 500
PONG = json.dumps({"type": "pong"})
REORDER_WINDOW = 256  # concurrent posts commit in sequence order but may announce out of it
TYPING_BURST = 3  # typing frames a connection may relay at once...
TYPING_EVERY = 1.0  # ...then one per this many seconds (the app sends one per 3 s at most)
UNKNOWN_CASE = json.dumps(
    {
        "type": "error",
        "code": "instant-case-not-found",
        "detail": "dossier inconnu / unknown case",
    }
)


@dataclass
class Throttle:
    """A token bucket: ``burst`` at once, then one per ``every`` seconds; excess refused."""

    burst: float = TYPING_BURST
    every: float = TYPING_EVERY
    tokens: float = TYPING_BURST
    at: float = field(default_factory=time.monotonic)

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) / self.every)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def message_frame(case_id: str, sequence: int, message_id: str) -> str:
    """The text of one message's frame: encoded once, then queued to every connection."""
    return json.dumps(
        {"type": "message", "case_id": case_id, "sequence": sequence, "message_id": message_id}
    )


@dataclass(eq=False)
class Connection:
    """One connected device: what it has been sent per case, and its outgoing frames.

    Frames are queued as text, so that a message offered to many connections is encoded
    once (the fan-out's cost is per socket, not per frame built)."""

    address: str
    device_id: str
    valid_until: datetime | None = None  # the token's (or its certificate's) end
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(OUTBOX_SIZE))
    sent: dict[str, int] = field(default_factory=dict)
    resuming: bool = True
    close_code: int = 1000
    pending: list[tuple[str, int, str | None, str]] = field(default_factory=list)
    typing: Throttle = field(default_factory=Throttle)

    def offer(self, case_id: str, sequence: int, to: str | None, frame: str) -> None:
        """Queue a message's ``frame`` unless already sent, or meant for another device."""
        if to is not None and to != self.device_id:
            return
        if self.resuming:
            self.pending.append((case_id, sequence, to, frame))
            return
        if sequence <= self.sent.get(case_id, 0):
            return
        self.sent[case_id] = sequence
        self.push(frame)

    def push(self, frame: str) -> None:
        """Queue one frame; a device that does not read is dropped (it will resume)."""
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.close(4408)

    def joined(self, case_id: str, last_sequence: int) -> None:
        """A case this device was not in: announce it once; the device fetches its messages."""
        if self.resuming or case_id in self.sent:
            return
        self.sent[case_id] = last_sequence
        self.push(json.dumps({"type": "case", "case_id": case_id, "last_sequence": last_sequence}))

    def resumed(self) -> None:
        self.resuming = False
        for item in sorted(self.pending):
            self.offer(*item)
        self.pending.clear()

    def close(self, code: int = 1000) -> None:
        """Make the writer close the socket (with ``code``) after nothing more."""
        self.close_code = code
        while True:
            try:
                self.outbox.put_nowait(None)
                return
            except asyncio.QueueFull:  # closing: what was queued no longer matters
                self.outbox.get_nowait()


class Hub:
    """The connections of one process, and the fan-out of the bus's events to them."""

    def __init__(
        self, database: Database, bus: CaseBus, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.database = database
        self.bus = bus
        self.now = now
        self.by_address: dict[str, set[Connection]] = defaultdict(set)
        self.presence: Presence[Connection] = Presence()

    def add(self, connection: Connection) -> None:
        self.by_address[connection.address].add(connection)

    def remove(self, connection: Connection) -> None:
        group = self.by_address.get(connection.address)
        if group is not None:
            group.discard(connection)
            if not group:
                del self.by_address[connection.address]
        self.presence.absent(connection)

    async def relay_typing(self, connection: Connection, case_id: str) -> str | None:
        """Relay that ``connection``'s person types in ``case_id``; an error frame, or None."""
        if not connection.typing.allow():
            return None  # throttled: dropped silently, before any database read
        now = self.now()
        if connection.valid_until is not None and now >= connection.valid_until:
            connection.close(4401)  # the token expired: log in again
            return None
        async with self.database.sessions() as session:
            people = set(
                await session.scalars(
                    select(Participant.address).where(
                        Participant.case_id == case_id, Participant.removed_at.is_(None)
                    )
                )
            )
            if connection.address not in people:
                return UNKNOWN_CASE  # as for a case that does not exist: nothing learnt
            targets = [
                c
                for a in people - {connection.address}
                for c in self.presence.ready(a)
                if c.valid_until is None or now < c.valid_until
            ]
            if not targets:
                return None
            devices = {c.device_id for c in targets} | {connection.device_id}
            active = set(
                await session.scalars(
                    select(Device.device_id).where(
                        Device.device_id.in_(devices), Device.revoked_at.is_(None)
                    )
                )
            )
        if connection.device_id not in active:
            connection.close(4403)
            return None
        frame = json.dumps({"type": "typing", "case_id": case_id, "address": connection.address})
        for target in targets:
            if target.device_id in active:
                target.push(frame)
        return None

    async def run(self) -> None:
        """Fan the bus's events out; those that arrive during a fan-out go out together."""
        pending: list[tuple[str, int]] = []
        flushing: asyncio.Task[None] | None = None

        async def flush() -> None:
            while pending:
                batch = pending[:]
                pending.clear()
                for case_id, sequences in by_case(batch).items():
                    try:
                        await self.fan_out(case_id, sequences)
                    except Exception:  # one case's failure never stops the hub
                        log.exception("fan-out of case %s %s failed", case_id, sequences)

        try:
            async for event in self.bus.subscribe():
                pending.append(event)
                if flushing is None or flushing.done():
                    flushing = asyncio.get_running_loop().create_task(flush())
        finally:  # the fan-out in hand ends (its database reads must not be cut short)
            if flushing is not None:
                await finish([flushing])

    async def fan_out(self, case_id: str, sequences: list[int]) -> None:
        """Push a case's new message ids (or, for sequence 0, the case itself) to its devices."""
        if not self.by_address:
            return
        top = max(sequences)
        async with self.database.sessions() as session:
            case = await session.get(Case, case_id) if 0 in sequences else None
            people = set(
                await session.scalars(
                    select(Participant.address).where(
                        Participant.case_id == case_id, Participant.removed_at.is_(None)
                    )
                )
            )
            targets = [c for a in people for c in self.by_address.get(a, ())]
            if not targets:
                return
            active = set(
                await session.scalars(
                    select(Device.device_id).where(
                        Device.device_id.in_({c.device_id for c in targets}),
                        Device.revoked_at.is_(None),
                    )
                )
            )
            messages: list[Any] = []
            if top:  # ids only, never the ciphertext (up to megabytes); with the ids whose
                # events came after later ones' (or not at all), within the reorder window
                low = min(min(c.sent.get(case_id, 0) for c in targets), min(sequences) - 1)
                messages = list(
                    await session.execute(
                        select(
                            CaseMessage.sequence,
                            CaseMessage.message_id,
                            CaseMessage.recipient_device_id,
                        )
                        .where(
                            CaseMessage.case_id == case_id,
                            CaseMessage.sequence > max(low, top - REORDER_WINDOW),
                            CaseMessage.sequence <= top,
                        )
                        .order_by(CaseMessage.sequence)
                    )
                )
        now = self.now()
        frames = [(n, to, message_frame(case_id, n, m)) for n, m, to in messages]
        for connection in targets:
            if connection.valid_until is not None and now >= connection.valid_until:
                connection.close(4401)  # the token expired: log in again, then resume
            elif connection.device_id not in active:
                connection.close(4403)  # revoked meanwhile: it receives nothing more
            else:
                if case is not None:
                    connection.joined(case_id, case.last_sequence)
                for number, to, text in frames:  # offer() skips what was already sent
                    connection.offer(case_id, number, to, text)
        if case is not None:
            self.presence.shared(people)


def _send_error(code: str, detail: str) -> str:
    return json.dumps({"type": "error", "code": code, "detail": detail})


async def _writer(websocket: WebSocket, connection: Connection) -> None:
    while (frame := await connection.outbox.get()) is not None:
        await websocket.send_text(frame)
    with contextlib.suppress(Exception):
        await websocket.close(connection.close_code)


async def _hello(websocket: WebSocket, state: ServerState) -> Connection | None:
    """Read and check the hello; None (and the socket closed) when refused."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT)
        hello = parse_client_frame(text)
    except (TimeoutError, MalformedInstantData, KeyError):
        await websocket.close(4400, "hello attendu / hello expected")
        return None
    if not isinstance(hello, Hello):
        await websocket.close(4400, "hello attendu / hello expected")
        return None
    scheme, _, header_token = websocket.headers.get("authorization", "").partition(" ")
    token = hello.token or (header_token.strip() if scheme.lower() == "bearer" else "")
    if not token:
        await websocket.close(4401, "jeton absent / no access token")
        return None
    try:
        mailbox = await credential_service(state).authenticate(token)
    except CredentialError as exc:
        await websocket.close(4401, exc.code)
        return None
    bound = await device_of_token(state, token)  # a device's token speaks for it alone
    if bound is not None and bound != hello.device_id:
        await websocket.close(4403, "instant-device-mismatch")
        return None
    try:
        async with state.database.sessions() as session:
            await active_device(session, mailbox.address, hello.device_id)
    except DeviceRevoked as exc:
        await websocket.close(4403, exc.code)
        return None
    except CaduceeError as exc:
        await websocket.close(4404, exc.code)
        return None
    connection = Connection(mailbox.address, hello.device_id, mailbox.valid_until)
    connection.sent.update(hello.cursors)
    return connection


async def _resume(state: ServerState, connection: Connection) -> dict[str, int]:
    """Queue every id after the device's cursors, in each of its cases; their last sequences."""
    cases = CaseService(state.database, None)
    lasts: dict[str, int] = {}
    for case_id in await cases.case_ids_of(connection.address):
        after = connection.sent.get(case_id, 0)
        while True:
            last, page = await cases.messages(
                connection.address,
                case_id,
                device_id=connection.device_id,
                after=after,
                limit=RESUME_PAGE,
            )
            connection.pending.extend(
                (
                    case_id,
                    m.sequence,
                    m.recipient_device_id,
                    message_frame(case_id, m.sequence, m.message_id),
                )
                for m in page
            )
            if len(page) < RESUME_PAGE:
                break
            after = page[-1].sequence
        lasts[case_id] = last
    return lasts


@router.websocket("/ws")
async def hub_socket(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.caducee
    hub: Hub | None = state.extras.get("instant_hub")
    await websocket.accept()
    if hub is None:
        await websocket.close(1013, "hub not started")
        return
    connection = await _hello(websocket, state)
    if connection is None:
        return
    hub.add(connection)  # first, so nothing committed during the resume is missed
    writer = asyncio.get_running_loop().create_task(_writer(websocket, connection))
    try:
        lasts = await _resume(state, connection)
        peers = await peers_of(state.database, connection.address)
        connection.resumed()
        connection.outbox.put_nowait(json.dumps({"type": "ready", "cases": lasts}))
        hub.presence.arrived(connection, peers)
        log.info("device %s connected (%d cases)", connection.device_id, len(lasts))
        errors = 0
        while not writer.done():
            text = await websocket.receive_text()
            try:
                frame = parse_client_frame(text)
            except MalformedInstantData as exc:
                errors += 1
                connection.outbox.put_nowait(_send_error(exc.code, exc.reason))
                if errors >= MAX_ERRORS:
                    break
                continue
            if isinstance(frame, Ping):
                connection.outbox.put_nowait(PONG)
            elif isinstance(frame, Typing):
                refused = await hub.relay_typing(connection, frame.case_id)
                if refused is not None:
                    connection.push(refused)
            else:
                connection.outbox.put_nowait(
                    _send_error("instant-invalid-frame", "déjà connecté / already said hello")
                )
    except (WebSocketDisconnect, RuntimeError, asyncio.QueueFull):
        pass
    except CaduceeError as exc:  # e.g. the device revoked while resuming
        log.info("device %s refused: %s", connection.device_id, exc.code)
    finally:
        hub.remove(connection)
        if not writer.done():
            connection.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(writer, 1.0)
        log.info("device %s disconnected", connection.device_id)
