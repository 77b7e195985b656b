"""The public surface is pinned, and no error or problem ever quotes patient content."""

import json
from pathlib import Path
from types import ModuleType

import pytest

from caducee.errors import CaduceeError
from caducee.formats import errors, hprim, hprim_sante, nir, sniff, text
from caducee.formats.hprim import validate_hprim
from caducee.formats.hprim_sante import validate_hprim_sante

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())

PUBLIC = {
    hprim: {"HPRIMDocument", "HPRIMHeader", "HPRIMResult", "HPRIMText", "parse_hprim",
            "to_hprim", "validate_hprim", "Problem", "Severity"},
    hprim_sante: {"HPRIMSanteMessage", "HPRIMSanteDelimiters", "HPRIMSanteRecord",
                  "HPRIMSantePatient", "HPRIMSanteOrder", "HPRIMSanteObservation",
                  "parse_hprim_sante", "validate_hprim_sante", "build_oru", "to_hprim_sante"},
    nir: {"NIR", "INSIdentity", "compute_nir_key", "parse_nir"},
    text: {"DecodedText", "decode_text", "normalise_newlines", "to_text"},
    sniff: {"FileKind", "sniff"},
    errors: {"FormatError", "TruncatedDocument", "MissingHeaderLine", "InvalidDate",
             "InvalidNIR", "MalformedResultLine", "UnknownEncoding"},
}  # fmt: skip


@pytest.mark.parametrize("module", list(PUBLIC), ids=lambda m: m.__name__)
def test_public_surface(module: ModuleType) -> None:
    assert PUBLIC[module] <= set(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name)


def test_error_tree() -> None:
    for cls in errors.ERRORS_BY_CODE.values():
        assert issubclass(cls, errors.FormatError)
        assert issubclass(cls, CaduceeError)
    assert len(set(errors.ERRORS_BY_CODE)) == len(errors.ERRORS_BY_CODE)


SECRETS = ["FICTIF", "ALICE", "EXEMPLAIRE", "BRUNO", "ESSAI", "PARIS", "MARTINOT", "1971"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_problems_quote_no_patient_content(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    validate = validate_hprim if EXPECTED[name]["kind"] == "hprim" else validate_hprim_sante
    for problem in validate(data):
        rendered = json.dumps(problem.to_dict(), ensure_ascii=False) + str(problem.to_error())
        assert not [s for s in SECRETS if s in rendered], (name, problem)
