"""Organisations' content policies: the service on both engines and revision 0005."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from caducee.directory import DirectoryService, UnknownMailbox, UnknownOrganisation, luhn_complete
from caducee.directory.content_policy import ContentPolicyService
from caducee.policy.content import PLATFORM_DEFAULT, ContentPolicy, Mode
from caducee.store import Database, downgrade_database, upgrade_database

LAB = luhn_complete("69000011")
GP = luhn_complete("1000000011")


async def test_policy_follows_the_organisation(migrated_database: Database) -> None:
    directory = DirectoryService(migrated_database)
    service = ContentPolicyService(migrated_database)
    await directory.register_organisation(finess=LAB, name="Labo Fictif", type="lab")
    await directory.register_person(
        rpps=GP, given_name="Iris", family_name="Fictive", profession="médecin",
        organisation_finess=LAB,
    )  # fmt: skip
    lab_box = await directory.create_mailbox(
        address="lab@caducee.test", kind="organisational", organisation_finess=LAB
    )
    gp_box = await directory.create_mailbox(
        address="gp@caducee.test", kind="personal", person_rpps=GP
    )
    assert PLATFORM_DEFAULT.part_size is Mode.ADVISORY and PLATFORM_DEFAULT.pdf_only is Mode.STRICT
    assert (await service.for_mailbox(lab_box)).is_default
    chosen = ContentPolicy(pdf_only=Mode.ADVISORY, max_part_bytes=1234)
    await service.set_policy(LAB, chosen)
    for box in (lab_box, gp_box):
        effective = await service.for_mailbox(box)
        assert effective.policy == chosen and effective.organisation == LAB
    await service.set_policy(LAB, PLATFORM_DEFAULT)  # replaced, not added
    assert (await service.for_organisation(LAB)).policy == PLATFORM_DEFAULT
    assert (await service.for_organisation(None)).organisation is None
    with pytest.raises(UnknownOrganisation):
        await service.set_policy("999999999", chosen)
    with pytest.raises(UnknownMailbox):
        await service.for_mailbox(10_000)


async def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.close()


async def test_0005_round_trips(database_url: str) -> None:
    upgrade_database(database_url, "0005")
    assert "directory_content_policy" in await _tables(database_url)
    downgrade_database(database_url, "0004")
    remaining = await _tables(database_url)
    assert "directory_content_policy" not in remaining and "gateway_app_password" in remaining
    upgrade_database(database_url, "head")
    assert "directory_content_policy" in await _tables(database_url)
