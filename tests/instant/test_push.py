"""MISS push notifications without content: the VAPID key, device subscriptions, and the
sender's empty pushes.

Headless Chromium here has no push service (no internet), so the browser's subscription
cannot be exercised end to end. A real local HTTP server stands in for the push service
(RFC 8030): the server POSTs to it over the network exactly as it would to a real one, and
it checks what a push service checks: the VAPID JWT (RFC 8292) signed ES256 by the key the
server serves, its ``aud`` and ``exp``, the ``k=`` key, an empty body, a ``TTL``. The
browser side (``sw_push.js`` showing a notification) is tested in Chromium separately.

On SQLite and PostgreSQL. SYNTHETIC TEST MATERIAL: invented people and devices, made-up
subscription keys (random bytes of the right shape), synthetic message text.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from caducee.instant.models import PushSubscription
from caducee.instant.push_endpoint import InvalidSubscription, check_subscription
from caducee.instant.vapid import load_or_create_key
from caducee.server.instant_push import PushSender
from tests.instant.miss import API, group, open_case, post
from tests.instant.test_pairing_support import paired_device
from tests.server.conftest import OPERATOR_TOKEN, Identity, World, problem

PUSH = f"{API}/push"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def subscription(endpoint: str) -> dict[str, Any]:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    raw = b"\x04" + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
    return {"endpoint": endpoint, "keys": {"p256dh": b64url(raw), "auth": b64url(os.urandom(16))}}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A stand-in push service on 127.0.0.1: records each push, answers ``status[path]``."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)  # seconds before answering

    def paths(self) -> list[str]:
        return sorted(r.path for r in self.received)


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            time.sleep(service.delay.get(self.path, 0.0))
            service.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(service.status.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def sender(world: World) -> PushSender:
    found: PushSender = world.state.extras["instant_push_sender"]
    return found


async def settled(world: World, events: int, since: int) -> None:
    """Wait until the sender has handled ``events`` bus events after ``since``."""
    for _ in range(400):
        if sender(world).processed >= since + events:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the push sender handled {sender(world).processed - since} events")


async def subscribed_device(
    world: World, person: Identity, push: PushService, name: str
) -> tuple[Any, str]:
    keys, token = await paired_device(world, person)
    response = await world.client.post(
        f"{PUSH}/subscriptions", json=subscription(f"{push.base}/{name}"), headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    assert response.json()["device_id"] == keys.device_id
    return keys, token


def check_vapid(received: Received, served_key: str, push_base: str, now: float) -> None:
    """What a push service checks (RFC 8292 §2-3), with no JWT library: ES256 by hand."""
    assert received.body == b""
    assert int(received.headers["ttl"]) > 0
    assert received.headers["urgency"] == "high"
    assert "content-encoding" not in received.headers
    scheme, _, params = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert fields["k"] == served_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    point = unb64url(served_key)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    raw = unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    body = json.loads(unb64url(claims))
    assert body["aud"] == push_base
    assert now < body["exp"] <= now + 24 * 3600
    assert body["sub"].startswith("mailto:")


async def test_empty_pushes_reach_the_other_devices_of_the_participants_only(
    world: World, push_service: PushService
) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    carol, dave = await world.person("Carol"), await world.person("Dave")
    phone, _ = await subscribed_device(world, alice, push_service, "alice-phone")
    await subscribed_device(world, alice, push_service, "alice-tablet")
    await subscribed_device(world, bob, push_service, "bob")
    await subscribed_device(world, carol, push_service, "carol")  # not in the case
    dave_device, _ = await subscribed_device(world, dave, push_service, "dave")
    revoked = await world.client.delete(
        f"{API}/devices/{dave_device.device_id}", headers=dave.headers
    )
    assert revoked.json()["revoked"] is True

    start = sender(world).processed
    case_id = (await open_case(world, alice, [bob.address, dave.address]))["case_id"]
    cipher = group(case_id, phone)
    sent = await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique 1"))
    assert sent.status_code == 201, sent.text
    await settled(world, 2, start)  # the case (sequence 0: no push), then the message
    assert push_service.paths() == ["/alice-tablet", "/bob"]  # not the sender's own device
    served = (await world.client.get(f"{PUSH}/key")).json()["key"]
    for received in push_service.received:
        check_vapid(received, served, push_service.base, world.clock().timestamp())
    async with world.state.database.sessions() as session:
        kept = set(await session.scalars(select(PushSubscription.device_id)))
    assert dave_device.device_id not in kept  # a revoked device's subscription is dropped
    assert phone.device_id in kept

    # Coalescing: within 30 s of the last push, a device is not pushed again for this case.
    push_service.received.clear()
    start = sender(world).processed
    await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique 2"))
    await settled(world, 1, start)
    assert push_service.received == []
    world.clock.advance(seconds=31)
    await world.login(alice)
    start = sender(world).processed
    await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique 3"))
    await settled(world, 1, start)
    assert push_service.paths() == ["/alice-tablet", "/bob"]

    # Bob answers from an unsubscribed device: Alice's phone and tablet hear of it.
    bob_laptop, _ = await paired_device(world, bob)
    push_service.received.clear()
    world.clock.advance(seconds=31)
    await world.login(bob)
    start = sender(world).processed
    reply = group(case_id, bob_laptop)
    await post(world, bob, case_id, bob_laptop, "message", reply.encrypt(b"synthetique 4"))
    await settled(world, 1, start)
    assert push_service.paths() == ["/alice-phone", "/alice-tablet", "/bob"]


async def test_two_server_processes_hearing_the_same_event_push_once(
    world: World, push_service: PushService
) -> None:
    """A second sender on the same bus and database stands in for a second server process
    (on PostgreSQL every process hears every NOTIFY): the claim row lets one of them push."""
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, _ = await subscribed_device(world, alice, push_service, "alice")
    await subscribed_device(world, bob, push_service, "bob")
    other = PushSender(
        world.state.database,
        world.state.extras["instant_bus"],
        world.state.extras["instant_push_key"],
        subject="mailto:support@synthetic.test",
        now=world.clock,
    )
    task = asyncio.create_task(other.run())
    await asyncio.sleep(0.05)  # subscribed to the bus
    try:
        start, start_other = sender(world).processed, other.processed
        case_id = (await open_case(world, alice, [bob.address]))["case_id"]
        cipher = group(case_id, phone)
        for text in (b"synthetique 1", b"synthetique 2"):
            await post(world, alice, case_id, phone, "message", cipher.encrypt(text))
        await settled(world, 3, start)
        for _ in range(400):
            if other.processed >= start_other + 3:
                break
            await asyncio.sleep(0.01)
        assert other.processed == start_other + 3
        assert push_service.paths() == ["/bob"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await other.close()


async def test_a_gone_subscription_is_deleted_and_failures_do_not_stop_the_sender(
    world: World, push_service: PushService
) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, _ = await subscribed_device(world, alice, push_service, "alice")
    laptop, _ = await subscribed_device(world, bob, push_service, "bob")
    push_service.status["/bob"] = 410
    start = sender(world).processed
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    cipher = group(case_id, phone)
    await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique"))
    await settled(world, 2, start)  # the case, then the message
    assert push_service.paths() == ["/bob"]
    async with world.state.database.sessions() as session:
        assert await session.get(PushSubscription, laptop.device_id) is None

    # A push service that is down (a closed port) is logged; the next event still goes out.
    dead = f"http://127.0.0.1:{_closed_port()}/x"
    async with world.state.database.transaction() as session:
        session.add(PushSubscription(device_id=laptop.device_id, endpoint=dead))
    world.clock.advance(seconds=31)
    await world.login(alice)
    start = sender(world).processed
    await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique 2"))
    await settled(world, 1, start)
    bob_tablet, _ = await subscribed_device(world, bob, push_service, "bob-tablet")
    push_service.received.clear()
    start = sender(world).processed
    await post(world, alice, case_id, phone, "message", cipher.encrypt(b"synthetique 3"))
    await settled(world, 1, start)
    assert push_service.paths() == ["/bob-tablet"]
    assert bob_tablet.device_id


async def test_a_slow_push_service_holds_up_only_its_own_pushes(
    world: World, push_service: PushService
) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    carol = await world.person("Carol")
    phone, _ = await subscribed_device(world, alice, push_service, "alice")
    await subscribed_device(world, bob, push_service, "bob")
    await subscribed_device(world, carol, push_service, "carol")
    push_service.delay["/bob"] = 3.0
    slow_case = (await open_case(world, alice, [bob.address]))["case_id"]
    quick_case = (await open_case(world, alice, [carol.address]))["case_id"]
    await post(world, alice, slow_case, phone, "message", group(slow_case, phone).encrypt(b"a"))
    await post(world, alice, quick_case, phone, "message", group(quick_case, phone).encrypt(b"b"))
    for _ in range(100):  # Carol's push goes out while Bob's service is still answering
        if push_service.paths():
            break
        await asyncio.sleep(0.01)
    assert push_service.paths() == ["/carol"]
    for _ in range(600):  # and Bob's, once his slow service has answered
        if len(push_service.paths()) == 2:
            break
        await asyncio.sleep(0.01)
    assert push_service.paths() == ["/bob", "/carol"]


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_subscriptions_take_a_device_token_only(
    world: World, push_service: PushService
) -> None:
    alice = await world.person("Alice")
    keys, token = await paired_device(world, alice)
    body = subscription(f"{push_service.base}/alice")
    # The key is public: anyone gets it, and it is the same each time.
    key = (await world.client.get(f"{PUSH}/key")).json()["key"]
    assert len(unb64url(key)) == 65 and unb64url(key)[0] == 4
    assert (await world.client.get(f"{PUSH}/key", headers=alice.headers)).json()["key"] == key

    for method in ("POST", "DELETE"):
        json_body = body if method == "POST" else None
        url = f"{PUSH}/subscriptions"
        problem(await world.client.request(method, url, json=json_body), 401, "unauthenticated")
        problem(
            await world.client.request(method, url, json=json_body, headers=alice.headers),
            403,
            "instant-push-device-only",
        )
        problem(
            await world.client.request(method, url, json=json_body, headers=bearer(OPERATOR_TOKEN)),
            401,
            "unauthenticated",
        )
    created = await world.client.post(f"{PUSH}/subscriptions", json=body, headers=bearer(token))
    assert created.status_code == 201 and created.json()["device_id"] == keys.device_id
    again = await world.client.post(
        f"{PUSH}/subscriptions",
        json=subscription(f"{push_service.base}/new"),
        headers=bearer(token),
    )
    assert again.status_code == 201  # replaced: one subscription per device
    async with world.state.database.sessions() as session:
        rows = list(await session.scalars(select(PushSubscription)))
    assert [(r.device_id, r.endpoint) for r in rows] == [
        (keys.device_id, f"{push_service.base}/new")
    ]
    removed = await world.client.delete(f"{PUSH}/subscriptions", headers=bearer(token))
    assert removed.json() == {"device_id": keys.device_id, "removed": True}
    twice = await world.client.delete(f"{PUSH}/subscriptions", headers=bearer(token))
    assert twice.json()["removed"] is False

    world.clock.advance(minutes=16)  # the device token expired
    problem(
        await world.client.post(f"{PUSH}/subscriptions", json=body, headers=bearer(token)),
        401,
        "token-expired",
    )


async def test_invalid_subscriptions_are_problems(world: World) -> None:
    alice = await world.person("Alice")
    _, token = await paired_device(world, alice)
    good = subscription("https://fcm.googleapis.com/fcm/send/abc")
    bad: list[dict[str, Any]] = [
        {**good, "endpoint": "https://push.example.test/abc"},  # not a browser's push service
        {**good, "endpoint": "https://intranet.hopital.test/admin"},
        {**good, "endpoint": "http://push.example.test/abc"},  # plain http off the loopback
        {**good, "endpoint": "https://user:pw@push.example.test/abc"},
        {**good, "endpoint": "ftp://push.example.test/abc"},
        {**good, "endpoint": "https:///nohost"},
        {**good, "keys": {**good["keys"], "p256dh": b64url(b"\x04" + b"\x00" * 10)}},
        {**good, "keys": {**good["keys"], "auth": b64url(b"short")}},
        {**good, "keys": {**good["keys"], "auth": "***"}},
    ]
    for body in bad:
        problem(
            await world.client.post(f"{PUSH}/subscriptions", json=body, headers=bearer(token)),
            422,
            "instant-push-invalid-subscription",
        )
    for body in ({"endpoint": good["endpoint"]}, {**good, "extra": 1}, {}):
        problem(
            await world.client.post(f"{PUSH}/subscriptions", json=body, headers=bearer(token)),
            422,
            "invalid-request",
        )
    ok = await world.client.post(f"{PUSH}/subscriptions", json=good, headers=bearer(token))
    assert ok.status_code == 201, ok.text


def test_endpoint_rules() -> None:
    keys = subscription("https://x.test/")["keys"]
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QG9",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
        "https://127.0.0.1:8443/p",
        "http://127.0.0.1:8080/p",
        "http://[::1]:9/p",
        "http://localhost/p",
    ):
        assert check_subscription(endpoint, keys["p256dh"], keys["auth"]) == endpoint
    for endpoint in (
        "http://10.0.0.1/p",
        "https://10.0.0.1/p",
        "http://example.test/p",
        "https://fcm.googleapis.com.evil.test/p",
        "https://evilfcm.googleapis.com.test/p",
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://x.test/a b",
        "https://x.test:99999/",
    ):
        with pytest.raises(InvalidSubscription):
            check_subscription(endpoint, keys["p256dh"], keys["auth"])


def test_the_vapid_key_is_kept_private_and_reused(tmp_path: Any) -> None:
    first = load_or_create_key(tmp_path)
    path = tmp_path / "instant" / "vapid.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    again = load_or_create_key(tmp_path)
    assert again.private_numbers() == first.private_numbers()
    path.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        load_or_create_key(tmp_path)


NOTICE = "Nouveau message sécurisé"  # in the page's language (app/i18n.js)


def _notifications(worker: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = worker.evaluate(
        """async () => (await self.registration.getNotifications()).map(
            (n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url}))"""
    )
    return found


def test_the_service_worker_shows_a_content_free_notice_on_a_push(tmp_path: Any) -> None:
    """In Chromium: a push delivered to the app's service worker (through the DevTools
    protocol's ``ServiceWorker.deliverPushMessage``, since there is no push service here)
    shows the fixed notice, with nothing of a message in it; its handler is the one sw.js
    imports."""
    from playwright.sync_api import Worker

    from tests.browser import chromium
    from tests.servers import ServerProcess

    server = ServerProcess(
        tmp_path / "server", {"CADUCEE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}
    )
    server.start()
    try:
        with chromium() as browser:
            context = browser.new_context(locale="fr-FR")
            context.grant_permissions(["notifications"], origin=server.base)
            page = context.new_page()
            page.goto(server.base + "/instant/")
            assert page.evaluate("navigator.serviceWorker.ready.then((r) => !!r.active)")
            worker: Worker = next(
                w for w in context.service_workers if w.url.endswith("/instant/sw.js")
            )
            # The page writes the notice's texts, in its language, where the worker reads them.
            for _ in range(100):
                if worker.evaluate("self.caduceeMissPush.notice()")["title"] == NOTICE:
                    break
                page.wait_for_timeout(50)
            assert worker.evaluate("self.caduceeMissPush.notice()")["title"] == NOTICE
            assert _notifications(worker) == []

            cdp = context.new_cdp_session(page)
            registrations: list[str] = []
            cdp.on(
                "ServiceWorker.workerRegistrationUpdated",
                lambda event: registrations.extend(
                    r["registrationId"]
                    for r in event["registrations"]
                    if r["scopeURL"] == server.base + "/instant/"
                ),
            )
            cdp.send("ServiceWorker.enable")
            page.wait_for_timeout(200)
            assert registrations, "no service worker registration for /instant/"
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": server.base, "registrationId": registrations[0], "data": ""},
            )
            for _ in range(100):
                if shown := _notifications(worker):
                    break
                page.wait_for_timeout(50)
            assert shown == [
                {
                    "title": NOTICE,
                    "body": "Ouvrez Caducée pour le lire",
                    "tag": "caducee-miss",
                    "url": "/instant/",
                }
            ]
            context.close()
    finally:
        server.stop()
