"""``caducee agent cases``: the person's MISS cases in a terminal (list, show).

The same client as the local pages (:class:`caducee.agent.instant.InstantClient`): the
workstation's device is made and registered on first use, each case is replayed and
decrypted here, in memory; nothing of a case is written to disk. Reading a case here posts
no read receipt (the pages do, when the person opens a case).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import AgentError
from caducee.agent.keystore import load_key
from caducee.crypto.errors import CryptoError

__all__ = ["cases_app"]

cases_app = typer.Typer(
    help="Mes conversations MISS sur ce poste / my MISS cases on this workstation.",
    no_args_is_help=True,
)
console = Console(stderr=True)
AgentDir = Annotated[
    Path,
    typer.Option("--dir", envvar="CADUCEE_AGENT_DIR", help="Dossier de l'agent / agent folder."),
]
DEFAULT_DIR = Path("agent")


@contextmanager
def _client(directory: Path) -> Iterator[tuple[AgentConfig, ServerClient]]:
    """The agent's client; a Caducée error is one line and exit status 2."""
    try:
        config = AgentConfig.load(directory)
        credentials = Credentials(config.address, config.serial_hex, load_key(config))
        with ServerClient(config.server, credentials) as client:
            yield config, client
    except (AgentError, CryptoError) as exc:
        console.print(f"[red]Échec / failed[/red] ({exc.code}): {exc.reason}")
        raise typer.Exit(2) from None


@cases_app.command("list")
def cases_list(directory: AgentDir = DEFAULT_DIR) -> None:
    """Mes conversations : patient, participants, non lus. / My cases."""
    from caducee.agent.instant import InstantClient

    with _client(directory) as (config, client):
        instant = InstantClient.open(config, client)
        for listed in instant.cases():
            state = instant.case(str(listed["case_id"]))
            state.sync()
            patient = state.patient()
            others = ", ".join(a for a in listed["participants"] if a != instant.address)
            name = patient.name if patient is not None else "—"
            typer.echo(f"{state.case_id}\t{name}\t{others}\tnon lus / unread: {state.unread()}")


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="Identifiant / case id.")],
    directory: AgentDir = DEFAULT_DIR,
) -> None:
    """Une conversation, déchiffrée ici (comme l'export). / One case, decrypted here."""
    from caducee.agent.instant import InstantClient
    from caducee.agent.instant.export import transcript
    from caducee.agent.instant.timeline import fold

    with _client(directory) as (config, client):
        instant = InstantClient.open(config, client)
        state = instant.case(case_id)
        state.sync()
        state.refresh()
        text = transcript(
            state,
            fold(state.entries, instant.address),
            exported_by=instant.address,
            at=datetime.now(UTC),
        )
        typer.echo(text.replace("\r\n", "\n"), nl=False)
