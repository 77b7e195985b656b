"""``caducee formats convert`` through Typer's CliRunner."""

import json
from pathlib import Path

from typer.testing import CliRunner

from caducee.commands.formats import app
from tests.formats.equivalence import CORPUS

runner = CliRunner()


def test_convert_to_fhir_on_stdout() -> None:
    result = runner.invoke(app, ["convert", str(CORPUS / "hprim_ok_flags.hpr"), "--to", "fhir"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resourceType"] == "Bundle"


def test_convert_to_hl7_into_a_new_file(tmp_path: Path) -> None:
    out = tmp_path / "out.hl7"
    args = ["convert", str(CORPUS / "sante_ok_crlf.hpr"), "--to", "hl7", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"MSH|^~\\&|")
    again = runner.invoke(app, args)  # never overwrites
    assert again.exit_code == 1 and "existe" in again.output


def test_convert_back_to_hprim(tmp_path: Path) -> None:
    fhir = tmp_path / "r.json"
    first = runner.invoke(app, ["convert", str(CORPUS / "hprim_ok_lf.hpr"), "--to", "fhir"])
    fhir.write_text(first.stdout)
    result = runner.invoke(app, ["convert", str(fhir), "--to", "hprim"])
    assert result.exit_code == 0, result.output
    assert "****FINFICHIER****" in result.stdout


def test_convert_bad_file_names_the_field() -> None:
    result = runner.invoke(app, ["convert", str(CORPUS / "hprim_bad_dob.hpr"), "--to", "hl7"])
    assert result.exit_code == 1
    assert "invalid-date" in result.output and "birth_date" in result.output
    assert "FICTIF" not in result.output


def test_convert_refuses_an_unknown_target() -> None:
    result = runner.invoke(app, ["convert", str(CORPUS / "hprim_ok_lf.hpr"), "--to", "pdf"])
    assert result.exit_code != 0
