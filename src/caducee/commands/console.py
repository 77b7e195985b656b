"""``caducee console``."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="console", no_args_is_help=True)
