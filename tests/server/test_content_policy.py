"""The content policy endpoints, for every kind of caller, on SQLite and PostgreSQL.

The operator sets an organisation's policy; an agent reads its own organisation's (an
organisational mailbox's organisation, a personal mailbox's person's organisation), or the
platform default (strict, sizes advisory) when nothing was set or it has no organisation.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.conftest import OPERATOR_TOKEN, Identity, World, problem

PUT = "/api/v1/admin/organisations/{}/content-policy"
ADVISORY_PDF = {"modes": {"pdf-only": "advisory"}}
DEFAULT_MODES = {
    "pdf-only": "strict",
    "patient-header": "strict",
    "part-size": "advisory",
    "message-size": "advisory",
}


async def _put(world: World, finess: str, body: Any, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await world.client.put(PUT.format(finess), json=body, headers=headers)


async def _get(world: World, headers: dict[str, str]) -> httpx.Response:
    return await world.client.get("/api/v1/policy", headers=headers)


async def test_operator_sets_and_agents_read(world: World) -> None:
    lab_finess = await world.organisation()
    other_finess = await world.organisation("Autre Laboratoire")
    lab = await world.mailbox("lab@caducee.test", "organisational", organisation=lab_finess)
    biologist = await world.person("Biologiste", organisation=lab_finess)
    loner = await world.person("Seul")

    for who in (lab, biologist, loner):  # nothing set yet: the platform default
        body = (await _get(world, who.headers)).json()
        assert body["default"] is True and body["policy"]["modes"] == DEFAULT_MODES

    answer = await _put(world, lab_finess, ADVISORY_PDF, OPERATOR_TOKEN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["policy"]["modes"]["pdf-only"] == "advisory"
    for who in (lab, biologist):
        body = (await _get(world, who.headers)).json()
        assert body == answer.json() | {"default": False}
        assert body["organisation"] == lab_finess
    assert (await _get(world, loner.headers)).json()["organisation"] is None

    # Setting again replaces; absent keys take the strict defaults.
    again = await _put(world, lab_finess, {"max_part_bytes": 1000}, OPERATOR_TOKEN)
    assert again.json()["policy"]["modes"]["pdf-only"] == "strict"
    assert (await _get(world, lab.headers)).json()["policy"]["max_part_bytes"] == 1000
    other = await world.mailbox("other@caducee.test", "organisational", organisation=other_finess)
    assert (await _get(world, other.headers)).json()["default"] is True


async def test_bad_policies_are_refused(world: World) -> None:
    finess = await world.organisation()
    for body in (
        {"modes": {"pdf-only": "maybe"}},
        {"modes": {"no-such-rule": "strict"}},
        {"colour": "blue"},
        {"max_part_bytes": -1},
        {"max_part_bytes": True},
        {"modes": []},
    ):
        problem(await _put(world, finess, body, OPERATOR_TOKEN), 422, "invalid-policy")
    problem(
        await _put(world, "999999999", ADVISORY_PDF, OPERATOR_TOKEN), 404, "unknown-organisation"
    )
    big = {"modes": {f"r{i}": "strict" for i in range(400)}}
    problem(await _put(world, finess, big, OPERATOR_TOKEN), 413, "policy-too-large")
    not_object = await _put(world, finess, ["strict"], OPERATOR_TOKEN)
    assert not_object.status_code == 422


async def test_every_caller(world: World) -> None:
    finess = await world.organisation()
    agent: Identity = await world.mailbox("lab@caducee.test", "organisational", organisation=finess)
    bearer = {"Authorization": f"Bearer {agent.token}"}

    # PUT: the operator only.
    problem(await _put(world, finess, ADVISORY_PDF, None), 401, "operator-only")
    problem(await _put(world, finess, ADVISORY_PDF, "not-a-token"), 401, "operator-only")
    problem(await _put(world, finess, ADVISORY_PDF, agent.token), 401, "operator-only")
    assert (await _get(world, bearer)).json()["default"] is True  # nothing changed
    assert (await _put(world, finess, ADVISORY_PDF, OPERATOR_TOKEN)).status_code == 200

    # GET: an agent only (the operator is no mailbox).
    assert (await _get(world, bearer)).status_code == 200
    problem(await _get(world, {}), 401, "unauthenticated")
    bad = await _get(world, {"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    operator = await _get(world, {"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert operator.status_code == 401
    world.clock.advance(days=2)  # an expired access token
    assert (await _get(world, bearer)).status_code == 401
