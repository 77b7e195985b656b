"""``caducee server``: initialise a deployment and run the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from caducee.config import load_settings
from caducee.errors import CaduceeError
from caducee.store import upgrade_database

__all__ = ["app"]

app = typer.Typer(
    help="Serveur Caducée : initialiser un déploiement, le lancer. / Set up and run the server.",
    no_args_is_help=True,
)
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données / data folder (défaut: ./var)."),
]


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
        settings.data_dir.mkdir(parents=True, exist_ok=True)
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

    from caducee.server import create_app
    from caducee.server.fast_submit import SubmissionFastPath

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
        log_level="info",
        access_log=False,
        http="auto",
        loop="auto",
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(uvicorn.Server(config).serve())
    else:
        uvloop.run(uvicorn.Server(config).serve())
