"""``GET /api/v1/establishments/mine``: each caller sees what they manage, and only that.

Callers: the establishment's manager, another establishment's manager, an ordinary person,
nobody, an expired token, and the operator's token (not an agent's). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from tests.console.helpers import OPERATOR, publish, register, sign
from tests.server.conftest import World, problem

MINE = "/api/v1/establishments/mine"


async def _mine(world: World, headers: dict[str, str]) -> dict[str, Any]:
    response = await world.client.get(MINE, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_manager_sees_their_establishment_and_its_charter_status(world: World) -> None:
    own = await register(world)
    other = await register(world)
    before = await _mine(world, own.manager.headers)
    assert before["charter"] is None
    [entry] = before["establishments"]
    assert entry["finess"] == own.finess and entry["name"].startswith("Établissement")
    assert entry["up_to_date"] is True and entry["needs_signature"] is False  # no charter yet

    charter = await publish(world)
    [entry] = (await _mine(world, own.manager.headers))["establishments"]
    assert entry["needs_signature"] is True and entry["signed_version"] is None
    assert entry["current_version"] == charter["version"]
    assert (await sign(world, own, charter["sha256"])).status_code == 201
    after = await _mine(world, own.manager.headers)
    assert after["charter"] == {"version": charter["version"], "sha256": charter["sha256"]}
    assert after["charter_url"].endswith("/charter")
    [entry] = after["establishments"]
    assert entry["signed_version"] == charter["version"] and entry["needs_signature"] is False

    [theirs] = (await _mine(world, other.manager.headers))["establishments"]
    assert theirs["finess"] == other.finess and theirs["needs_signature"] is True

    second = await publish(world, "Charte v2 (synthétique)\n")
    [entry] = (await _mine(world, own.manager.headers))["establishments"]
    assert entry["needs_signature"] is True and entry["current_version"] == second["version"]


async def test_an_ordinary_person_or_an_organisation_manages_nothing(world: World) -> None:
    est = await register(world)
    person = await world.person("Ordinaire")
    assert (await _mine(world, person.headers))["establishments"] == []
    shared = await world.mailbox(
        "secretariat.synthese@console.test", "organisational", organisation=est.finess
    )
    assert (await _mine(world, shared.headers))["establishments"] == []


async def test_no_token_an_expired_token_and_the_operator_token_are_refused(
    world: World,
) -> None:
    own = await register(world)
    problem(await world.client.get(MINE), 401, "unauthenticated")
    problem(await world.client.get(MINE, headers=OPERATOR), 401, "unauthenticated")
    problem(
        await world.client.get(MINE, headers={"Authorization": "Bearer forged"}),
        401,
        "unauthenticated",
    )
    world.clock.advance(minutes=16)
    problem(await world.client.get(MINE, headers=own.manager.headers), 401, "token-expired")
