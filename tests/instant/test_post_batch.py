"""Concurrent posts share a commit (``caducee.instant.post_batch``) and each still gets its
own answer: good ones stored with distinct, gap-free sequence numbers, bad ones refused with
the error they get alone, on SQLite and on PostgreSQL. SYNTHETIC TEST MATERIAL."""

from __future__ import annotations

import asyncio

import httpx

from caducee.instant.post_batch import PostBatcher
from tests.instant.miss import fetch, group, open_case, post, read_all, share_keys, with_device
from tests.server.conftest import World, problem


def _batcher(world: World) -> PostBatcher:
    batcher: PostBatcher = world.state.extras["instant_posts"]
    return batcher


async def test_concurrent_posts_are_committed_together_in_order(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    mine, theirs = group(case_id, phone, laptop), group(case_id, laptop, phone)
    await share_keys(world, alice, case_id, phone, mine)
    await share_keys(world, bob, case_id, laptop, theirs)
    texts = [f"message {n} (synthétique)".encode() for n in range(40)]
    ciphertexts = [mine.encrypt(t) for t in texts]  # in counter order: the ratchet's order
    batches = _batcher(world).batches

    answers = await asyncio.gather(
        *(post(world, alice, case_id, phone, "message", c) for c in ciphertexts)
    )

    assert [a.status_code for a in answers] == [201] * 40
    sequences = sorted(a.json()["sequence"] for a in answers)
    assert sequences == list(range(sequences[0], sequences[0] + 40))  # no gap, no repeat
    assert _batcher(world).batches - batches < 40  # shared commits, not one per post
    listed = (await fetch(world, bob, case_id, laptop)).json()["messages"]
    assert sorted(read_all(theirs, listed)) == sorted(texts)


async def test_each_post_of_a_batch_gets_its_own_answer(world: World) -> None:
    alice, bob = await world.person("Alice"), await world.person("Bob")
    carol = await world.person("Carol")
    phone, laptop = await with_device(world, alice), await with_device(world, bob)
    outsider = await with_device(world, carol)
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    cipher = group(case_id, phone)
    first = cipher.encrypt(b"premier")
    kept = await post(world, alice, case_id, phone, "message", first, message_id="batch-1")
    assert kept.status_code == 201
    good = [cipher.encrypt(f"bon {n}".encode()) for n in range(5)]
    tampered = bytearray(cipher.encrypt(b"altered"))
    tampered[-1] ^= 1
    sealed_out = group(case_id, phone, outsider).distributions()[0].payload
    batches = _batcher(world).batches

    calls = [
        post(world, alice, case_id, phone, "message", good[0]),
        post(world, alice, case_id, phone, "message", bytes(tampered)),
        post(world, alice, case_id, phone, "message", first, message_id="batch-1"),  # retry
        post(world, alice, case_id, phone, "message", good[1], message_id="batch-1"),  # reuse
        post(world, carol, case_id, outsider, "message", group(case_id, outsider).encrypt(b"x")),
        post(world, alice, case_id, phone, "key", sealed_out),
        post(world, bob, case_id, phone, "message", good[2]),  # Alice's device, Bob's token
        *(post(world, alice, case_id, phone, "message", g) for g in good[3:]),
    ]
    answers: list[httpx.Response] = list(await asyncio.gather(*calls))

    assert answers[0].status_code == 201
    problem(answers[1], 422, "instant-signature-invalid")
    assert answers[2].status_code == 200 and answers[2].json() == {
        **kept.json(),
        "created": False,
    }
    problem(answers[3], 409, "instant-message-replayed")
    problem(answers[4], 404, "instant-case-not-found")
    problem(answers[5], 400, "instant-invalid-request")
    problem(answers[6], 404, "instant-unknown-device")
    assert [a.status_code for a in answers[7:]] == [201, 201]
    assert _batcher(world).batches - batches < len(calls)
    stored = (await fetch(world, bob, case_id, laptop)).json()
    accepted = sorted(a.json()["sequence"] for a in [kept, answers[0], *answers[7:]])
    assert [m["sequence"] for m in stored["messages"]] == accepted  # the refused left no trace
