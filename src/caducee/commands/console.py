"""``caducee console``: the synthetic year, closing days, the yearly report."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from caducee.config import load_settings
from caducee.store import Database, upgrade_database

__all__ = ["app"]

app = typer.Typer(
    help="Console de l'opérateur : année synthétique, chiffres, rapport. / "
    "Operator console: synthetic year, figures, report.",
    no_args_is_help=True,
)
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données / data folder (défaut: ./var)."),
]
STAGES = {
    "directory": "Annuaire / directory",
    "days": "Journées simulées / simulated days",
    "rollups": "Compteurs / rollups",
    "figures": "Chiffres des jours / daily figures",
}


def _database(data_dir: Path | None) -> Database:
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    upgrade_database(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


@app.command()
def generate(
    data_dir: DataDir = None,
    users: Annotated[int, typer.Option(min=10, help="Utilisateurs / users.")] = 70_000,
    days: Annotated[int, typer.Option(min=31, max=800, help="Jours / days.")] = 395,
    end: Annotated[str | None, typer.Option(help="Dernier jour / last day (YYYY-MM-DD).")] = None,
    seed: Annotated[int, typer.Option(help="Graine / random seed.")] = 2026,
) -> None:
    """Remplir un déploiement d'une année synthétique (démonstrations, mesures).

    Fill a deployment with a synthetic year: invented establishments and people, and their
    message events folded into the rollups (every identifier is synthetic).
    """
    from caducee.stats.generator import generate as run

    database = _database(data_dir)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, object] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(STAGES.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            report = run(
                database.sync_engine,
                users=users,
                days=days,
                end=date.fromisoformat(end) if end else None,
                seed=seed,
                progress=tick,
            )
        except ValueError as exc:
            console.print(f"[red]Refusé / refused:[/red] {exc}")
            raise typer.Exit(2) from exc
        finally:
            asyncio.run(database.close())
    console.print(
        f"[green]✔[/green] {report.messages:,} messages, {report.users:,} utilisateurs / users, "
        f"{report.establishments:,} établissements / establishments, "
        f"{report.first_day} → {report.last_day}, {report.seconds:.1f} s"
    )


@app.command("close-days")
def close(data_dir: DataDir = None) -> None:
    """Calculer les chiffres des jours finis. / Compute the figures of finished days."""
    from datetime import UTC, datetime, timedelta

    from caducee.stats.establishments import refresh_establishments
    from caducee.stats.figures import close_days
    from caducee.stats.rollup import PARIS

    database = _database(data_dir)
    yesterday = datetime.now(UTC).astimezone(PARIS).date() - timedelta(days=1)
    with database.sync_engine.begin() as connection:
        refresh_establishments(connection)
        closed = close_days(connection, yesterday)
    asyncio.run(database.close())
    console.print(f"[green]✔[/green] {closed} jour(s) / day(s)")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Fichier PDF / PDF file.")],
    data_dir: DataDir = None,
) -> None:
    """Écrire le rapport annuel en PDF. / Write the yearly report as a PDF."""
    from caducee.stats.dashboard import Dashboard, load_dashboard
    from caducee.stats.report import render_pdf

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    database = _database(data_dir)

    async def load() -> Dashboard:
        try:
            return await load_dashboard(database)
        finally:
            await database.close()

    dashboard = asyncio.run(load())
    day = dashboard.headline.day
    year = day.year if day else None
    out.write_bytes(render_pdf(dashboard, operator=settings.operator_name, year=year))
    console.print(f"[green]✔[/green] {out} ({out.stat().st_size:,} octets / bytes)")
