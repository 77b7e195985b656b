"""``caducee server purge-instant``: the MISS retention purge, once, by hand.

The server runs the same purge hourly (``caducee.server.instant_retention``); this is for a
deployment that wants it now (after lowering a retention) or runs it from cron. It deletes
the case messages older than their organisation's retention and prints counts only.
"""

from __future__ import annotations

import asyncio

from rich.console import Console

from caducee.commands.server_data import DataDir, existing_database_url, unreadable_database
from caducee.config import load_settings

__all__ = ["purge_instant"]

console = Console()


def purge_instant(data_dir: DataDir = None) -> None:
    """Supprimer les messages MISS plus anciens que la conservation de leur organisation.

    Delete the MISS case messages older than their organisation's retention (ids and counts
    are printed, never content).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from caducee.instant.retention import PurgeReport, RetentionService
    from caducee.store import Database

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    url = existing_database_url(settings)

    async def purge() -> PurgeReport:
        database = Database(url)
        try:
            return await RetentionService(database).purge()
        finally:
            await database.close()

    try:
        report = asyncio.run(purge())
    except SQLAlchemyError as exc:
        raise unreadable_database(exc) from exc
    for case_id, count in sorted(report.deleted.items()):
        console.print(f"  {case_id}: {count}")
    console.print(
        f"Messages supprimés / messages deleted: {report.messages} "
        f"(conversations / cases: {len(report.deleted)})"
    )
