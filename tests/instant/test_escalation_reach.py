"""The escalation's reach, on SQLite and PostgreSQL: a case routed to a role lists whom the
escalation may still add; sender keys may be sealed ahead of time to their devices (and to no
other outsider's); they see nothing of the case until the escalation adds them, and then they
read it from its start, its sender offline.

SYNTHETIC TEST MATERIAL: invented people (``World``), device keys made afresh, synthetic text.
"""

from __future__ import annotations

from typing import Any

from caducee.instant.device_keys import DeviceKeys
from caducee.instant.sender_keys import SenderKeyGroup
from tests.instant.miss import API, b64, fetch, open_case, post, read_all, with_device
from tests.instant.test_roles_directory import HEAD, NURSE
from tests.instant.test_routing_escalation import staffed, tick
from tests.server.conftest import Identity, World, problem


async def view(world: World, who: Identity, case_id: str) -> Any:
    await world.login(who)  # the test's clock runs past token lifetimes
    return await world.client.get(f"{API}/cases/{case_id}", headers=who.headers)


async def seal_and_send(
    world: World,
    gp: Identity,
    case_id: str,
    phone: DeviceKeys,
    cipher: SenderKeyGroup,
    devices: list[DeviceKeys],
    texts: list[bytes],
) -> None:
    """What a client does: seal its chain to ``devices``, then send ``texts``."""
    for distribution in cipher.add_members([d.public() for d in devices]):
        response = await post(world, gp, case_id, phone, "key", distribution.payload)
        assert response.status_code == 201, response.text
    for text in texts:
        response = await post(world, gp, case_id, phone, "message", cipher.encrypt(text))
        assert response.status_code == 201, response.text


async def test_participants_see_the_reach_and_it_shrinks_as_the_escalation_goes(
    world: World,
) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case = await open_case(world, gp, [], role=role)
    assert case["escalation_reach"] == sorted([backup.address, HEAD, NURSE])
    for who in (gp, primary):
        body = (await view(world, who, case["case_id"])).json()
        assert body["escalation_reach"] == sorted([backup.address, HEAD, NURSE])
    # Whoever is only in the reach learns nothing of the case, its reach included.
    problem(await view(world, backup, case["case_id"]), 404, "instant-case-not-found")
    listed = (await world.client.get(f"{API}/cases", headers=backup.headers)).json()["cases"]
    assert case["case_id"] not in {c["case_id"] for c in listed}

    assert await tick(world, seconds=601) == 1  # the backup is added
    body = (await view(world, gp, case["case_id"])).json()
    assert backup.address in body["participants"]
    assert body["escalation_reach"] == sorted([HEAD, NURSE])
    assert await tick(world, seconds=601) == 1
    assert await tick(world, seconds=601) == 1
    assert (await view(world, gp, case["case_id"])).json()["escalation_reach"] == []


async def test_an_answered_case_and_a_case_to_people_have_no_reach(world: World) -> None:
    role, primary, _ = await staffed(world)
    gp = await world.person("Generaliste")
    plain = await open_case(world, gp, [primary.address])
    assert plain["escalation_reach"] == []
    routed = await open_case(world, gp, [], role=role)
    assert routed["escalation_reach"]
    response = await world.client.post(
        f"{API}/cases/{routed['case_id']}/acknowledge",
        json={
            "message_id": "ack-reach-1",
            "device_id": (phone := await with_device(world, primary)).device_id,
            "ciphertext": b64(SenderKeyGroup(routed["case_id"], phone).encrypt(b"je m'en occupe")),
        },
        headers=primary.headers,
    )
    assert response.status_code == 201, response.text
    assert (await view(world, gp, routed["case_id"])).json()["escalation_reach"] == []


async def test_keys_go_to_the_reach_and_to_no_other_outsider(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp, outsider = await world.person("Generaliste"), await world.person("Curieux")
    phone, pager, backups, outsiders = [
        await with_device(world, p) for p in (gp, primary, backup, outsider)
    ]
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    cipher = SenderKeyGroup(case_id, phone)
    await seal_and_send(world, gp, case_id, phone, cipher, [pager, backups], [])
    stray = cipher.add_members([outsiders.public()])[0]
    problem(
        await post(world, gp, case_id, phone, "key", stray.payload), 400, "instant-invalid-request"
    )
    # Once the escalation stopped (an acknowledgement), the backup is out of the reach too.
    pager_cipher = SenderKeyGroup(case_id, pager)
    ack = await world.client.post(
        f"{API}/cases/{case_id}/acknowledge",
        json={
            "message_id": "ack-reach-2",
            "device_id": pager.device_id,
            "ciphertext": b64(pager_cipher.encrypt(b"ok")),
        },
        headers=primary.headers,
    )
    assert ack.status_code == 201, ack.text
    late = SenderKeyGroup(case_id, phone).add_members([backups.public()])[0]
    problem(
        await post(world, gp, case_id, phone, "key", late.payload), 400, "instant-invalid-request"
    )


async def test_the_backup_reads_the_question_once_added_its_sender_offline(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    phone, pager, backups = [await with_device(world, p) for p in (gp, primary, backup)]
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    cipher = SenderKeyGroup(case_id, phone)
    question = [b"[carte patient synthetique]", b"Douleur thoracique, avis urgent ?"]
    await seal_and_send(world, gp, case_id, phone, cipher, [pager, backups], question)
    # Before the escalation: nothing, not even with the right device.
    problem(await fetch(world, backup, case_id, backups), 404, "instant-case-not-found")

    # The sender is gone (no more requests from the GP); the escalation adds the backup.
    assert await tick(world, seconds=601) == 1
    await world.login(backup)
    response = await fetch(world, backup, case_id, backups)
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    assert {m["recipient_device_id"] for m in messages if m["kind"] == "key"} == {
        backups.device_id
    }  # only the key sealed to this device is listed to it
    reader = SenderKeyGroup(case_id, backups, [phone.public()])
    assert read_all(reader, messages) == question
