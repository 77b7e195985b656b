"""MISS retention per organisation: who may set it, its validation, the purge on a clock the
test moves (exactly the old messages go; cursors and listings still work), the organisation
that governs a case, the announcement in a case's view, and the migration's back-fill.

On SQLite and PostgreSQL. SYNTHETIC TEST MATERIAL: invented organisations, people and
devices (``tests.server.conftest.World``); ciphertexts from the real sender-key core over
synthetic text.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import typer
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from caducee.commands.instant_purge import purge_instant
from caducee.directory.models import Organisation
from caducee.instant.cases import CaseService
from caducee.instant.models import Case, CaseMessage, Retention, Unit
from caducee.instant.retention import RetentionService
from caducee.server import instant_retention
from caducee.store import Database
from caducee.store.migrate import sync_url, upgrade_database
from tests.console.helpers import OPERATOR, register
from tests.instant.miss import API, fetch, group, open_case, post, with_device
from tests.instant.test_pairing_support import paired_device
from tests.instant.test_routing_escalation import staffed
from tests.server.conftest import Identity, World, problem


def admin_path(finess: str) -> str:
    return f"/api/v1/admin/organisations/{finess}/instant-retention"


def manager_path(finess: str) -> str:
    return f"/api/v1/establishments/{finess}/instant-retention"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def put(world: World, path: str, days: Any, headers: dict[str, str]) -> httpx.Response:
    return await world.client.put(path, json={"retention_days": days}, headers=headers)


async def set_by_operator(world: World, finess: str, days: int | None) -> None:
    response = await put(world, admin_path(finess), days, OPERATOR)
    assert response.status_code == 200, response.text
    assert response.json()["retention_days"] == days


# -- who may set it -------------------------------------------------------------------------


async def test_operator_and_the_organisations_manager_set_it_nobody_else(world: World) -> None:
    own, other = await register(world), await register(world)
    person = await world.person("Ordinaire", organisation=own.finess)
    _, device_token = await paired_device(world, person)
    expired = await world.person("Expire", organisation=own.finess)

    # The operator: both ways, on the admin path.
    assert (await world.client.get(admin_path(own.finess), headers=OPERATOR)).json()[
        "retention_days"
    ] is None
    await set_by_operator(world, own.finess, 90)
    got = (await world.client.get(admin_path(own.finess), headers=OPERATOR)).json()
    assert got["retention_days"] == 90 and got["updated_by"] == "operator"

    # The organisation's manager: on the establishment path.
    mine = await world.client.get(manager_path(own.finess), headers=own.manager.headers)
    assert mine.status_code == 200 and mine.json()["retention_days"] == 90
    changed = await put(world, manager_path(own.finess), 30, own.manager.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_by"] == own.manager.address
    lifted = await put(world, manager_path(own.finess), None, own.manager.headers)
    assert lifted.status_code == 200 and lifted.json()["retention_days"] is None
    await put(world, manager_path(own.finess), 30, own.manager.headers)

    world.clock.advance(minutes=16)  # every access token taken so far has expired
    refused_expired = {
        admin_path(own.finess): (401, "operator-only"),
        manager_path(own.finess): (401, "token-expired"),
    }
    for path, status, code in (
        (admin_path(own.finess), 401, "operator-only"),
        (manager_path(own.finess), 401, "unauthenticated"),
    ):
        problem(await world.client.get(path), status, code)
        problem(await put(world, path, 7, {}), status, code)
    for path, (status, code) in refused_expired.items():
        problem(await world.client.get(path, headers=expired.headers), status, code)
        problem(await put(world, path, 7, expired.headers), status, code)

    for who in (own.manager, other.manager, person):
        await world.login(who)
    _, device_token = await paired_device(world, person)
    # Anyone but the operator on the admin path: 401.
    for headers in (own.manager.headers, other.manager.headers, person.headers):
        problem(
            await world.client.get(admin_path(own.finess), headers=headers), 401, "operator-only"
        )
        problem(await put(world, admin_path(own.finess), 7, headers), 401, "operator-only")
    problem(await put(world, admin_path(own.finess), 7, bearer(device_token)), 401, "operator-only")
    # The manager path: another organisation's manager and a plain person 403, the operator's
    # token is not an agent's (401), a device token is out of its scope (403).
    for headers in (other.manager.headers, person.headers):
        problem(
            await world.client.get(manager_path(own.finess), headers=headers), 403, "not-manager"
        )
        problem(await put(world, manager_path(own.finess), 7, headers), 403, "not-manager")
    problem(await put(world, manager_path(own.finess), 7, OPERATOR), 401, "unauthenticated")
    problem(
        await put(world, manager_path(own.finess), 7, bearer(device_token)),
        403,
        "device-token-out-of-scope",
    )
    # Nothing refused changed anything; the other manager still runs their own.
    final = await world.client.get(admin_path(own.finess), headers=OPERATOR)
    assert final.json()["retention_days"] == 30
    assert (
        await put(world, manager_path(other.finess), 365, other.manager.headers)
    ).status_code == 200
    assert (await world.client.get(admin_path(own.finess), headers=OPERATOR)).json()[
        "retention_days"
    ] == 30


async def test_invalid_values_and_unknown_organisations_are_problems(world: World) -> None:
    own = await register(world)
    for days in (0, -1, 3651, 2**40):
        body = problem(
            await put(world, admin_path(own.finess), days, OPERATOR),
            422,
            "instant-retention-invalid",
        )
        assert "3650" in body["detail"]
        problem(
            await put(world, manager_path(own.finess), days, own.manager.headers),
            422,
            "instant-retention-invalid",
        )
    for wrong in ("30", 30.5, [30], True):
        problem(await put(world, admin_path(own.finess), wrong, OPERATOR), 422, "invalid-request")
    problem(
        await world.client.put(admin_path(own.finess), json={}, headers=OPERATOR),
        422,
        "invalid-request",
    )
    problem(
        await world.client.put(
            admin_path(own.finess), json={"retention_days": 5, "more": 1}, headers=OPERATOR
        ),
        422,
        "invalid-request",
    )
    unknown = "999999999"
    problem(
        await put(world, admin_path(unknown), 30, OPERATOR),
        404,
        "instant-retention-unknown-organisation",
    )
    problem(
        await world.client.get(admin_path(unknown), headers=OPERATOR),
        404,
        "instant-retention-unknown-organisation",
    )
    assert (await world.client.get(admin_path(own.finess), headers=OPERATOR)).json()[
        "retention_days"
    ] is None
    for days in (1, 3650):
        await set_by_operator(world, own.finess, days)


# -- the purge ---------------------------------------------------------------------------------


async def _talk(
    world: World, who: Identity, case_id: str, cipher: Any, device: Any, n: int
) -> list[int]:
    await world.login(who)  # the clock may have moved past the last token
    sequences = []
    for i in range(n):
        response = await post(
            world, who, case_id, device, "message", cipher.encrypt(f"synthétique {i}".encode())
        )
        assert response.status_code == 201, response.text
        sequences.append(response.json()["sequence"])
    return sequences


async def _stored(world: World, case_id: str) -> list[int]:
    async with world.state.database.sessions() as session:
        return list(
            await session.scalars(
                select(CaseMessage.sequence)
                .where(CaseMessage.case_id == case_id)
                .order_by(CaseMessage.sequence)
            )
        )


async def test_the_purge_deletes_exactly_the_old_messages_and_keeps_cursors_working(
    world: World,
) -> None:
    limited, unlimited = await register(world), await register(world)
    alice = await world.person("Alice", organisation=limited.finess)
    bob = await world.person("Bob", organisation=limited.finess)
    carol = await world.person("Carol", organisation=unlimited.finess)
    phone, laptop, tablet = (
        await with_device(world, alice),
        await with_device(world, bob),
        await with_device(world, carol),
    )
    await set_by_operator(world, limited.finess, 30)
    kept_case = (await open_case(world, carol, [bob.address]))["case_id"]
    case_id = (await open_case(world, alice, [bob.address]))["case_id"]
    cipher, carols = group(case_id, phone, laptop), group(kept_case, tablet, laptop)

    old = await _talk(world, alice, case_id, cipher, phone, 3)
    carol_old = await _talk(world, carol, kept_case, carols, tablet, 2)
    world.clock.advance(days=20)
    recent = await _talk(world, alice, case_id, cipher, phone, 2)
    world.clock.advance(days=9, hours=23)  # the oldest are 29 d 23 h old: not yet
    assert (await RetentionService(world.state.database, now=world.clock).purge()).messages == 0
    world.clock.advance(hours=2)  # now 30 d 1 h: the first three are past the retention
    report = await RetentionService(world.state.database, now=world.clock).purge()
    assert report.deleted == {case_id: len(old)}
    assert await _stored(world, case_id) == recent
    assert await _stored(world, kept_case) == carol_old  # an organisation without limit

    await world.login(bob)
    listed = (await fetch(world, bob, case_id, laptop)).json()
    assert listed["last_sequence"] == recent[-1]
    assert [m["sequence"] for m in listed["messages"]] == recent
    inside = (await fetch(world, bob, case_id, laptop, after=old[0])).json()  # purged cursor
    assert [m["sequence"] for m in inside["messages"]] == recent
    assert (await fetch(world, bob, case_id, laptop, after=recent[-1])).json()["messages"] == []
    await world.login(alice)
    after = await _talk(world, alice, case_id, cipher, phone, 1)
    assert after == [recent[-1] + 1]  # numbering goes on: a sequence is never reused
    assert (await RetentionService(world.state.database, now=world.clock).purge()).messages == 0


async def test_the_server_loop_purges_on_its_interval(world: World) -> None:
    est = await register(world)
    alice = await world.person("Alice", organisation=est.finess)
    phone = await with_device(world, alice)
    case_id = (await open_case(world, alice, []))["case_id"]
    sent = await _talk(world, alice, case_id, group(case_id, phone), phone, 2)
    await set_by_operator(world, est.finess, 1)
    world.clock.advance(days=2)
    world.state.extras["instant_retention_interval"] = 0.05
    stop = instant_retention.start(world.state, world.clock)
    try:
        for _ in range(200):
            if not await _stored(world, case_id):
                break
            await asyncio.sleep(0.05)
    finally:
        await stop()
    assert sent and await _stored(world, case_id) == []


# -- which organisation, and the announcement --------------------------------------------------


async def test_a_case_to_a_role_is_the_roles_organisations_else_the_creators(
    world: World,
) -> None:
    role, _, _ = await staffed(world)
    clinic = await register(world)
    gp = await world.person("Generaliste", organisation=clinic.finess)
    loner = await world.person("SansStructure")
    to_role = (await open_case(world, gp, [], role=role))["case_id"]
    direct = (await open_case(world, gp, []))["case_id"]
    nowhere = (await open_case(world, loner, [gp.address]))["case_id"]
    async with world.state.database.sessions() as session:
        orgs = {c.id: c.organisation_finess for c in await session.scalars(select(Case))}
        role_org = (await session.get(Unit, role)).organisation_finess  # type: ignore[union-attr]
    assert orgs == {to_role: role_org, direct: clinic.finess, nowhere: None}

    await set_by_operator(world, role_org, 7)
    await set_by_operator(world, clinic.finess, 365)
    service = CaseService(world.state.database, None, now=world.clock)
    assert (await service.view(gp.address, to_role)).retention_days == 7
    assert (await service.view(gp.address, direct)).retention_days == 365
    assert (await service.view(gp.address, nowhere)).retention_days is None
    listed = {v.case_id: v.retention_days for v in await service.cases_of(gp.address)}
    assert listed == {to_role: 7, direct: 365, nowhere: None}


async def test_the_case_view_and_listing_announce_retention_days(world: World) -> None:
    est = await register(world)
    alice = await world.person("Alice", organisation=est.finess)
    case_id = (await open_case(world, alice, []))["case_id"]
    await set_by_operator(world, est.finess, 180)
    one = (await world.client.get(f"{API}/cases/{case_id}", headers=alice.headers)).json()
    assert one["retention_days"] == 180
    listed = (await world.client.get(f"{API}/cases", headers=alice.headers)).json()["cases"]
    assert [c["retention_days"] for c in listed] == [180]


# -- the migration's back-fill ------------------------------------------------------------------


def test_existing_cases_get_their_creators_organisation(database_url: str) -> None:
    upgrade_database(database_url, "0011")
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            for finess, name in (("750000011", "Org A"), ("750000029", "Org B")):
                connection.execute(
                    text(
                        "INSERT INTO directory_organisation (finess, name, type, beds, address,"
                        " postcode, city, region, created_at) VALUES (:f, :n, 'lab', NULL, '',"
                        " '', '', '', CURRENT_TIMESTAMP)"
                    ),
                    {"f": finess, "n": name},
                )
            connection.execute(
                text(
                    "INSERT INTO directory_person (rpps, given_name, family_name, profession,"
                    " specialty, organisation_finess, created_at) VALUES ('10000000007', 'A',"
                    " 'B', 'médecin', NULL, '750000029', CURRENT_TIMESTAMP)"
                )
            )
            for address, person, org in (
                ("perso@synthetic.test", "10000000007", None),
                ("orga@synthetic.test", None, "750000011"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO directory_mailbox (address, kind, person_rpps,"
                        " organisation_finess, active, last_sequence, created_at) VALUES (:a,"
                        " 'personal', :p, :o, true, 0, CURRENT_TIMESTAMP)"
                    ),
                    {"a": address, "p": person, "o": org},
                )
            for case_id, creator in (
                ("00000000-0000-0000-0000-000000000001", "perso@synthetic.test"),
                ("00000000-0000-0000-0000-000000000002", "orga@synthetic.test"),
                ("00000000-0000-0000-0000-000000000003", "stranger@synthetic.test"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO instant_case (id, created_by, role_id, last_sequence,"
                        " escalation_level, escalation_message_id, escalation_due_at,"
                        " acknowledged_by, created_at) VALUES (:i, :c, NULL, 0, 0, NULL, NULL,"
                        " NULL, CURRENT_TIMESTAMP)"
                    ),
                    {"i": case_id, "c": creator},
                )
        upgrade_database(database_url)
        with engine.connect() as connection:
            found: dict[str, str | None] = dict(
                connection.execute(text("SELECT id, organisation_finess FROM instant_case")).all()
            )
    finally:
        engine.dispose()
    assert found == {
        "00000000-0000-0000-0000-000000000001": "750000029",  # the person's organisation
        "00000000-0000-0000-0000-000000000002": "750000011",  # the mailbox's
        "00000000-0000-0000-0000-000000000003": None,
    }


# -- the one-shot command ------------------------------------------------------------------------


def test_the_purge_command_runs_once_and_prints_counts(migrated_url: str, tmp_path: Path) -> None:
    """``caducee server purge-instant`` (mounted here on a bare Typer app: the same function)."""
    now = datetime.now(UTC)

    async def seed() -> None:
        database = Database(migrated_url)
        try:
            async with database.transaction() as session:
                session.add(Organisation(finess="750000011", name="Org A", type="lab"))
                await session.flush()
                session.add(Retention(organisation_finess="750000011", days=10, updated_by="t"))
                for case_id in (CLI_CASE, "00000000-0000-0000-0000-0000000000c2"):
                    organisation = "750000011" if case_id == CLI_CASE else None
                    session.add(
                        Case(
                            id=case_id,
                            created_by="a@synthetic.test",
                            last_sequence=3,
                            organisation_finess=organisation,
                        )
                    )
                await session.flush()
                for case_id in (CLI_CASE, "00000000-0000-0000-0000-0000000000c2"):
                    for sequence, age in ((1, 30), (2, 11), (3, 1)):
                        session.add(
                            CaseMessage(
                                case_id=case_id,
                                sequence=sequence,
                                message_id=f"{case_id}-{sequence}",
                                kind="message",
                                sender_address="a@synthetic.test",
                                sender_device_id="d",
                                ciphertext=b"synthetic",
                                ciphertext_sha256="0" * 64,
                                created_at=now - timedelta(days=age),
                            )
                        )
        finally:
            await database.close()

    async def left() -> dict[str, list[int]]:
        database = Database(migrated_url)
        try:
            async with database.sessions() as session:
                rows = (
                    await session.execute(select(CaseMessage.case_id, CaseMessage.sequence))
                ).all()
        finally:
            await database.close()
        found: dict[str, list[int]] = {}
        for case_id, sequence in sorted(rows):
            found.setdefault(case_id, []).append(sequence)
        return found

    asyncio.run(seed())
    cli = typer.Typer()
    cli.command("purge-instant")(purge_instant)
    cli.command("other")(lambda: None)  # two commands: the name is then required
    result = CliRunner().invoke(
        cli,
        ["purge-instant", "--data-dir", str(tmp_path / "var")],
        env={"CADUCEE_DATABASE_URL": migrated_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert f"{CLI_CASE}: 2" in result.output and "messages deleted: 2" in result.output
    assert asyncio.run(left()) == {CLI_CASE: [3], "00000000-0000-0000-0000-0000000000c2": [1, 2, 3]}
    again = CliRunner().invoke(
        cli, ["purge-instant"], env={"CADUCEE_DATABASE_URL": migrated_url, "COLUMNS": "200"}
    )
    assert again.exit_code == 0 and "messages deleted: 0" in again.output


CLI_CASE = "00000000-0000-0000-0000-0000000000c1"
