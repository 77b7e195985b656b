"""Cases end to end through the API with the real sender-key core: post, list, decrypt,
replay, malformed and misaddressed ciphertexts, removal, revoked devices."""

from __future__ import annotations

import asyncio

from hypothesis import strategies as st
from sqlalchemy import select

from caducee.instant.models import Case, CaseMessage, Participant
from tests.instant.miss import (
    API,
    b64,
    examples,
    fetch,
    group,
    open_case,
    post,
    read_all,
    share_keys,
    with_device,
)
from tests.server.conftest import World, problem

PATIENT = b"Patient: SYNTHETIQUE Jeanne, nee le 01/01/1950, INS 2500175123456 (synthetic)"


async def test_two_people_exchange_encrypted_messages_in_a_case(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    case = await open_case(world, alice, [bob.address])
    case_id = case["case_id"]
    assert case["participants"] == sorted([alice.address, bob.address])
    mine, theirs = group(case_id, phone, laptop), group(case_id, laptop, phone)
    await share_keys(world, alice, case_id, phone, mine)
    await share_keys(world, bob, case_id, laptop, theirs)
    sent = await post(world, alice, case_id, phone, "message", mine.encrypt(PATIENT))
    assert sent.status_code == 201 and sent.json()["sequence"] == 3

    listed = (await fetch(world, bob, case_id, laptop)).json()
    assert listed["last_sequence"] == 3
    assert [m["sequence"] for m in listed["messages"]] == [1, 3]  # Bob's own key is not his
    assert read_all(theirs, listed["messages"]) == [PATIENT]
    reply = await post(world, bob, case_id, laptop, "message", theirs.encrypt(b"vu, j'arrive"))
    later = (await fetch(world, alice, case_id, phone, after=3)).json()["messages"]
    assert [m["sequence"] for m in later] == [reply.json()["sequence"]]
    read_all(mine, (await fetch(world, alice, case_id, phone)).json()["messages"][:1])

    # The patient is never in clear on the server: not in any column of any MISS row.
    async with world.state.database.sessions() as session:
        for model in (Case, Participant, CaseMessage):
            for row in await session.scalars(select(model)):
                for value in vars(row).values():
                    if isinstance(value, str | bytes):
                        assert b"SYNTHETIQUE" not in (
                            value if isinstance(value, bytes) else value.encode()
                        )


async def test_a_replayed_message_id_is_refused_and_a_retry_is_idempotent(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone = await with_device(world, alice)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    cipher = group(case_id, phone)
    first = cipher.encrypt(b"bonjour")
    sent = await post(world, alice, case_id, phone, "message", first, message_id="m-1")
    assert sent.status_code == 201
    retry = await post(world, alice, case_id, phone, "message", first, message_id="m-1")
    assert retry.status_code == 200 and retry.json() == {**sent.json(), "created": False}
    other = cipher.encrypt(b"autre chose")
    problem(
        await post(world, alice, case_id, phone, "message", other, message_id="m-1"),
        409,
        "instant-message-replayed",
    )
    # The same id in another case is a replay too (ids are unique across cases).
    elsewhere = (await open_case(world, alice, [bob.address]))["case_id"]
    problem(
        await post(
            world, alice, elsewhere, phone, "message", group(elsewhere, phone).encrypt(b"x"), "m-1"
        ),
        409,
        "instant-message-replayed",
    )
    assert (await fetch(world, alice, case_id, phone)).json()["last_sequence"] == 1


async def test_malformed_misaddressed_and_forged_ciphertexts_are_refused(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    other_case = (await open_case(world, alice, [bob.address]))["case_id"]
    good = group(case_id, phone).encrypt(b"ok")
    problem(
        await post(world, alice, case_id, phone, "message", good[:-1]), 400, "instant-malformed"
    )
    problem(
        await post(world, alice, case_id, phone, "message", b"\x00" * 40), 400, "instant-malformed"
    )
    problem(
        await post(world, alice, other_case, phone, "message", good), 400, "instant-not-a-member"
    )
    # Bob posting Alice's ciphertext from his device: the header names another device.
    problem(
        await post(world, bob, case_id, laptop, "message", good), 422, "instant-signature-invalid"
    )
    tampered = good[:-1] + bytes([good[-1] ^ 1])
    problem(
        await post(world, alice, case_id, phone, "message", tampered),
        422,
        "instant-signature-invalid",
    )
    # A key distribution posted as a message, and one sealed to a device outside the case.
    key = group(case_id, phone, laptop).distributions()[0].payload
    problem(await post(world, alice, case_id, phone, "message", key), 400, "instant-malformed")
    stranger = await world.person("Stranger")
    outsider = await with_device(world, stranger)
    sealed = group(case_id, phone, outsider).distributions()[0].payload
    problem(await post(world, alice, case_id, phone, "key", sealed), 400, "instant-invalid-request")
    body = {
        "message_id": "x",
        "device_id": phone.device_id,
        "kind": "shout",
        "ciphertext": b64(good),
    }
    response = await world.client.post(
        f"{API}/cases/{case_id}/messages", json=body, headers=alice.headers
    )
    problem(response, 422, "invalid-request")
    body = {**body, "kind": "message", "ciphertext": "###"}
    response = await world.client.post(
        f"{API}/cases/{case_id}/messages", json=body, headers=alice.headers
    )
    problem(response, 400, "instant-invalid-base64")
    assert (await fetch(world, alice, case_id, phone)).json()["last_sequence"] == 0


async def test_any_bytes_as_a_ciphertext_get_a_clear_refusal(world: World) -> None:
    alice = await world.person("Alice")
    phone = await with_device(world, alice)
    case_id = (await open_case(world, alice, []))["case_id"]
    kinds = st.sampled_from(["message", "edit", "deletion", "read", "ack", "key"])
    for kind, data in examples(st.tuples(kinds, st.binary(max_size=300)), 30):
        response = await post(world, alice, case_id, phone, kind, data)
        assert response.status_code in (400, 422), response.text
        code = response.json()["code"]
        assert code.startswith("instant-") or (data == b"" and code == "invalid-request")


async def test_removed_participants_see_nothing_and_cannot_read_what_follows(world: World) -> None:
    alice, bob, carol = [await world.person(n) for n in ("Alice", "Bob", "Carol")]
    a, b, c = [await with_device(world, p) for p in (alice, bob, carol)]
    case_id = (await open_case(world, alice, [bob.address, carol.address]))["case_id"]
    ga, gc = group(case_id, a, b, c), group(case_id, c, a, b)
    await share_keys(world, alice, case_id, a, ga)
    read_all(gc, (await fetch(world, carol, case_id, c)).json()["messages"])
    removed = await world.client.delete(
        f"{API}/cases/{case_id}/participants/{carol.address}", headers=alice.headers
    )
    assert removed.json()["participants"] == sorted([alice.address, bob.address])
    for distribution in ga.remove_members([c.device_id]):
        await post(world, alice, case_id, a, "key", distribution.payload)
    secret = ga.encrypt(b"after carol left")
    await post(world, alice, case_id, a, "message", secret)
    problem(await fetch(world, carol, case_id, c), 404, "instant-case-not-found")
    problem(
        await world.client.get(f"{API}/cases/{case_id}", headers=carol.headers),
        404,
        "instant-case-not-found",
    )
    assert case_id not in [
        x["case_id"]
        for x in (await world.client.get(f"{API}/cases", headers=carol.headers)).json()["cases"]
    ]
    try:
        gc.decrypt(secret)
    except Exception as exc:  # the rotated generation was never sealed to Carol's device
        assert getattr(exc, "code", "").startswith("instant-")
    else:
        raise AssertionError("a removed member read a message sent after the removal")


async def test_a_revoked_device_receives_nothing_and_sends_nothing(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    await post(world, alice, case_id, phone, "message", group(case_id, phone).encrypt(b"x"))
    await world.client.delete(f"{API}/devices/{laptop.device_id}", headers=bob.headers)
    problem(await fetch(world, bob, case_id, laptop), 403, "instant-device-revoked")
    problem(
        await post(world, bob, case_id, laptop, "message", group(case_id, laptop).encrypt(b"y")),
        403,
        "instant-device-revoked",
    )
    problem(await fetch(world, alice, case_id, laptop), 404, "instant-unknown-device")


async def test_concurrent_posts_get_dense_distinct_sequences(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    mine, theirs = group(case_id, phone), group(case_id, laptop)
    sends = [post(world, alice, case_id, phone, "message", mine.encrypt(b"a")) for _ in range(15)]
    sends += [post(world, bob, case_id, laptop, "message", theirs.encrypt(b"b")) for _ in range(15)]
    replies = await asyncio.gather(*sends)
    assert all(r.status_code == 201 for r in replies), [r.text for r in replies if r.is_error]
    assert sorted(r.json()["sequence"] for r in replies) == list(range(1, 31))


async def test_unknown_participants_are_refused_and_no_case_is_made(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    typo = "bob.typo@caducee.test"
    response = await world.client.post(
        f"{API}/cases", json={"participants": [bob.address, typo]}, headers=alice.headers
    )
    body = problem(response, 422, "instant-unknown-participant")
    assert body["addresses"] == [typo]
    assert (await world.client.get(f"{API}/cases", headers=alice.headers)).json()["cases"] == []
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    response = await world.client.post(
        f"{API}/cases/{case_id}/participants", json={"participants": [typo]}, headers=bob.headers
    )
    problem(response, 422, "instant-unknown-participant")
