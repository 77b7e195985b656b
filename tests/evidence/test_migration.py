"""Revision 0003 (evidence log) upgrades and downgrades on both engines."""

from __future__ import annotations

from sqlalchemy import inspect, text

from caducee.store import Database, downgrade_database, upgrade_database

TABLES = {"evidence_record", "evidence_merkle_node", "evidence_checkpoint", "evidence_log_head"}


async def _tables(url: str) -> tuple[set[str], list[int]]:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            names = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            head = []
            if "evidence_log_head" in names:
                rows = await connection.execute(text("SELECT tree_size FROM evidence_log_head"))
                head = [int(r[0]) for r in rows]
            return names, head
    finally:
        await db.close()


async def test_0003_round_trips(database_url: str) -> None:
    upgrade_database(database_url, "0003")
    names, head = await _tables(database_url)
    assert names >= TABLES and head == [0]
    downgrade_database(database_url, "0002")
    names, _ = await _tables(database_url)
    assert not TABLES & names and "relay_message" in names
    upgrade_database(database_url, "head")
    names, head = await _tables(database_url)
    assert names >= TABLES and head == [0]
