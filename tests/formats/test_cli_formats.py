"""``caducee formats parse|validate`` through Typer's CliRunner."""

import json
from pathlib import Path

from typer.testing import CliRunner

from caducee.commands.formats import app
from tests.formats.synth import hprim_lines, join

CORPUS = Path(__file__).parent / "corpus"
runner = CliRunner()


def test_parse_hprim_as_json() -> None:
    result = runner.invoke(app, ["parse", str(CORPUS / "hprim_ok_three_documents.hpr")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "hprim"
    assert len(payload["documents"]) == 3
    first = payload["documents"][0]
    assert first["header"]["birth_date"] == "1971-04-03"
    assert first["lab"][0]["kind"] == "RES" and first["lab"][0]["code"] == "GLY"


def test_parse_hprim_sante_as_json() -> None:
    result = runner.invoke(app, ["parse", str(CORPUS / "sante_ok_two_patients.hpr")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "hprim-sante" and payload["message_type"] == "ORU"
    assert [p["last_name"] for p in payload["patients"]] == ["FICTIF", "EXEMPLAIRE"]


def test_parse_error_exits_1_with_position_only(tmp_path: Path) -> None:
    lines = hprim_lines()
    lines[6] = "SECRET-DATE"
    path = tmp_path / "x.hpr"
    path.write_bytes(join(lines))
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 1
    assert "line 7" in result.output and "birth_date" in result.output
    assert "SECRET" not in result.output


def test_validate_valid_file_exits_0() -> None:
    result = runner.invoke(app, ["validate", str(CORPUS / "hprim_ok_crlf.hpr")])
    assert result.exit_code == 0, result.output
    assert "Valide / valid" in result.output


def test_validate_lists_problems_and_exits_1() -> None:
    result = runner.invoke(app, ["validate", str(CORPUS / "hprim_bad_nir_key.hpr")])
    assert result.exit_code == 1
    assert "ERREUR/ERROR [invalid-nir] ligne/line 8, champ/field nir" in result.output
    assert "Invalide / invalid" in result.output


def test_validate_json_and_strict() -> None:
    path = str(CORPUS / "hprim_ok_padded_labels.hpr")
    result = runner.invoke(app, ["validate", "--json", path])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["valid"] is True
    assert {p["field"] for p in payload["problems"]} == {"label"}
    assert runner.invoke(app, ["validate", "--strict", path]).exit_code == 1


def test_validate_hprim_sante_and_forced_format() -> None:
    bad = CORPUS / "sante_bad_obx_first.hpr"
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1 and "OBX" in result.output
    result = runner.invoke(
        app, ["validate", "--format", "hprim-sante", str(CORPUS / "sante_bad_no_h.hpr")]
    )
    assert result.exit_code == 1 and "invalid-delimiters" in result.output


def test_unrecognised_file(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 1
    assert "png" in result.output and "--format" in result.output
