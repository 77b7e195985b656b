"""Registration and the charter: the manager signs (evidence), only then are people enrolled."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from caducee.directory.identifiers import luhn_complete
from caducee.evidence.models import RecordRow
from caducee.policy.charter import charter_digest
from caducee.policy.models import CharterSignature
from caducee.policy.models import Establishment as EstablishmentRow
from tests.console.helpers import CHARTER, console, member, publish, register, sign, snapshot
from tests.server.conftest import World, problem


async def _code(world: World, rpps: str) -> int:
    return (await world.admin(f"/people/{rpps}/enrolment-code")).status_code


async def test_the_charter_gate_end_to_end(world: World) -> None:
    est = await register(world)
    person = await member(world, est)
    assert await _code(world, person["rpps"]) == 201  # no charter yet: the gate is open

    charter = await publish(world)
    assert charter == {"version": 1, "sha256": charter_digest(CHARTER)}
    public = (await world.client.get("/api/v1/charter")).json()
    assert public["sha256"] == charter["sha256"] and public["text"] == CHARTER

    # 1. Not signed: its people cannot be enrolled (the manager can, to sign).
    response = await world.admin(f"/people/{person['rpps']}/enrolment-code")
    body = problem(response, 409, "charter-not-signed")
    assert "version 1" in body["detail"]
    assert await _code(world, est.manager.extra["rpps"]) == 201
    # nor through the manager's own API
    response = await world.client.post(
        f"/api/v1/establishments/{est.finess}/people/{person['rpps']}/enrolment-code",
        headers=est.manager.headers,
    )
    problem(response, 409, "charter-not-signed")

    # 2. A stale digest is refused, nothing written.
    problem(await sign(world, est, "0" * 64), 409, "stale-charter")

    # 3. The manager signs the current charter: evidence in the log.
    response = await sign(world, est, charter["sha256"])
    assert response.status_code == 201, response.text
    signature = response.json()
    assert signature["version"] == 1 and signature["evidence_index"] is not None
    async with world.state.database.sessions() as session:
        record = await session.scalar(
            select(RecordRow).where(RecordRow.leaf_index == signature["evidence_index"])
        )
    assert record is not None and record.event == "CharterSigned"
    assert charter["sha256"] in record.record_json and est.finess in record.record_json
    again = await sign(world, est, charter["sha256"])  # idempotent
    assert (
        again.status_code == 201 and again.json()["evidence_index"] == signature["evidence_index"]
    )

    # 4. Now its people can be enrolled.
    assert await _code(world, person["rpps"]) == 201
    listing = (await console(world, "GET", "/establishments")).json()["establishments"]
    [mine] = [e for e in listing if e["finess"] == est.finess]
    assert mine["signed_version"] == 1 and mine["up_to_date"] is True

    # 5. A new charter version asks for a new acceptance.
    v2 = await publish(world, CHARTER + "Article 2 : signalez les abus.\n")
    assert v2["version"] == 2
    problem(
        await world.admin(f"/people/{person['rpps']}/enrolment-code"), 409, "charter-not-signed"
    )
    problem(await sign(world, est, charter["sha256"]), 409, "stale-charter")
    assert (await sign(world, est, v2["sha256"])).status_code == 201
    assert await _code(world, person["rpps"]) == 201
    detail = (await console(world, "GET", f"/establishments/{est.finess}")).json()
    assert [s["version"] for s in detail["signatures"]] == [1, 2]
    assert {p["rpps"] for p in detail["people"]} >= {person["rpps"], est.manager.extra["rpps"]}


async def test_a_signature_by_someone_who_is_not_the_manager_is_refused(world: World) -> None:
    est = await register(world)
    other = await register(world)
    charter = await publish(world)
    colleague = await world.person("Collegue", organisation=est.finess)
    for intruder in (colleague, other.manager):
        response = await world.client.post(
            "/api/v1/charter/signatures",
            json={"finess": est.finess, "charter_sha256": charter["sha256"]},
            headers=intruder.headers,
        )
        body = problem(response, 403, "not-manager")
        assert est.finess in body["detail"]
    async with world.state.database.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(CharterSignature))
        leaves = await session.scalar(
            select(func.count()).select_from(RecordRow).where(RecordRow.event == "CharterSigned")
        )
    assert count == 0 and leaves == 0


async def test_a_forged_finess_is_refused_and_nothing_is_created(world: World) -> None:
    before = (await console(world, "GET", "/establishments")).json()["establishments"]
    body = {
        "finess": "880000017",  # wrong Luhn key
        "name": "Faux",
        "type": "lab",
        "manager": {"rpps": "88000000001", "given_name": "A", "family_name": "B"},
    }
    response = await console(world, "POST", "/establishments", body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid-identifier"
    assert "Luhn" in response.json()["detail"]
    after = (await console(world, "GET", "/establishments")).json()["establishments"]
    assert after == before
    async with world.state.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(EstablishmentRow)) == len(
            before
        )


async def test_a_mailbox_outside_any_registered_establishment_waits_for_registration(
    world: World,
) -> None:
    await publish(world)
    finess = await world.organisation("Laboratoire non enregistré")
    created = await world.admin(
        "/mailboxes",
        {"address": "orga@console.test", "kind": "organisational", "organisation": finess},
    )
    assert created.status_code == 201
    response = await world.admin("/mailboxes/orga@console.test/enrolment-code")
    body = problem(response, 409, "establishment-not-registered")
    assert "charter" in body["detail"]


async def test_support_contact_is_public(world: World) -> None:
    response = await world.client.get("/api/v1/support")
    assert response.status_code == 200
    body = response.json()
    assert body["contact"] == world.state.settings.support_contact
    assert body["hours"] == world.state.settings.support_hours
    assert body["charter_url"].endswith("/charter")


@pytest.mark.parametrize(
    ("manager", "status", "code"),
    [
        ({"rpps": "88000000001", "given_name": "A", "family_name": "B"}, 400, "invalid-identifier"),
        ({"rpps": luhn_complete("8810000001"), "given_name": " ", "family_name": "B"}, 422,
         "manager-needed"),
        ({"rpps": luhn_complete("8810000001"), "given_name": "A", "family_name": "B",
          "profession": " "}, 400, "invalid-entry"),
        ({"rpps": luhn_complete("8810000001"), "given_name": "A", "family_name": "B",
          "mailbox": "pas une adresse"}, 400, "invalid-entry"),
        ({"rpps": luhn_complete("8810000001"), "given_name": "A", "family_name": "B",
          "mailbox": "PRISE@console.test"}, 409, "already-registered"),
    ],
)  # fmt: skip
async def test_a_refused_manager_leaves_no_new_organisation_behind(
    world: World, manager: dict[str, str], status: int, code: str
) -> None:
    await world.admin(
        "/mailboxes",
        {"address": "prise@console.test", "kind": "organisational",
         "organisation": await world.organisation("Cabinet")},
    )  # fmt: skip
    before = await snapshot(world)
    body = {"finess": luhn_complete("88100001"), "name": "Nouveau", "type": "lab",
            "manager": manager}  # fmt: skip
    response = await console(world, "POST", "/establishments", body)
    assert response.status_code == status and response.json()["code"] == code, response.text
    assert await snapshot(world) == before
