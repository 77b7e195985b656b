"""The relay over HTTP: submit, idempotency, refusals as problem+json, fetch, ack, push."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from caducee.directory.models import Mailbox
from caducee.server.auth import relay_service
from tests.relay.cms_samples import fake_enveloped, fake_signed
from tests.server.conftest import Identity, World, problem

MAILBOX = "/api/v1/mailbox/messages"


@pytest.fixture
async def pair(world: World) -> tuple[Identity, Identity]:
    lab = await world.organisation("Laboratoire Synthèse")
    sender = await world.mailbox("resultats@lab.caducee.test", "applicative", organisation=lab)
    return sender, await world.person("Morel")


async def test_submit_fetch_acknowledge(world: World, pair: tuple[Identity, Identity]) -> None:
    lab, gp = pair
    body = fake_enveloped()
    reply = await world.send(lab, [gp.address.upper()], message_id="r1@lab", body=body)
    assert reply.status_code == 201, reply.text
    receipt = reply.json()
    assert receipt["recipients"] == [gp.address]
    assert receipt["ciphertext_sha256"] == hashlib.sha256(body).hexdigest()
    listed = (await world.client.get(MAILBOX, headers=gp.headers)).json()
    assert [m["message_id"] for m in listed["messages"]] == ["r1@lab"]
    assert listed["messages"][0]["sender"] == lab.address and listed["next_cursor"] == 1
    fetched = await world.client.get(f"{MAILBOX}/r1@lab", headers=gp.headers)
    assert fetched.status_code == 200 and fetched.content == body
    assert fetched.headers["content-type"].startswith("application/pkcs7-mime")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert fetched.headers["repr-digest"] == f"sha-256=:{digest}:"
    acked = await world.client.post(f"{MAILBOX}/r1@lab/ack", headers=gp.headers)
    assert acked.json()["state"] == "acknowledged"
    assert (await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"] == []


async def test_a_retry_is_answered_200_with_the_same_receipt(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    body = fake_enveloped()
    first = await world.send(lab, [gp.address], message_id="r1", body=body)
    again = await world.send(lab, [gp.address], message_id="r1", body=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = await world.send(lab, [gp.address], message_id="r1", body=fake_enveloped())
    problem(other, 409, "duplicate-message-id")
    assert len((await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"]) == 1


async def test_fifty_concurrent_posts_of_one_id(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    body = fake_enveloped()
    replies = await asyncio.gather(
        *(world.send(lab, [gp.address], message_id="burst", body=body) for _ in range(50))
    )
    assert sorted(r.status_code for r in replies) == [200] * 49 + [201]
    assert len({r.json()["accepted_at"] for r in replies}) == 1
    assert len((await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"]) == 1


async def test_refusals_have_stable_codes(world: World, pair: tuple[Identity, Identity]) -> None:
    lab, gp = pair
    closed = await world.person("Closed")
    await world.admin(f"/mailboxes/{closed.address}/active", {"active": False})
    body = problem(
        await world.send(lab, [gp.address, "nobody@caducee.test"]), 422, "unknown-recipient"
    )
    assert body["addresses"] == ["nobody@caducee.test"]
    problem(await world.send(lab, [closed.address]), 422, "inactive-recipient")
    problem(await world.send(lab, [gp.address], body=fake_signed()), 415, "not-smime")
    problem(await world.send(lab, [gp.address], body=b"\x30\x03abc"), 415, "not-smime")
    problem(await world.send(lab, [gp.address], sender_address=gp.address), 403, "not-your-mailbox")
    problem(await world.send(lab, [gp.address], message_id="a b"), 400, "invalid-envelope")
    world.state.extras["relay_max_message_size"] = 1024
    problem(
        await world.send(lab, [gp.address], body=fake_enveloped(2048)), 413, "message-too-large"
    )
    huge = fake_enveloped(8192)
    problem(await world.send(lab, [gp.address], body=huge), 413, "message-too-large")
    garbage = {"message_id": "x", "from": lab.address, "to": [gp.address], "ciphertext": "%%%"}
    reply = await world.client.post("/api/v1/messages", json=garbage, headers=lab.headers)
    problem(reply, 400, "invalid-request")
    problem(await world.client.get(f"{MAILBOX}/nope", headers=gp.headers), 404, "unknown-message")


async def test_long_poll_answers_at_once_or_on_arrival_or_on_timeout(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    empty = await world.client.get(
        "/api/v1/mailbox/wait", params={"timeout": 0.05}, headers=gp.headers
    )
    assert empty.json() == {"messages": [], "next_cursor": 0}
    waiting = asyncio.create_task(
        world.client.get("/api/v1/mailbox/wait", params={"timeout": 10}, headers=gp.headers)
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await world.send(lab, [gp.address], message_id="pushed")
    answer = (await asyncio.wait_for(waiting, 5)).json()
    assert [m["message_id"] for m in answer["messages"]] == ["pushed"]
    again = await world.client.get(
        "/api/v1/mailbox/wait", params={"cursor": 0, "timeout": 10}, headers=gp.headers
    )
    assert again.json()["next_cursor"] == 1  # backlog comes back at once


async def test_server_sent_events_carry_ids_only_and_resume(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    for name in ("e1", "e2"):
        await world.send(lab, [gp.address], message_id=name)
    stream = await world.client.get(
        "/api/v1/mailbox/events", params={"timeout": 0.3}, headers=gp.headers
    )
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert 'id: 1\nevent: message\ndata: {"sequence": 1, "message_id": "e1"}' in stream.text
    assert "id: 2\n" in stream.text and "ciphertext" not in stream.text
    resumed = await world.client.get(
        "/api/v1/mailbox/events",
        params={"timeout": 0.3},
        headers={**gp.headers, "Last-Event-ID": "1"},
    )
    assert "id: 1\n" not in resumed.text and "id: 2\n" in resumed.text


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["message_id", "from", "to", "date", "subject", "ciphertext", "address", "challenge",
          "signature", "certificate_serial", "code", "csr_pem"]  # fmt: skip
BODIES = JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=7)
ENDPOINTS = ["/api/v1/messages", "/api/v1/auth/challenge", "/api/v1/auth/token", "/api/v1/enrol"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=BODIES, raw=st.none() | st.binary(max_size=64))
async def test_garbage_gets_a_4xx_problem_never_a_500(
    world: World, pair: tuple[Identity, Identity], endpoint: str, body: Any, raw: bytes | None
) -> None:
    lab, _gp = pair
    if raw is not None:
        reply = await world.client.post(
            endpoint, content=raw, headers={**lab.headers, "Content-Type": "application/json"}
        )
    else:
        reply = await world.client.post(endpoint, json=body, headers=lab.headers)
    assert 400 <= reply.status_code < 500, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert isinstance(reply.json()["code"], str)


def _raw_headers(sender: Identity, **fields: str) -> dict[str, str]:
    return {**sender.headers, "Content-Type": "application/pkcs7-mime", **fields}


async def test_the_raw_der_form_is_the_same_submission(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    body = fake_enveloped()
    headers = _raw_headers(
        lab,
        **{
            "Caducee-Message-Id": "raw-1@lab",
            "Caducee-From": lab.address,
            "Caducee-To": f" {gp.address.upper()} ,",
            "Caducee-Date": "Sun, 29 Nov 2026 08:00:00 +0100",
            "Caducee-Subject": "R%C3%A9sultats%20NFS",
        },
    )
    reply = await world.client.post("/api/v1/messages", content=body, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["ciphertext_sha256"] == hashlib.sha256(body).hexdigest()
    again = await world.client.post("/api/v1/messages", content=body, headers=headers)
    assert again.status_code == 200 and again.json() == reply.json()
    listed = (await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"]
    assert [(m["message_id"], m["subject"]) for m in listed] == [("raw-1@lab", "Résultats NFS")]
    fetched = await world.client.get(f"{MAILBOX}/raw-1@lab", headers=gp.headers)
    assert fetched.content == body
    # The JSON form with the same id and ciphertext is the same message.
    same = await world.send(lab, [gp.address], message_id="raw-1@lab", body=body)
    assert same.status_code == 200, same.text


async def test_the_raw_der_form_refuses_like_the_json_form(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    fields = {"Caducee-Message-Id": "raw-2", "Caducee-From": lab.address, "Caducee-To": gp.address}
    post = world.client.post
    for missing in fields:
        partial = {k: v for k, v in fields.items() if k != missing}
        reply = await post(
            "/api/v1/messages", content=fake_enveloped(), headers=_raw_headers(lab, **partial)
        )
        problem(reply, 400, "invalid-request")  # fmt: skip
    reply = await post("/api/v1/messages", content=b"", headers=_raw_headers(lab, **fields))
    problem(reply, 400, "invalid-request")
    reply = await post("/api/v1/messages", content=b"not cms", headers=_raw_headers(lab, **fields))
    assert reply.status_code == 415, reply.text
    wrong = {**fields, "Caducee-From": gp.address}
    reply = await post(
        "/api/v1/messages", content=fake_enveloped(), headers=_raw_headers(lab, **wrong)
    )
    problem(reply, 403, "not-your-mailbox")  # fmt: skip
    world.state.extras["relay_max_message_size"] = 1024
    reply = await post(
        "/api/v1/messages", content=fake_enveloped(2048), headers=_raw_headers(lab, **fields)
    )
    problem(reply, 413, "message-too-large")
    unauthenticated = {k: v for k, v in _raw_headers(lab, **fields).items() if k != "Authorization"}
    reply = await post("/api/v1/messages", content=fake_enveloped(), headers=unauthenticated)
    problem(reply, 401, "unauthenticated")


async def test_many_ciphertexts_in_one_answer_each_with_its_own_outcome(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    bodies = {f"f{n}@lab": fake_enveloped(100 * n) for n in range(1, 4)}
    for message_id, body in bodies.items():
        reply = await world.send(lab, [gp.address], message_id=message_id, body=body)
        assert reply.status_code == 201, reply.text
    wanted = ["f1@lab", "nowhere@lab", "f3@lab", "f1@lab"]
    reply = await world.client.post(
        "/api/v1/mailbox/fetch", json={"message_ids": wanted}, headers=gp.headers
    )
    assert reply.status_code == 200, reply.text
    got = reply.json()["messages"]
    assert [m["message_id"] for m in got] == wanted
    assert base64.b64decode(got[0]["ciphertext"]) == bodies["f1@lab"]
    assert got[0]["ciphertext_sha256"] == hashlib.sha256(bodies["f1@lab"]).hexdigest()
    assert got[1]["problem"]["code"] == "unknown-message" and "ciphertext" not in got[1]
    assert base64.b64decode(got[2]["ciphertext"]) == bodies["f3@lab"]
    assert got[3]["ciphertext"] == got[0]["ciphertext"]  # asked twice: the same bytes
    # Fetched ones moved to "fetched" with one ContentHandover each; f2 was not asked for.
    listed = {
        m["message_id"]: m["state"]
        for m in (await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"]
    }
    assert listed == {"f1@lab": "fetched", "f2@lab": "stored", "f3@lab": "fetched"}
    records = await world.client.get("/api/v1/ledger/messages/f1@lab/records", headers=lab.headers)
    events = [r["record"]["record"]["event"] for r in records.json()["receipts"]]
    assert events.count("ContentHandover") == 1
    bad_bodies: list[dict[str, Any]] = [
        {"message_ids": []},
        {"message_ids": ["f1@lab"] * 51},
        {"ids": ["f1@lab"]},
    ]
    for bad in bad_bodies:
        problem(
            await world.client.post("/api/v1/mailbox/fetch", json=bad, headers=gp.headers),
            422,
            "invalid-request",
        )


async def test_a_batched_fetch_leaves_out_what_would_make_it_too_big(
    world: World, pair: tuple[Identity, Identity]
) -> None:
    lab, gp = pair
    bodies = [fake_enveloped(1000) for _ in range(3)]
    for n, body in enumerate(bodies, start=1):
        sent = await world.send(lab, [gp.address], message_id=f"b{n}@lab", body=body)
        assert sent.status_code == 201, sent.text
    service = relay_service(world.state)
    async with world.state.database.sessions() as session:
        box = await session.scalar(select(Mailbox.id).where(Mailbox.address == gp.address))
    assert box is not None
    size = len(bodies[0])
    outcomes = await service.fetch_many(box, ["b1@lab", "b2@lab", "b3@lab"], max_bytes=2 * size)
    assert [type(o).__name__ for o in outcomes] == ["tuple", "tuple", "FetchAlone"]
    listed = {
        m["message_id"]: m["state"]
        for m in (await world.client.get(MAILBOX, headers=gp.headers)).json()["messages"]
    }
    assert listed["b3@lab"] == "stored"  # left out: not handed over
    # One message bigger than the limit still comes, alone.
    [alone] = await service.fetch_many(box, ["b3@lab"], max_bytes=10)
    assert not isinstance(alone, Exception) and alone[0].state == "fetched"
