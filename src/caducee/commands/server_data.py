"""What the server's commands share: the data folder option and its database, checked.

The one-shot maintenance commands (``sweep-blobs``, ``purge-instant``) run beside or instead
of a running server; each needs the same answers when the data folder holds no database yet,
or one they cannot read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from caducee.config import Settings

__all__ = ["DataDir", "existing_database_url", "unreadable_database"]

console = Console()
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données / data folder (défaut: ./var)."),
]


def existing_database_url(settings: Settings) -> str:
    """The database URL; exits (2) saying what to run when the embedded database is missing."""
    from sqlalchemy.engine import make_url

    from caducee.store import is_sqlite

    url = settings.resolved_database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        console.print(
            f"[red]Échec / failed:[/red] pas de base dans / no database in {settings.data_dir}: "
            "lancer / run `caducee server init`"
        )
        raise typer.Exit(2)
    return url


def unreadable_database(exc: Exception) -> typer.Exit:
    """Say that the database could not be read (its error's class only), and the exit."""
    console.print(
        "[red]Échec / failed:[/red] base de données illisible (lancer `caducee server "
        f"init` ?) / database unreadable (run `caducee server init`?): {type(exc).__name__}"
    )
    return typer.Exit(2)
