"""Revision 0002 (directory, credentials, relay) upgrades and downgrades on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from caducee.store import Database, downgrade_database, upgrade_database

TABLES = {
    "directory_organisation",
    "directory_person",
    "directory_mailbox",
    "directory_mailbox_certificate",
    "auth_challenge",
    "auth_access_token",
    "auth_enrolment_code",
    "relay_message",
    "relay_delivery",
}


async def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.close()


async def test_0002_round_trips(database_url: str) -> None:
    upgrade_database(database_url, "0002")
    assert await _tables(database_url) >= TABLES
    downgrade_database(database_url, "0001")
    remaining = await _tables(database_url)
    assert not TABLES & remaining and "issued_certificate" in remaining
    upgrade_database(database_url, "0002")
    assert await _tables(database_url) >= TABLES
