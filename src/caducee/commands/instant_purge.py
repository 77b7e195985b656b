"""``caducee server purge-instant``: the MISS retention purge, once, by hand.

The server runs the same purge hourly (``caducee.server.instant_retention``); this is for a
deployment that wants it now (after lowering a retention) or runs it from cron. It deletes
the case messages older than their organisation's retention and prints counts only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from caducee.config import load_settings

__all__ = ["purge_instant"]

console = Console()
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données / data folder (défaut: ./var)."),
]


def purge_instant(data_dir: DataDir = None) -> None:
    """Supprimer les messages MISS plus anciens que la conservation de leur organisation.

    Delete the MISS case messages older than their organisation's retention (ids and counts
    are printed, never content).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from caducee.instant.retention import PurgeReport, RetentionService
    from caducee.store import Database, is_sqlite

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    url = settings.resolved_database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        console.print(
            f"[red]Échec / failed:[/red] pas de base dans / no database in {settings.data_dir}: "
            "lancer / run `caducee server init`"
        )
        raise typer.Exit(2)

    async def purge() -> PurgeReport:
        database = Database(url)
        try:
            return await RetentionService(database).purge()
        finally:
            await database.close()

    try:
        report = asyncio.run(purge())
    except SQLAlchemyError as exc:
        console.print(
            "[red]Échec / failed:[/red] base de données illisible (lancer `caducee server "
            f"init` ?) / database unreadable (run `caducee server init`?): {type(exc).__name__}"
        )
        raise typer.Exit(2) from exc
    for case_id, count in sorted(report.deleted.items()):
        console.print(f"  {case_id}: {count}")
    console.print(
        f"Messages supprimés / messages deleted: {report.messages} "
        f"(conversations / cases: {len(report.deleted)})"
    )
