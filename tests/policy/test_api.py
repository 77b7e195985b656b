"""The public surface of the conversion and policy modules, and their error trees."""

from types import ModuleType

import pytest

from caducee.errors import CaduceeError
from caducee.formats import convert, errors, fhir, hl7v2, results_table
from caducee.policy import content, matching
from caducee.policy import errors as policy_errors

PUBLIC = {
    hl7v2: {"to_hl7v2", "parse_hl7v2", "hl7_escape", "INS_NIR_OID"},
    fhir: {"to_fhir_bundle", "to_fhir_json", "parse_fhir", "check_codes", "NIR_SYSTEM"},
    convert: {"convert", "read_documents", "sante_documents", "TARGETS"},
    results_table: {"ResultRow", "results_table"},
    content: {"ContentPolicy", "Mode", "Rule", "Part", "check_outgoing", "enforce_outgoing",
              "classify_received", "ReceivedVerdict", "unique_names"},
    matching: {"MatchResult", "MatchStatus", "match_patient", "parse_patient_list"},
    policy_errors: {"PolicyError", "ContentRefused", "InvalidPolicy", "InvalidPatientList"},
}  # fmt: skip


@pytest.mark.parametrize("module", list(PUBLIC), ids=lambda m: m.__name__)
def test_public_surface(module: ModuleType) -> None:
    assert PUBLIC[module] <= set(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name)


def test_error_trees() -> None:
    for name in ("MalformedMessage", "UnsupportedMessage", "InvalidCode"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.FormatError) and name in errors.__all__
        assert errors.ERRORS_BY_CODE[cls.code] is cls
    for name in policy_errors.__all__:
        assert issubclass(getattr(policy_errors, name), CaduceeError)
