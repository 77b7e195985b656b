"""``caducee agent``: a bad file or a wrong folder is one bilingual line and status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from caducee.commands.agent import app

GP = "dr.testeur@caducee.test"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_sending_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "n'existe-pas" / ("resultat-" + "x" * 80 + ".hpr")  # a long path
    code, output = _run("send", str(missing), "--to", GP, "--dir", str(tmp_path))
    line = _one_line(output)
    assert code == 2
    assert line.startswith("Échec / failed (file-not-found): Fichier introuvable / file not found")
    assert str(missing) in line


def test_sending_a_folder_is_one_line(tmp_path: Path) -> None:
    code, output = _run("send", str(tmp_path), "--to", GP, "--dir", str(tmp_path))
    line = _one_line(output)
    assert code == 2 and "(not-a-file)" in line
    assert "pas un fichier" in line and "not a file" in line


def test_sending_an_unreadable_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "protege.hpr"
    secret.write_bytes(b"contenu fictif")

    def refused(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refused)  # the tests may run as root
    code, output = _run("send", str(secret), "--to", GP, "--dir", str(tmp_path))
    line = _one_line(output)
    assert code == 2 and "(file-unreadable)" in line
    assert "droits insuffisants" in line and "permission denied" in line


def test_a_folder_that_is_no_agent_says_how_to_name_the_right_one(tmp_path: Path) -> None:
    code, output = _run("status", "--dir", str(tmp_path))
    line = _one_line(output)
    assert code == 2 and "(agent-config)" in line
    french, _, english = line.partition("): ")[2].partition(". / ")
    assert "n'est pas un dossier d'agent" in french and "--dir" in french
    assert "is not an agent folder" in english and "--dir" in english
    assert "caducee agent init" in english


def test_a_missing_file_is_reported_before_the_folder_is_read(tmp_path: Path) -> None:
    code, output = _run("send", str(tmp_path / "absent.hpr"), "--to", GP, "--dir", str(tmp_path))
    assert code == 2 and "(file-not-found)" in _one_line(output)
