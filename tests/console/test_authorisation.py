"""Who may call what: the operator sees the console; a manager sees only their establishment.

Every console route is called by each kind of caller: nobody, an ordinary agent, the manager
of another establishment, the establishment's own manager, and the operator.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.helpers import OPERATOR, publish, register
from tests.server.conftest import World

OPERATOR_ROUTES = [
    ("GET", "/api/v1/console/establishments", None),
    ("POST", "/api/v1/console/charter", {"text": "Charte v2"}),
    ("GET", "/api/v1/console/limits", None),
    (
        "PUT",
        "/api/v1/console/limits/*",
        {"recipients_per_message": 20, "messages_per_hour": 200, "new_recipients_per_hour": 30},
    ),
    ("GET", "/api/v1/console/reports", None),
    ("GET", "/api/v1/console/figures", None),
    ("GET", "/api/v1/console/figures.csv", None),
    ("POST", "/api/v1/console/sanctions/999/lift", None),
]
MANAGER_ROUTES = ["/api/v1/establishments/{finess}/people"]


async def _call(world: World, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    response = await world.client.request(method, path, json=body, headers=headers)
    return response.status_code


@pytest.fixture
async def callers(world: World) -> dict[str, Any]:
    await publish(world)
    own = await register(world)
    other = await register(world)
    agent = await world.person("Ordinaire")
    return {"own": own, "other": other, "agent": agent}


async def test_console_routes_are_for_the_operator_only(
    world: World, callers: dict[str, Any]
) -> None:
    for method, path, body in OPERATOR_ROUTES:
        assert await _call(world, method, path, body, {}) == 401, path
        for who in (callers["agent"], callers["own"].manager):
            response = await world.client.request(method, path, json=body, headers=who.headers)
            assert response.status_code == 401 and response.json()["code"] == "operator-only", path
        status = await _call(world, method, path, body, OPERATOR)
        assert status in (200, 201), (path, status)
    detail = f"/api/v1/console/establishments/{callers['own'].finess}"
    assert await _call(world, "GET", detail, None, callers["own"].manager.headers) == 401
    assert await _call(world, "GET", detail, None, OPERATOR) == 200
    pdf = await world.client.get("/api/v1/console/report.pdf", headers=OPERATOR)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await world.client.get("/api/v1/console/report.pdf")).status_code == 401


async def test_a_manager_sees_only_their_establishment(
    world: World, callers: dict[str, Any]
) -> None:
    own, other = callers["own"], callers["other"]
    path = f"/api/v1/establishments/{own.finess}/people"
    assert (await world.client.get(path)).status_code == 401
    for intruder in (callers["agent"], other.manager):
        response = await world.client.get(path, headers=intruder.headers)
        assert response.status_code == 403 and response.json()["code"] == "not-manager"
        body = {"rpps": "77000000001", "given_name": "A", "family_name": "B", "profession": "x",
                "mailbox": "intrus@console.test"}  # fmt: skip
        response = await world.client.post(path, json=body, headers=intruder.headers)
        assert response.status_code == 403
    assert (await world.client.get(path, headers=OPERATOR)).status_code == 401  # not an agent
    response = await world.client.get(path, headers=own.manager.headers)
    assert response.status_code == 200
    assert response.json()["finess"] == own.finess
    rpps = {p["rpps"] for p in response.json()["people"]}
    assert own.manager.extra["rpps"] in rpps and other.manager.extra["rpps"] not in rpps


async def test_moderation_routes_need_the_operator_or_a_moderator(
    world: World, callers: dict[str, Any]
) -> None:
    holds = "/api/v1/console/holds"
    for method, path in (
        ("GET", holds),
        ("POST", f"{holds}/1/release"),
        ("POST", f"{holds}/1/refuse"),
    ):
        assert await _call(world, method, path, None, {}) == 401
        response = await world.client.request(method, path, headers=callers["agent"].headers)
        assert response.status_code == 403 and response.json()["code"] == "not-moderator"
        status = await _call(world, method, path, None, OPERATOR)
        assert status == (200 if method == "GET" else 404)  # no hold 1: unknown-hold
    add = {"rpps": callers["agent"].extra["rpps"]}
    assert (
        await _call(world, "POST", "/api/v1/console/moderators", add, callers["agent"].headers)
        == 401
    )


async def test_agent_routes_need_an_access_token_and_public_ones_nothing(
    world: World, callers: dict[str, Any]
) -> None:
    for method, path, body in (
        ("POST", "/api/v1/reports", {"message_id": "x@t", "reason": "bulk"}),
        ("GET", "/api/v1/policy/sanctions", None),
        ("GET", "/api/v1/policy/limits", None),
        (
            "POST",
            "/api/v1/charter/signatures",
            {"finess": callers["own"].finess, "charter_sha256": "0" * 64},
        ),
    ):
        response = await world.client.request(method, path, json=body)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert (
        await world.client.get("/api/v1/policy/sanctions", headers=callers["agent"].headers)
    ).status_code == 200
    for path in ("/api/v1/charter", "/api/v1/support", "/charter"):
        assert (await world.client.get(path)).status_code == 200, path


async def test_console_pages_redirect_to_the_login_without_the_cookie(world: World) -> None:
    pages = ("/console", "/console/establishments", "/console/charter", "/console/limits",
             "/console/moderation", "/console/sanctions", "/console/establishments/1")  # fmt: skip
    for path in pages:
        response = await world.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    response = await world.client.post("/console/login", data={"token": "wrong"})
    assert response.status_code == 401 and "Jeton incorrect" in response.text
    response = await world.client.post(
        "/console/login", data={"token": OPERATOR["Authorization"][7:]}
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = await world.client.get("/console")
    assert page.status_code == 200 and "Chiffres du réseau" in page.text
    english = await world.client.get("/console?lang=en")
    assert "Network figures" in english.text
