"""``caducee agent send --to``: a result addressed to someone else on HPRIM line 12 is said
so, and sent only when the person confirms."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from caducee.commands.agent import app
from tests.agent.helpers import hprim_file

ADDRESSEE = "dr.destinataire@caducee.test"
OTHER = "dr.autre@caducee.test"


def _send(tmp_path: Path, *options: str, answer: str = "") -> tuple[int, str]:
    result = tmp_path / "resultat.hpr"
    result.write_bytes(hprim_file(ADDRESSEE, [("FICTIF", "ALICE")]))
    run = CliRunner().invoke(
        app, ["send", str(result), *options, "--dir", str(tmp_path / "agent")], input=answer
    )
    assert run.exception is None or isinstance(run.exception, SystemExit), run.exception
    return run.exit_code, run.output


def test_a_result_for_another_doctor_is_not_sent_without_a_yes(tmp_path: Path) -> None:
    code, output = _send(tmp_path, "--to", OTHER, answer="n\n")
    assert code == 2
    assert f"adressé (ligne 12) à {ADDRESSEE}" in output and OTHER in output
    assert "addressed (line 12)" in output
    assert "Rien n'a été envoyé. / Nothing was sent." in output
    assert "(agent-config)" not in output  # stopped before the agent was even opened


def test_confirming_goes_on(tmp_path: Path) -> None:
    """With a yes (asked or --yes) the send goes on: here it meets the missing agent folder."""
    for options, answer in ((("--to", OTHER), "y\n"), (("--to", OTHER, "--yes"), "")):
        code, output = _send(tmp_path, *options, answer=answer)
        assert "adressé (ligne 12)" in output and "(agent-config)" in output, output
        assert code == 2


def test_the_addressee_among_the_recipients_is_not_asked_about(tmp_path: Path) -> None:
    code, output = _send(tmp_path, "--to", ADDRESSEE.upper(), "--to", OTHER)
    assert "ligne 12" not in output and "(agent-config)" in output
    assert code == 2
