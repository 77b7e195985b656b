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


# Typer's own options, English only; not ours to word.
_TYPERS_OWN = {"install_completion", "show_completion", "help"}


def _language_neutral(text: str) -> bool:
    """Value lists, file names and acronyms ("aes256-gcm, pkcs1", "CIS_bdpm.txt", "PIN")."""
    words = text.replace(",", " ").split()
    return all(any(c.isdigit() or c in "._" for c in w) or w.isupper() for w in words)


def test_every_command_and_option_speaks_french_then_english() -> None:
    """French first, with English: a command's help has its English paragraph (or a
    ``français / English`` line); an option's help has both halves of its line."""
    root = typer.main.get_command(app)
    monolingual = []
    for path in _paths(root):
        command: Any = root
        for name in path:
            command = command.commands[name]
        text = (command.help or "").strip()
        if path and " / " not in text.split("\n\n")[0] and "\n\n" not in text:
            monolingual.append(f"caducee {' '.join(path)}: {text[:60]}")
        for param in command.params:
            wording = getattr(param, "help", None)
            if param.name in _TYPERS_OWN or not wording or _language_neutral(wording):
                continue
            if " / " not in wording:
                monolingual.append(f"caducee {' '.join(path)} --{param.name}: {wording[:60]}")
    assert monolingual == []
