"""HPRIM → FHIR R4B Bundle → HPRIM; our value-set checks; only FormatError escapes."""

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.errors import (
    FormatError,
    InvalidCode,
    InvalidNIR,
    MalformedMessage,
    MissingField,
    UnsupportedMessage,
)
from caducee.formats.fhir import (
    INTERPRETATION_SYSTEM,
    NIR_SYSTEM,
    parse_fhir,
    to_fhir_bundle,
    to_fhir_json,
)
from caducee.formats.hprim import HPRIMDocument, HPRIMResult, parse_hprim
from tests.formats import synth
from tests.formats.equivalence import OK_HPRIM, assert_same
from tests.formats.test_properties import documents


def _resources(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in payload["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("path", OK_HPRIM, ids=lambda p: p.name)
def test_corpus_round_trip(path: Path) -> None:
    docs = parse_hprim(path.read_bytes())
    back = parse_fhir(to_fhir_json(docs))
    assert len(back) == len(docs)
    for a, b in zip(docs, back, strict=True):
        assert_same(a, b, numeric=True)
        assert a.header == b.header
        assert (a.text, a.lab_text) == (b.text, b.lab_text)


def test_bundle_content() -> None:
    payload = json.loads(to_fhir_json(synth.document()))
    assert payload["resourceType"] == "Bundle" and payload["type"] == "collection"
    (patient,) = _resources(payload, "Patient")
    assert patient["gender"] == "female" and patient["birthDate"] == "1980-05-17"
    assert patient["name"] == [{"family": "FICTIF", "given": ["ALICE"]}]
    assert {"system": NIR_SYSTEM, "value": synth.header().nir} in patient["identifier"]
    assert NIR_SYSTEM == "urn:oid:1.2.250.1.213.1.4.8"
    (report,) = _resources(payload, "DiagnosticReport")
    assert report["status"] == "final" and report["issued"].startswith("2025-01-02T00:00:00")
    assert report["code"]["coding"][0]["code"] == "11502-2"
    urls = {e["fullUrl"] for e in payload["entry"]}
    assert report["subject"]["reference"] in urls
    assert all(r["reference"] in urls for r in report["result"])
    glucose, ige = _resources(payload, "Observation")
    assert glucose["valueQuantity"] == {
        "value": 0.95, "unit": "g/l", "system": "http://unitsofmeasure.org", "code": "g/L"
    }  # fmt: skip
    assert glucose["referenceRange"] == [
        {"low": {"value": 0.7, "unit": "g/l", "system": "http://unitsofmeasure.org",
                 "code": "g/L"},
         "high": {"value": 1.1, "unit": "g/l", "system": "http://unitsofmeasure.org",
                  "code": "g/L"}}
    ]  # fmt: skip
    coding = glucose["interpretation"][0]["coding"][0]
    assert coding == {"system": INTERPRETATION_SYSTEM, "code": "N"}
    assert ige["code"]["coding"][0]["code"] == "IGET 005" and "valueQuantity" not in ige


def test_values_strings_comparators_and_text_ranges() -> None:
    lab = (
        HPRIMResult("A", "A", "N", "<0.013", "mg/l", "", "0.05", "L"),
        HPRIMResult("B", "B", "A", "POSITIF", "", "NEGATIF", "", "H"),
        HPRIMResult("C", "C", "N", "12", "zz/l", ">10", "", ""),
    )
    payload = json.loads(to_fhir_json(replace(synth.document(), lab=lab)))
    a, b, c = _resources(payload, "Observation")
    assert a["valueQuantity"]["comparator"] == "<" and "code" in a["valueQuantity"]
    assert a["referenceRange"] == [{"high": a["referenceRange"][0]["high"]}]
    assert b["valueString"] == "POSITIF" and b["referenceRange"] == [{"text": "NEGATIF-"}]
    assert "code" not in c["valueQuantity"]  # no obvious UCUM for zz/l
    assert c["referenceRange"] == [{"text": ">10-"}]
    back = parse_fhir(json.dumps(payload)).pop().results
    assert [(r.value, r.low, r.high, r.flag) for r in back] == [
        ("<0.013", "", "0.05", "L"), ("POSITIF", "NEGATIF", "", "H"), ("12", ">10", "", "")
    ]  # fmt: skip


@pytest.mark.parametrize("flag", ["L", "H", "LL", "HH", "N"])
def test_interpretation_codes(flag: str) -> None:
    doc = replace(synth.document(), lab=(HPRIMResult("K", "K", "N", "5", flag=flag),))
    assert parse_fhir(to_fhir_json(doc))[0].results[0].flag == flag


def test_transaction_bundle() -> None:
    bundle = to_fhir_bundle(synth.document(), bundle_type="transaction")
    assert bundle.type == "transaction"
    assert all(e.request is not None and e.request.method == "POST" for e in bundle.entry or [])


def _mutate(path: str, value: object) -> bytes:
    payload = json.loads(to_fhir_json(synth.document()))
    kind, key = path.split(".")
    _resources(payload, kind)[0][key] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("Patient.gender", "xx", InvalidCode),
        ("Observation.status", "done", InvalidCode),
        ("DiagnosticReport.status", "ok", InvalidCode),
        ("Observation.interpretation",
         [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": "Z"}]}], InvalidCode),
        ("Observation.interpretation", [{"coding": [{"system": "urn:x", "code": "H"}]}],
         InvalidCode),
        ("Patient.identifier", [{"system": NIR_SYSTEM, "value": "280057505601299"}], InvalidNIR),
        ("Patient.birthDate", "1980-13-01", MalformedMessage),
        ("Patient.name", [{"given": ["X"]}], MissingField),
    ],
)  # fmt: skip
def test_value_sets_are_enforced(path: str, value: object, error: type[FormatError]) -> None:
    with pytest.raises(error) as info:
        parse_fhir(_mutate(path, value))
    assert "FICTIF" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"not json", MalformedMessage),
        (b"[]", UnsupportedMessage),
        (b'{"resourceType": "Patient"}', UnsupportedMessage),
        (b'{"resourceType": "Bundle", "type": "collection"}', MissingField),
        (b'{"resourceType": "Bundle", "type": "searchset"}', InvalidCode),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": 3}', MalformedMessage),
    ],
)
def test_bad_bundles(data: bytes, error: type[FormatError]) -> None:
    with pytest.raises(error):
        parse_fhir(data)


@settings(max_examples=30, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=2))
def test_generated_round_trip(docs: list[HPRIMDocument]) -> None:
    docs = [
        replace(d, lab=tuple(
            replace(x, **{k: getattr(x, k).replace("-", "").strip()
                          for k in ("low", "high", "low2", "high2")})
            if isinstance(x, HPRIMResult) else x for x in d.lab))
        for d in docs
    ]  # fmt: skip
    back = parse_fhir(to_fhir_json(docs))
    for a, b in zip(docs, back, strict=True):
        assert_same(a, b, numeric=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10,
)  # fmt: skip
VALID: dict[str, Any] = json.loads(to_fhir_json(synth.document()))


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from(["resourceType", "type", "entry", "x"]))
def test_fuzz_random_json(value: object, key: str) -> None:
    for payload in (value, {"resourceType": "Bundle", key: value}):
        with contextlib.suppress(FormatError):
            parse_fhir(json.dumps(payload))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mutated_bundle(data: st.DataObject) -> None:
    payload = json.loads(json.dumps(VALID))
    entry = data.draw(st.sampled_from(payload["entry"]))["resource"]
    key = data.draw(st.sampled_from(sorted(entry)))
    entry[key] = data.draw(json_values)
    with contextlib.suppress(FormatError):
        parse_fhir(json.dumps(payload))
    raw = json.dumps(VALID)
    at = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(FormatError):
        parse_fhir(raw[:at] + data.draw(st.sampled_from(["", "}", "{", '"', ",", "[1]"])))


def test_second_unit_is_a_component() -> None:
    result = HPRIMResult("CREA", "CREA", "N", "8.3", "mg/l", "6", "11", "N", "F",
                         "73.5", "umol/l", "53.1", "97.4")  # fmt: skip
    payload = json.loads(to_fhir_json(replace(synth.document(), lab=(result,))))
    (obs,) = _resources(payload, "Observation")
    (component,) = obs["component"]
    assert component["valueQuantity"]["code"] == "umol/L"
    assert component["referenceRange"][0]["low"]["value"] == 53.1
    assert parse_fhir(json.dumps(payload))[0].results == (result,)
