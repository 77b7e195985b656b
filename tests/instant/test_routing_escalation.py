"""Routing a case to a role and escalating it on a clock the test moves, with evidence."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from caducee.ledger import EvidenceEvent
from tests.instant.miss import (
    API,
    acknowledge,
    evidence_events,
    group,
    open_case,
    post,
    with_device,
)
from tests.instant.test_roles_directory import HEAD, NURSE, cardiology
from tests.instant.test_roles_directory import post as admin_post
from tests.server.conftest import Identity, World, problem


async def on_call(world: World, role: int, who: str, position: str = "primary") -> None:
    now = world.clock()
    body = {
        "address": who,
        "position": position,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=12)).isoformat(),
    }
    assert (await admin_post(world, f"/roles/{role}/shifts", body)).status_code == 201


async def staffed(world: World) -> tuple[int, Identity, Identity]:
    """Cardiology with a primary and a backup on duty, a head and a nurse in the service."""
    _, service, role = await cardiology(world, escalation_seconds=600)
    primary, backup = await world.person("Garde"), await world.person("Renfort")
    await on_call(world, role, primary.address)
    await on_call(world, role, backup.address, "backup")
    response = await world.client.put(
        f"{API}/units/{service}/members",
        json={"addresses": [NURSE]},
        headers={"Authorization": "Bearer operator-test-token"},
    )
    assert response.status_code == 200
    return role, primary, backup


async def tick(world: World, **delta: float) -> int:
    world.clock.advance(**delta)
    escalated: int = await world.state.extras["instant_escalator"].run_due()
    return escalated


async def participants(world: World, who: Identity, case_id: str) -> list[str]:
    await world.login(who)  # the test's clock runs past token lifetimes
    body: dict[str, Any] = (
        await world.client.get(f"{API}/cases/{case_id}", headers=who.headers)
    ).json()
    people: list[str] = body["participants"]
    return people


async def test_unanswered_case_goes_to_backup_then_head_then_service(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case = await open_case(world, gp, [], role=role)
    case_id = case["case_id"]
    assert case["participants"] == sorted([gp.address, primary.address])
    assert case["escalation"]["level"] == 0 and case["escalation"]["due_at"] is not None

    assert await tick(world, seconds=599) == 0
    assert await tick(world, seconds=2) == 1
    assert backup.address in await participants(world, gp, case_id)
    assert await tick(world, seconds=599) == 0
    assert await tick(world, seconds=2) == 1
    assert HEAD in await participants(world, gp, case_id)
    assert await tick(world, seconds=601) == 1
    assert NURSE in await participants(world, gp, case_id)
    assert await tick(world, seconds=601) == 1  # nobody further: the chain ends
    assert await tick(world, seconds=6000) == 0
    await world.login(gp)
    view = (await world.client.get(f"{API}/cases/{case_id}", headers=gp.headers)).json()
    assert view["escalation"]["due_at"] is None and view["escalation"]["level"] == 3

    events = await evidence_events(world, f"miss-case:{case_id}")
    assert [e for e, _ in events] == [EvidenceEvent.CASE_ROUTED] + [
        EvidenceEvent.CASE_ESCALATED
    ] * 4
    records = [r for _, r in events]
    assert records[0].recipient_ids == (primary.address,)
    assert [r.extra["reached"] for r in records] == [
        "primary",
        "backup",
        "head",
        "service",
        "nobody-further",
    ]
    assert records[1].recipient_ids == (backup.address,)
    assert records[2].recipient_ids == (HEAD,)
    assert all(r.sender_id == gp.address and r.extra["role"] == str(role) for r in records)


async def test_acknowledgement_stops_the_escalation_with_evidence(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    gps, mine = await with_device(world, gp), await with_device(world, primary)
    # The sender's own read receipt does not count.
    await post(world, gp, case_id, gps, "read", group(case_id, gps).encrypt(b"lu"))
    assert await tick(world, seconds=300) == 0
    await acknowledge(world, primary, case_id, mine, "ack-1")
    assert await tick(world, seconds=3600) == 0
    assert backup.address not in await participants(world, gp, case_id)
    view = (await world.client.get(f"{API}/cases/{case_id}", headers=gp.headers)).json()
    assert view["escalation"]["acknowledged_by"] == primary.address
    events = await evidence_events(world, f"miss-case:{case_id}")
    assert [e for e, _ in events] == [EvidenceEvent.CASE_ROUTED, EvidenceEvent.CASE_ACKNOWLEDGED]
    assert events[1][1].actor_id == primary.address
    assert events[1][1].extra["acknowledged_message"] == "ack-1"


async def test_a_read_receipt_from_someone_reached_stops_it_with_evidence(world: World) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    mine = await with_device(world, primary)
    receipt = group(case_id, mine).encrypt(b"lu")
    response = await post(world, primary, case_id, mine, "read", receipt, "read-1")
    assert response.status_code == 201, response.text
    assert await tick(world, seconds=300) == 0
    # Later reads stop nothing more: no further record; an acknowledgement still is one.
    await post(world, primary, case_id, mine, "read", group(case_id, mine).encrypt(b"relu"))
    await acknowledge(world, primary, case_id, mine, "ack-after-read")
    assert await tick(world, seconds=3600) == 0
    assert backup.address not in await participants(world, gp, case_id)

    events = await evidence_events(world, f"miss-case:{case_id}")
    assert [e for e, _ in events] == [
        EvidenceEvent.CASE_ROUTED,
        EvidenceEvent.CASE_READ,
        EvidenceEvent.CASE_ACKNOWLEDGED,
    ]
    read = events[1][1]
    assert read.actor_id == primary.address
    assert read.message_id == f"miss-case:{case_id}"
    assert read.ciphertext_sha256 == hashlib.sha256(receipt).hexdigest()
    assert read.sender_id == gp.address and read.recipient_ids == (gp.address,)
    assert dict(read.extra) == {
        "case_id": case_id,
        "read_receipt": "read-1",
        "role": str(role),
        "step": "0",
    }
    assert events[2][1].actor_id == primary.address


async def test_a_colleague_added_by_hand_does_not_stop_the_escalation(world: World) -> None:
    """The audit's case: a GP opens a case to a colleague and to the role; the colleague's
    read receipt and "I'm handling it" leave the role unanswered: the backup is reached."""
    role, _, backup = await staffed(world)
    gp, colleague = await world.person("Generaliste"), await world.person("Confrere")
    case_id = (await open_case(world, gp, [colleague.address], role=role))["case_id"]
    theirs = await with_device(world, colleague)
    response = await post(
        world, colleague, case_id, theirs, "read", group(case_id, theirs).encrypt(b"lu")
    )
    assert response.status_code == 201, response.text
    await acknowledge(world, colleague, case_id, theirs, "ack-colleague")
    assert await tick(world, seconds=599) == 0
    assert await tick(world, seconds=2) == 1
    assert backup.address in await participants(world, gp, case_id)
    view = (await world.client.get(f"{API}/cases/{case_id}", headers=gp.headers)).json()
    assert view["escalation"]["acknowledged_by"] is None
    assert view["escalation"]["level"] == 1 and view["escalation"]["due_at"] is not None

    # The backup, reached at a later step through the role, stops it by reading.
    await world.login(backup)
    backups = await with_device(world, backup)
    receipt = group(case_id, backups).encrypt(b"lu")
    response = await post(world, backup, case_id, backups, "read", receipt, "read-backup")
    assert response.status_code == 201, response.text
    assert await tick(world, seconds=3600) == 0
    assert HEAD not in await participants(world, gp, case_id)

    events = await evidence_events(world, f"miss-case:{case_id}")
    assert [e for e, _ in events] == [
        EvidenceEvent.CASE_ROUTED,
        EvidenceEvent.CASE_ESCALATED,
        EvidenceEvent.CASE_READ,
    ]
    escalated, read = events[1][1], events[2][1]
    assert escalated.recipient_ids == (backup.address,) and escalated.extra["reached"] == "backup"
    assert read.actor_id == backup.address and read.extra["step"] == "1"
    assert read.extra["read_receipt"] == "read-backup"
    assert read.ciphertext_sha256 == hashlib.sha256(receipt).hexdigest()


async def test_someone_named_by_hand_and_on_duty_is_reached_through_the_role(
    world: World,
) -> None:
    role, primary, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case_id = (await open_case(world, gp, [primary.address], role=role))["case_id"]
    mine = await with_device(world, primary)
    await post(world, primary, case_id, mine, "read", group(case_id, mine).encrypt(b"lu"))
    assert await tick(world, seconds=3600) == 0
    assert backup.address not in await participants(world, gp, case_id)
    events = await evidence_events(world, f"miss-case:{case_id}")
    assert [e for e, _ in events] == [EvidenceEvent.CASE_ROUTED, EvidenceEvent.CASE_READ]


async def test_nobody_on_duty_falls_back_to_the_backup_then_the_service(world: World) -> None:
    _, _, role = await cardiology(world, escalation_seconds=60)
    backup = await world.person("Renfort")
    await on_call(world, role, backup.address, "backup")
    gp = await world.person("Generaliste")
    case = await open_case(world, gp, [], role=role)
    assert case["participants"] == sorted([gp.address, backup.address])
    events = await evidence_events(world, f"miss-case:{case['case_id']}")
    assert events[0][1].extra["reached"] == "fallback"
    assert await tick(world, seconds=61) == 1
    assert HEAD in await participants(world, gp, case["case_id"])

    # A role with nobody at all, not even a head or members: a clear error, no case.
    finess = await world.organisation("CHU Vide", type="university_hospital")
    empty = (
        await admin_post(world, "/units", {"organisation": finess, "kind": "service", "name": "V"})
    ).json()["id"]
    lonely = (
        await admin_post(
            world,
            "/units",
            {"organisation": finess, "kind": "role", "name": "G", "service": empty},
        )
    ).json()["id"]
    await world.login(gp)
    before = (await world.client.get(f"{API}/cases", headers=gp.headers)).json()["cases"]
    response = await world.client.post(
        f"{API}/cases", json={"participants": [], "role": lonely}, headers=gp.headers
    )
    problem(response, 422, "instant-nobody-on-duty")
    after = (await world.client.get(f"{API}/cases", headers=gp.headers)).json()["cases"]
    assert after == before
    problem(
        await world.client.post(f"{API}/cases", json={"role": 987654}, headers=gp.headers),
        404,
        "instant-unknown-unit",
    )


async def test_an_existing_case_joins_a_role(world: World) -> None:
    role, primary, _ = await staffed(world)
    gp, colleague = await world.person("Generaliste"), await world.person("Confrere")
    case_id = (await open_case(world, gp, [colleague.address]))["case_id"]
    response = await world.client.post(
        f"{API}/cases/{case_id}/participants", json={"role": role}, headers=colleague.headers
    )
    assert response.status_code == 200, response.text
    assert primary.address in response.json()["participants"]
    assert response.json()["escalation"]["due_at"] is not None


async def test_the_timer_runs_in_the_server_on_its_clock(world: World) -> None:
    role, _, backup = await staffed(world)
    gp = await world.person("Generaliste")
    case_id = (await open_case(world, gp, [], role=role))["case_id"]
    world.clock.advance(seconds=601)
    world.state.extras["instant_escalator"].wake()
    for _ in range(100):
        if backup.address in await participants(world, gp, case_id):
            break
        await asyncio.sleep(0.05)
    assert backup.address in await participants(world, gp, case_id)
