"""Services, roles and shifts through the API, resolved on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.server.conftest import OPERATOR_TOKEN, World, problem

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
A, B, C, HEAD, NURSE = (f"{n}@synthetic.caducee.test" for n in "abc" + "h" + "n")
NIGHT = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)


async def post(world: World, path: str, body: dict[str, Any]) -> httpx.Response:
    return await world.client.post(f"/api/v1/instant{path}", json=body, headers=OPERATOR)


async def cardiology(world: World, *, escalation_seconds: int = 600) -> tuple[str, int, int]:
    """A university hospital with a cardiology service and its on-call cardiologist role."""
    finess = await world.organisation("CHU Synthèse", type="university_hospital")
    response = await post(
        world,
        "/units",
        {"organisation": finess, "kind": "service", "name": "Cardiologie", "head": HEAD},
    )
    assert response.status_code == 201, response.text
    service = response.json()["id"]
    response = await post(
        world,
        "/units",
        {
            "organisation": finess,
            "kind": "role",
            "name": "Cardiologue de garde",
            "service": service,
            "escalation_seconds": escalation_seconds,
        },
    )
    assert response.status_code == 201, response.text
    return finess, service, response.json()["id"]


async def on_duty(world: World, role: int, at: datetime, headers: dict[str, str]) -> Any:
    return await world.client.get(
        f"/api/v1/instant/roles/{role}/on-duty", params={"at": at.isoformat()}, headers=headers
    )


async def test_schedule_resolves_primary_backup_and_head(world: World) -> None:
    caller = await world.person("Appelant")
    _, service, role = await cardiology(world)
    night = {"day": "2026-11-29", "start": "20:00", "end": "08:00"}
    assert (await post(world, f"/roles/{role}/shifts", {"address": A, **night})).status_code == 201
    response = await post(
        world, f"/roles/{role}/shifts", {"address": B, "position": "backup", **night}
    )
    assert response.status_code == 201
    # Paris is UTC+1 in November: 20:00 local is 19:00 UTC, 08:00 the next day is 07:00 UTC.
    assert response.json()["starts_at"] == "2026-11-29T19:00:00+00:00"
    assert response.json()["ends_at"] == "2026-11-30T07:00:00+00:00"
    await world.client.put(
        f"/api/v1/instant/units/{service}/members", json={"addresses": [NURSE]}, headers=OPERATOR
    )

    body = (await on_duty(world, role, NIGHT, caller.headers)).json()
    assert body["primary"] == [A] and body["backup"] == [B] and body["head"] == HEAD
    assert body["steps"] == [[A], [B], [HEAD], [NURSE]]
    # At the end of the shift (exclusive) nobody is on duty: the head, then the service.
    gap = (await on_duty(world, role, NIGHT + timedelta(hours=12), caller.headers)).json()
    assert gap["primary"] == [] and gap["steps"] == [[HEAD], [NURSE]]


async def test_a_sender_finds_a_role_by_words_of_its_name_service_hospital_or_city(
    world: World,
) -> None:
    caller = await world.person("Appelant")
    finess, _, role = await cardiology(world)
    other = await world.organisation("Clinique Synthèse du Parc", city="Grenoble")
    bloc = await post(
        world, "/units", {"organisation": other, "kind": "service", "name": "Garde 100%"}
    )
    assert bloc.status_code == 201, bloc.text
    body = {"organisation": other, "kind": "role", "name": "Anesthésiste"}
    anaesthetist = await post(world, "/units", {**body, "service": bloc.json()["id"]})
    assert anaesthetist.status_code == 201, anaesthetist.text

    async def search(q: str) -> list[Any]:
        response = await world.client.get(
            "/api/v1/instant/roles", params={"q": q}, headers=caller.headers
        )
        assert response.status_code == 200, response.text
        return list(response.json()["roles"])

    found = await search("cardio garde chu")
    assert found == [
        {
            "id": role,
            "name": "Cardiologue de garde",
            "service": "Cardiologie",
            "organisation": {"finess": finess, "name": "CHU Synthèse"},
            "city": "Lyon",
        }
    ]
    assert [r["name"] for r in await search("GRENOBLE")] == ["Anesthésiste"]
    assert await search("cardio grenoble") == []  # every word must match
    # A service is not a role (its role is found through it); % and _ are taken literally.
    assert [r["name"] for r in await search("100%")] == ["Anesthésiste"]
    assert await search("1%0") == []
    assert await search("_%_%") == []
    problem(
        await world.client.get("/api/v1/instant/roles", params={"q": "c"}, headers=caller.headers),
        422,
        "invalid-request",
    )


async def test_overlapping_shifts_put_both_on_duty(world: World) -> None:
    caller = await world.person("Appelant")
    _, _, role = await cardiology(world)
    for who, hours in ((A, 0), (C, 1)):
        body = {
            "address": who,
            "starts_at": (NIGHT + timedelta(hours=hours)).isoformat(),
            "ends_at": (NIGHT + timedelta(hours=hours + 2)).isoformat(),
        }
        assert (await post(world, f"/roles/{role}/shifts", body)).status_code == 201
    at = NIGHT + timedelta(hours=1, minutes=30)
    assert (await on_duty(world, role, at, caller.headers)).json()["primary"] == [A, C]


async def test_a_roles_own_members_are_reached_when_no_shift_names_anyone(world: World) -> None:
    """A role held with no rota (a patient's care team) reaches its members at once; a
    primary shift, when one covers the instant, comes first."""
    caller = await world.person("Appelant")
    _, _, role = await cardiology(world)
    response = await world.client.put(
        f"/api/v1/instant/units/{role}/members", json={"addresses": [C, NURSE]}, headers=OPERATOR
    )
    assert response.status_code == 200, response.text
    team = (await on_duty(world, role, NIGHT, caller.headers)).json()
    assert team["primary"] == [C, NURSE] and team["steps"] == [[C, NURSE], [HEAD]]
    shift = {
        "address": A,
        "starts_at": NIGHT.isoformat(),
        "ends_at": (NIGHT + timedelta(hours=1)).isoformat(),
    }
    assert (await post(world, f"/roles/{role}/shifts", shift)).status_code == 201
    body = (await on_duty(world, role, NIGHT, caller.headers)).json()
    assert body["primary"] == [A] and body["steps"] == [[A], [HEAD]]


async def test_a_role_with_nobody_at_all_is_a_clear_error(world: World) -> None:
    caller = await world.person("Appelant")
    finess = await world.organisation("CHU Vide", type="university_hospital")
    service = (
        await post(world, "/units", {"organisation": finess, "kind": "service", "name": "Vide"})
    ).json()["id"]
    role = (
        await post(
            world,
            "/units",
            {"organisation": finess, "kind": "role", "name": "Garde", "service": service},
        )
    ).json()["id"]
    body = problem(await on_duty(world, role, NIGHT, caller.headers), 422, "instant-nobody-on-duty")
    assert "nobody" in body["detail"] and "personne" in body["detail"]


async def test_directory_writes_are_the_operators_and_bad_input_is_refused(world: World) -> None:
    caller = await world.person("Appelant")
    finess, service, role = await cardiology(world)
    body = {"organisation": finess, "kind": "service", "name": "Neurologie"}
    response = await world.client.post("/api/v1/instant/units", json=body, headers=caller.headers)
    problem(response, 401, "operator-only")
    problem(
        await post(world, "/units", {**body, "name": "Cardiologie"}), 400, "instant-invalid-request"
    )
    problem(await post(world, "/units", {**body, "service": 999}), 400, "instant-invalid-request")
    missing = {"organisation": finess, "kind": "role", "name": "X", "service": 999}
    problem(await post(world, "/units", missing), 404, "instant-unknown-unit")
    problem(
        await post(world, f"/roles/{role}/shifts", {"address": A, "day": "2026-11-29"}),
        400,
        "instant-invalid-shift",
    )
    inverted = {"address": A, "starts_at": NIGHT.isoformat(), "ends_at": NIGHT.isoformat()}
    problem(await post(world, f"/roles/{role}/shifts", inverted), 400, "instant-invalid-shift")
    shift = {
        "address": A,
        "starts_at": NIGHT.isoformat(),
        "ends_at": (NIGHT + timedelta(hours=1)).isoformat(),
    }
    problem(await post(world, f"/roles/{service}/shifts", shift), 400, "instant-invalid-request")
    problem(await post(world, "/roles/424242/shifts", shift), 404, "instant-unknown-unit")
    problem(await on_duty(world, 424242, NIGHT, caller.headers), 404, "instant-unknown-unit")
    problem(await on_duty(world, role, NIGHT, {}), 401, "unauthenticated")
    naive = await world.client.get(
        f"/api/v1/instant/roles/{role}/on-duty",
        params={"at": "2026-11-29T20:00:00"},
        headers=caller.headers,
    )
    problem(naive, 400, "instant-invalid-instant")
