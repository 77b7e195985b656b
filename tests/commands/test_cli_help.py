"""Every ``caducee`` command answers ``--help`` with a French-first description."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from caducee.cli import app


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            paths.extend(_paths(sub, (*prefix, name)))
    return paths


def test_every_command_has_help() -> None:
    root = typer.main.get_command(app)
    paths = _paths(root)
    assert ("smime", "verify") in paths and ("server", "init") in paths
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output
        command: Any = root
        for name in path:
            command = command.commands[name]
        assert command.help, f"caducee {' '.join(path)} has no help text"
