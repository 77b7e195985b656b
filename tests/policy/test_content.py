"""The content policy: every rule in STRICT and ADVISORY mode, names, JSON, receiving."""

import json

import pytest

from caducee.formats.convert import convert
from caducee.policy.content import (
    ContentPolicy,
    Mode,
    Part,
    ReceivedFlag,
    Rule,
    check_outgoing,
    classify_received,
    enforce_outgoing,
    unique_names,
)
from caducee.policy.errors import ContentRefused, InvalidPolicy, PolicyError
from tests.formats import synth
from tests.formats.equivalence import CORPUS

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HPRIM = synth.join(synth.hprim_lines())
NO_FIRST_NAME = synth.join([x if i != 2 else "" for i, x in enumerate(synth.hprim_lines())])


def policy(rule: Rule, mode: Mode, **limits: int) -> ContentPolicy:
    return ContentPolicy(**{rule.value.replace("-", "_"): mode}, **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["resultat.pdf", "resultat.txt", "resultat.hpr", "x"])
def test_pdf_alone_is_refused_whatever_its_name(name: str) -> None:
    verdict = check_outgoing([Part(name, PDF)], ContentPolicy(), about_patient=False)
    assert not verdict.accepted
    (finding,) = verdict.refusals
    assert finding.rule is Rule.PDF_ONLY and finding.mode is Mode.STRICT
    french, english = finding.message.split(" / ")
    assert "HPRIM" in french and "PDF" in french and "HPRIM" in english
    with pytest.raises(ContentRefused) as info:
        enforce_outgoing([Part(name, PDF)], ContentPolicy(), about_patient=False)
    assert isinstance(info.value, PolicyError) and info.value.findings == verdict.refusals


def test_pdf_alone_advisory_warns() -> None:
    verdict = check_outgoing(
        [Part("r.pdf", PDF)], policy(Rule.PDF_ONLY, Mode.ADVISORY), about_patient=False
    )
    assert verdict.accepted and [f.rule for f in verdict.warnings] == [Rule.PDF_ONLY]


def test_pdf_beside_hprim_is_fine() -> None:
    verdict = enforce_outgoing([Part("r.hpr", HPRIM), Part("r.pdf", PDF)], ContentPolicy())
    assert verdict.accepted and not verdict.warnings


def test_pdf_beside_hl7_or_fhir_is_fine() -> None:
    for target in ("hl7", "fhir"):
        structured = convert(HPRIM, target)
        parts = [Part("r.dat", structured), Part("r.pdf", PDF)]
        assert check_outgoing(parts, ContentPolicy(), about_patient=False).accepted


def test_hprim_renamed_pdf_is_not_taken_for_a_pdf() -> None:
    verdict = check_outgoing([Part("resultat.pdf", HPRIM)], ContentPolicy())
    assert verdict.accepted


@pytest.mark.parametrize("mode", list(Mode))
def test_patient_header(mode: Mode) -> None:
    rules = policy(Rule.PATIENT_HEADER, mode)
    for parts in ([Part("r.hpr", NO_FIRST_NAME)], [Part("note.txt", b"Bonjour")], []):
        verdict = check_outgoing(parts, rules, is_result=False)
        found = verdict.refusals if mode is Mode.STRICT else verdict.warnings
        assert [f.rule for f in found] == [Rule.PATIENT_HEADER]
    ok = check_outgoing([Part("r.hpr", HPRIM)], rules)
    assert ok.accepted and not ok.warnings
    assert check_outgoing([Part("n.txt", b"x")], rules, about_patient=False).accepted


def test_patient_header_from_hprim_sante() -> None:
    data = (CORPUS / "sante_ok_crlf.hpr").read_bytes()
    assert check_outgoing([Part("r.hpr", data)], ContentPolicy()).accepted


def test_unreadable_hprim_is_no_header() -> None:
    data = (CORPUS / "hprim_bad_dob.hpr").read_bytes()
    verdict = check_outgoing([Part("r.hpr", data)], ContentPolicy())
    assert [f.rule for f in verdict.refusals] == [Rule.PATIENT_HEADER]


@pytest.mark.parametrize("mode", list(Mode))
def test_part_size(mode: Mode) -> None:
    rules = policy(Rule.PART_SIZE, mode, max_part_bytes=len(HPRIM))
    parts = [Part("r.hpr", HPRIM), Part("big.bin", b"\0" * (len(HPRIM) + 1))]
    verdict = check_outgoing(parts, rules)
    found = verdict.refusals if mode is Mode.STRICT else verdict.warnings
    assert [(f.rule, f.part) for f in found] == [(Rule.PART_SIZE, "big.bin")]


@pytest.mark.parametrize("mode", list(Mode))
def test_message_size(mode: Mode) -> None:
    rules = policy(Rule.MESSAGE_SIZE, mode, max_message_bytes=len(HPRIM) + 10)
    parts = [Part("r.hpr", HPRIM), Part("a.txt", b"x" * 11)]
    verdict = check_outgoing(parts, rules)
    found = verdict.refusals if mode is Mode.STRICT else verdict.warnings
    assert [f.rule for f in found] == [Rule.MESSAGE_SIZE]
    assert check_outgoing(parts[:1], rules).accepted


def test_unique_names() -> None:
    names = ["resultat.pdf", "resultat.pdf", "RESULTAT.pdf", "resultat-2.pdf", "a", "a"]
    assert unique_names(names) == (
        "resultat.pdf", "resultat-2.pdf", "RESULTAT-3.pdf", "resultat-2-2.pdf", "a", "a-2"
    )  # fmt: skip
    assert unique_names(["../../etc/passwd", "C:\\x\\y.txt", "", ".."]) == (
        "passwd", "y.txt", "piece-jointe", "piece-jointe-2"
    )  # fmt: skip
    assert unique_names(["b.pdf", "b.pdf"]) == unique_names(["b.pdf", "b.pdf"])  # deterministic


def test_outgoing_parts_are_renamed() -> None:
    parts = [Part("r.hpr", HPRIM), Part("resultat.pdf", PDF), Part("resultat.pdf", PDF)]
    verdict = check_outgoing(parts, ContentPolicy())
    assert [p.name for p in verdict.parts] == ["r.hpr", "resultat.pdf", "resultat-2.pdf"]


def test_policy_json_round_trip() -> None:
    rules = ContentPolicy(pdf_only=Mode.ADVISORY, max_part_bytes=1000)
    text = rules.to_json()
    assert json.loads(text)["modes"]["pdf-only"] == "advisory"
    assert ContentPolicy.from_json(text) == rules
    assert ContentPolicy.from_json("{}") == ContentPolicy()
    assert (
        ContentPolicy.from_json(b'{"modes": {"part-size": "advisory"}}').part_size is Mode.ADVISORY
    )


@pytest.mark.parametrize(
    "text",
    [
        "nope", "[]", '{"modes": []}', '{"modes": {"pdf-only": "maybe"}}',
        '{"modes": {"no-such-rule": "strict"}}', '{"max_part_bytes": -1}',
        '{"max_part_bytes": true}', '{"other": 1}',
    ],
)  # fmt: skip
def test_policy_json_errors(text: str) -> None:
    with pytest.raises(InvalidPolicy):
        ContentPolicy.from_json(text)


def test_received_pdf_only_is_kept_and_flagged() -> None:
    verdict = classify_received([Part("resultat.txt", PDF)])
    assert verdict.flags == {ReceivedFlag.PDF_ONLY}
    assert verdict.parts == (Part("resultat.txt", PDF),) and verdict.kinds == ("pdf",)


def test_received_structured_results_are_extracted() -> None:
    sante = (CORPUS / "sante_ok_two_patients.hpr").read_bytes()
    parts = [Part("a.hpr", HPRIM), Part("b.hl7", convert(HPRIM, "hl7")), Part("c.hpr", sante),
             Part("d.json", convert(HPRIM, "fhir")), Part("r.pdf", PDF)]  # fmt: skip
    verdict = classify_received(parts)
    assert verdict.flags == {ReceivedFlag.STRUCTURED}
    assert len(verdict.documents) == 5
    assert verdict.kinds == ("hprim", "hl7v2", "hprim-sante", "fhir", "pdf")


def test_received_unreadable_and_empty() -> None:
    bad = (CORPUS / "hprim_bad_nir_key.hpr").read_bytes()
    verdict = classify_received([Part("x.hpr", bad), Part("x.hpr", PDF)])
    assert ReceivedFlag.UNREADABLE in verdict.flags and verdict.unreadable == (
        ("x.hpr", "invalid-nir"),
    )
    assert [p.name for p in verdict.parts] == ["x.hpr", "x-2.hpr"]
    assert classify_received([]).flags == {ReceivedFlag.EMPTY}
