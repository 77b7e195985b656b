"""``caducee server``: initialise a deployment and run the server."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from caducee.commands.server_data import DataDir, existing_database_url, unreadable_database
from caducee.config import load_settings
from caducee.errors import CaduceeError
from caducee.store import upgrade_database

__all__ = ["app"]

app = typer.Typer(
    help="Serveur Caducée : initialiser un déploiement, le lancer. / Set up and run the server.",
    no_args_is_help=True,
)
console = Console()
GRACEFUL_SHUTDOWN_SECONDS = 3  # then open push connections are closed and the server stops


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Créer la base, le stockage et l'autorité de certification (idempotent).

    Create the database schema, the blob folder and the operator CA; running it again
    changes nothing.
    """
    from caducee.server.deployment import init_deployment
    from caducee.store import S3Options, open_blob_store

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    try:
        # The operator's only: who writes to whom, and the keys, are in there.
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with console.status("Base de données / database…"):
            upgrade_database(settings.resolved_database_url)
        open_blob_store(
            settings.resolved_blob_url,
            S3Options(
                endpoint=settings.s3_endpoint,
                region=settings.s3_region,
                access_key_id=settings.s3_access_key_id,
                secret_access_key=settings.s3_secret_access_key,
                allow_http=settings.s3_allow_http,
            ),
        )
        with console.status("Autorité de certification / certificate authority…"):
            deployment = init_deployment(settings)
    except CaduceeError as exc:
        console.print(f"[red]Échec / failed:[/red] {exc.reason}")
        raise typer.Exit(2) from exc
    state = "créée / created" if deployment.created else "déjà là / already there"
    console.print(f"[green]✔[/green] Déploiement prêt / deployment ready in {settings.data_dir}")
    console.print(
        f"  AC racine / root CA ({state}): {deployment.root.certificate.subject.rfc4514_string()}"
    )
    console.print(f"  SHA-256: {deployment.root_fingerprint}")


@app.command()
def run(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute / listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute / listen port.")] = None,
) -> None:
    """Lancer le serveur (Ctrl-C pour arrêter). / Run the server until Ctrl-C."""
    import uvicorn

    from caducee.server import WEBSOCKET_PROTOCOL, create_app
    from caducee.server.fast_submit import SubmissionFastPath
    from caducee.server.logs import logging_config

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
        overrides.setdefault("public_url", f"http://{host or '127.0.0.1'}:{port}")
    settings = load_settings(**overrides)
    console.print(f"Caducée : http://{settings.host}:{settings.port}/  (Ctrl-C pour arrêter)")
    # httptools and uvloop when installed, no access log (one line per request costs more
    # than a submission's own logging); one process: the notification bus is in-process.
    config = uvicorn.Config(
        SubmissionFastPath(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_config=logging_config(settings.log_level),
        log_level=settings.log_level,
        access_log=False,
        http="auto",
        loop="auto",
        ws=WEBSOCKET_PROTOCOL,
        # Agents hold push connections (SSE, long polls, WebSockets) open: at Ctrl-C or
        # SIGTERM they are closed after this many seconds, then the server finishes its work.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(uvicorn.Server(config).serve())
    else:
        uvloop.run(uvicorn.Server(config).serve())


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    """``3600``, ``90s``, ``30m``, ``2h`` or ``1d`` in seconds; ``BadParameter`` otherwise."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit is not None else value
    if not number.isascii() or not number.isdigit():
        raise typer.BadParameter(
            f"durée invalide / invalid duration {text!r} (ex. 3600, 90m, 2h, 1d)"
        )
    return float(int(number) * (unit or 1))


@app.command("sweep-blobs")
def sweep_blobs(
    data_dir: DataDir = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply", help="Supprimer vraiment (sinon simulation). / Delete (default: dry run)."
        ),
    ] = False,
    grace: Annotated[
        str | None,
        typer.Option(
            help="Âge minimal d'un blob supprimé (défaut: le réglage, 1h). / Minimum age of a "
            "deleted blob (default: the setting, 1h), e.g. 90m, 2h."
        ),
    ] = None,
) -> None:
    """Supprimer les blobs orphelins (aucun message ne s'y réfère).

    Delete orphan blobs: ciphertexts left by refused or retried submissions that no
    message, held message or queued outbound mail refers to. A dry run unless --apply.
    """
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from caducee.relay.sweep import SweepReport, sweep_orphan_blobs
    from caducee.store import Database, S3Options, StoreError, open_blob_store

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    seconds = _duration(grace) if grace is not None else settings.blob_sweep_grace_seconds

    url = existing_database_url(settings)

    async def sweep() -> SweepReport:
        database = Database(url)
        try:
            blobs = open_blob_store(
                settings.resolved_blob_url,
                S3Options(
                    endpoint=settings.s3_endpoint,
                    region=settings.s3_region,
                    access_key_id=settings.s3_access_key_id,
                    secret_access_key=settings.s3_secret_access_key,
                    allow_http=settings.s3_allow_http,
                ),
            )
            return await sweep_orphan_blobs(
                database, blobs, grace=timedelta(seconds=seconds), apply=apply
            )
        finally:
            await database.close()

    try:
        report = asyncio.run(sweep())
    except ValueError as exc:
        console.print(f"[red]Refusé / refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    except StoreError as exc:
        console.print(f"[red]Échec / failed:[/red] {exc.reason}")
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        raise unreadable_database(exc) from exc
    console.print(
        f"Blobs examinés / scanned: {report.scanned} ({report.scanned_bytes} octets/bytes); "
        f"récents / fresh: {report.fresh}; référencés / referenced: {report.referenced}"
    )
    console.print(
        f"Orphelins / orphans: {report.orphans} ({report.orphan_bytes} octets/bytes); "
        f"supprimés / deleted: {report.deleted} ({report.deleted_bytes} octets/bytes)"
    )
    if report.foreign:
        console.print(f"Objets ignorés (pas des blobs) / ignored objects: {report.foreign}")
    if not apply:
        console.print(
            "Simulation : rien n'a été supprimé ; relancer avec --apply. / "
            "Dry run: nothing deleted; run again with --apply."
        )


from caducee.commands.instant_purge import purge_instant  # noqa: E402

app.command("purge-instant")(purge_instant)
