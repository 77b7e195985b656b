"""The one ``caducee`` command: every part adds its sub-command here."""

from __future__ import annotations

import typer

from caducee import __version__
from caducee.commands import agent, console, demo, formats, ledger, prescriptions, server, smime

__all__ = ["app"]

app = typer.Typer(
    help="Caducée : messagerie sécurisée de santé. / Secure health messaging.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print keys or content in a traceback
)
app.add_typer(server.app, name="server")
app.add_typer(smime.app, name="smime")
app.add_typer(formats.app, name="formats")
app.add_typer(agent.app, name="agent")
app.add_typer(demo.app, name="demo")
app.add_typer(ledger.app, name="ledger")
app.add_typer(prescriptions.app, name="prescriptions")
app.add_typer(console.app, name="console")
app.command("verify")(ledger.verify_command)


@app.command()
def version() -> None:
    """Afficher la version. / Print the version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
