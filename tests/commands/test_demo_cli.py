"""``caducee demo``'s own words: a busy port stops it plainly, its output survives a log file,
and it says how to drive its agents from the command line."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from caducee.commands import demo
from tests.conftest import free_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something listens on (as the first demo's server would)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_port_in_use(busy_port: int) -> None:
    assert demo.port_in_use(busy_port)
    assert not demo.port_in_use(free_port())


def test_a_second_demo_stops_with_a_plain_message(tmp_path: Path, busy_port: int) -> None:
    result = CliRunner().invoke(
        demo.app, ["--dir", str(tmp_path / "demo"), "--port", str(busy_port), "--once"]
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert f"Le port {busy_port} est déjà utilisé" in result.output
    assert f"Port {busy_port} is already in use" in result.output and "--port" in result.output
    assert not (tmp_path / "demo").exists()  # nothing was started, nothing was created


def test_an_agents_busy_port_stops_it_too(tmp_path: Path, busy_port: int) -> None:
    server_port = busy_port - 2  # the busy one is the first GP's pages
    result = CliRunner().invoke(demo.app, ["--dir", str(tmp_path), "--port", str(server_port)])
    assert result.exit_code == 2 and f"Le port {busy_port} est déjà utilisé" in result.output


def _summary(directory: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    parties = demo._parties(8400)
    arrived = directory / "alice.imaginaire" / "inbox" / "20260102-030405_labo.demo_FICTIF.hpr"
    demo._summary("http://127.0.0.1:8400", parties, directory, arrived)
    return capsys.readouterr().out.splitlines()


def test_paths_are_never_broken_across_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / ("un-dossier-de-démonstration-au-nom-très-long-" + "x" * 60)
    lines = _summary(directory, capsys)  # captured: not a terminal, as in CI or a log
    for folder in ("labo.demo", "alice.imaginaire", "bruno.invente"):
        for box in ("outbox", "inbox"):
            assert any(str(directory / folder / box) in line for line in lines), lines
    assert any(f"{directory}/*.log" in line for line in lines)


def test_the_summary_says_how_to_use_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _summary(tmp_path, capsys)
    lab = tmp_path / "labo.demo"
    assert f"  caducee agent status --dir {lab}" in lines
    assert (
        f"  caducee agent send resultat.hpr --to alice.imaginaire@caducee.test --dir {lab}" in lines
    )
    assert f"  export CADUCEE_AGENT_PASSPHRASE={demo.DEMO_PASSPHRASE}" in lines
    assert any("CADUCEE_AGENT_DIR" in line for line in lines)
    assert any("démonstration seulement" in line for line in lines)
    console = f"{tmp_path / 'server' / 'operator_token'})"
    assert any("/console" in line and line.endswith(console) for line in lines)


def test_a_process_that_dies_at_start_shows_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "agent.log"
    with log.open("wb") as handle:
        dead = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; print('[Errno 98] address already in use'); sys.exit(1)",
            ],
            stdout=handle,
        )
    dead.wait()
    with pytest.raises(typer.Exit):
        demo._wait_for(f"http://127.0.0.1:{free_port()}/", dead, "un agent", log)
    out = capsys.readouterr().out
    assert "un agent n'a pas démarré / did not start" in out
    assert "  | [Errno 98] address already in use" in out  # the reason, without opening the log
