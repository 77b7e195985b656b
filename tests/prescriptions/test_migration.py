"""Revision 0007 (prescriptions) upgrades and downgrades on both engines."""

from __future__ import annotations

from sqlalchemy import inspect

from caducee.store import Database, downgrade_database, upgrade_database

TABLES = {
    "rx_task",
    "rx_dispense",
    "rx_card_challenge",
    "rx_card_grant",
    "rx_access_event",
    "rx_patient_preference",
    "rx_drug",
}


async def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.close()


async def test_0007_round_trips(database_url: str) -> None:
    upgrade_database(database_url, "0007")
    assert await _tables(database_url) >= TABLES
    downgrade_database(database_url, "0006")
    remaining = await _tables(database_url)
    assert not TABLES & remaining and "directory_mailbox" in remaining
    upgrade_database(database_url, "0007")
    assert await _tables(database_url) >= TABLES
