"""The pure core: identifiers, codes, dosages, bundles, paper codes, states, card, receipts.

python-stdnum (a dev dependency) is the independent oracle for EAN-13, the NIR key and
ISO 7064 MOD 97-10; gematik's published PrescriptionIds are the vectors for the id.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean
from stdnum.fr import nir as stdnum_nir
from stdnum.iso7064 import mod_97_10

from caducee.pki import CertificateAuthority
from caducee.prescriptions import (
    Action,
    CardExpired,
    CardRejected,
    CardUntrusted,
    CardVerifier,
    Dosage,
    DrugCodeKind,
    ImplausibleDosage,
    InvalidDrugCode,
    InvalidPaperCode,
    InvalidPrescription,
    InvalidPrescriptionId,
    PaperCode,
    PrescriptionError,
    PrescriptionLine,
    ReceiptInvalid,
    TaskStatus,
    TransitionRefused,
    build_bundle,
    card_challenge_data,
    ean13_check_digit,
    issue_card_certificate,
    new_prescription_id,
    next_status,
    paper_code_payload,
    parse_bundle,
    parse_drug_code,
    parse_paper_code,
    parse_prescription_id,
    sign_card_challenge,
    to_qr_svg,
    verify_receipt,
)
from caducee.prescriptions.receipt import RECEIPT_VERSION, sign_receipt
from tests.prescriptions.helpers import NIR_LEA, NIR_OTHER, PARACETAMOL

digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


# -- identifiers ----------------------------------------------------------------------------


@given(digits)
def test_ean13_agrees_with_stdnum(first12: str) -> None:
    code = first12 + ean13_check_digit(first12)
    assert ean.is_valid(code)
    assert ean.calc_check_digit(first12) == code[-1]


@given(st.sampled_from(["34009", "34008"]), st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_cip13_and_ucd13_keys(prefix: str, middle: str) -> None:
    body = prefix + middle
    good = body + ean13_check_digit(body)
    code = parse_drug_code(good)
    assert code.kind is (DrugCodeKind.CIP13 if prefix == "34009" else DrugCodeKind.UCD13)
    wrong = body + str((int(good[-1]) + 1) % 10)
    with pytest.raises(InvalidDrugCode, match="EAN-13"):
        parse_drug_code(wrong)


def test_drug_code_vectors() -> None:
    assert parse_drug_code("3400930116791").kind is DrugCodeKind.CIP13  # stdnum doc, reference §1
    assert parse_drug_code("3400891846515").kind is DrugCodeKind.UCD13  # ANS IG example
    assert parse_drug_code("3400892669236").kind is DrugCodeKind.UCD13
    for bad, why in (
        ("4006381333931", "prefix"),  # a valid EAN-13 that is no drug
        ("340093011679", "13 digits"),
        ("34009301167912", "13 digits"),
        ("3400930116792", "EAN-13"),
    ):
        with pytest.raises(InvalidDrugCode, match=why):
            parse_drug_code(bad)
    with pytest.raises(InvalidDrugCode, match="system"):
        parse_drug_code("3400930116791", system="http://data.esante.gouv.fr/ansm/medicament/UCD")


def test_synthetic_nirs_are_valid_for_stdnum() -> None:
    for value in (NIR_LEA, NIR_OTHER):
        assert stdnum_nir.is_valid(value)


def test_prescription_id_vectors() -> None:
    # gematik's published ids (reference §1.2): valid for stdnum and for us.
    for real in ("160.123.456.789.123.58", "169.000.000.230.349.46"):
        assert mod_97_10.is_valid(real.replace(".", ""))
        assert parse_prescription_id(real) == real
    with pytest.raises(InvalidPrescriptionId, match="check"):
        parse_prescription_id("160.000.000.000.000.01")  # the docs' placeholder
    assert parse_prescription_id("160 123 456 789 123 58") == "160.123.456.789.123.58"


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_new_ids_are_mod97_valid(sequence: int) -> None:
    pid = new_prescription_id(sequence=sequence)
    assert mod_97_10.is_valid(pid.replace(".", ""))
    assert parse_prescription_id(pid) == pid


@given(st.integers(min_value=0, max_value=10**12 - 1), st.integers(0, 16), st.integers(1, 9))
def test_a_mistyped_digit_is_caught(sequence: int, position: int, delta: int) -> None:
    compact = new_prescription_id(sequence=sequence).replace(".", "")
    typo = compact[:position] + str((int(compact[position]) + delta) % 10) + compact[position + 1 :]
    with pytest.raises(InvalidPrescriptionId):
        parse_prescription_id(typo)


@given(st.text(max_size=60))
def test_prescription_id_parser_never_crashes(text: str) -> None:
    try:
        parsed = parse_prescription_id(text)
    except InvalidPrescriptionId:
        return
    assert mod_97_10.is_valid(parsed.replace(".", ""))


# -- dosages --------------------------------------------------------------------------------


def test_plausible_and_impossible_dosages() -> None:
    d = Dosage.checked("0,5", "comprimé", 2, "d", 10)
    assert d.amount == Decimal("0.5")
    assert d.text_fr() == "0,5 comprimé 2 fois par jour pendant 10 jours"
    assert d.text_en() == "0.5 comprimé 2 time(s) a day for 10 day(s)"
    for args, why in (
        (("0", "comprimé", 1, "d", 5), "positive"),
        (("1000", "comprimé", 1, "d", 5), "par prise"),
        (("5", "comprimé", 10, "d", 5), "quotidienne"),
        (("1", "comprimé", 2, "h", 5), "heure"),
        (("1", "comprimé", 1, "d", 0), "durée"),
        (("1", "comprimé", 1, "d", 400), "durée"),
        (("1", "seau", 1, "d", 5), "unité"),
        (("1", "comprimé", 1, "month", 5), "période"),
        (("abc", "comprimé", 1, "d", 5), "nombre"),
        (("1.0001", "mL", 1, "d", 5), "décimales"),
        (("NaN", "mL", 1, "d", 5), "positive"),
    ):
        with pytest.raises(ImplausibleDosage, match=why):
            Dosage.checked(*args)  # type: ignore[arg-type]


# -- bundles --------------------------------------------------------------------------------


def _lines() -> list[PrescriptionLine]:
    return [
        PrescriptionLine(
            Dosage.checked("1", "comprimé", 3, "d", 5), 2, drug=parse_drug_code(PARACETAMOL)
        ),
        PrescriptionLine(Dosage.checked("2", "goutte", 3, "d", 10), 1, preparation="Gouttes X"),
    ]


def _bundle(**kw: object) -> bytes:
    fields: dict[str, object] = {
        "prescription_id": "160.123.456.789.123.58",
        "nir": NIR_LEA,
        "patient_family": "IMAGINAIRE",
        "patient_given": "Léa",
        "birth_date": dt.date(1953, 7, 14),
        "gender": "female",
        "rpps": "10000000017",
        "prescriber_name": "Dr Claire MARTIN",
        "authored_on": dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
        "lines": _lines(),
    }
    fields.update(kw)
    return build_bundle(**fields)  # type: ignore[arg-type]


def test_bundle_round_trip_and_fhir_shape() -> None:
    data = _bundle()
    document = json.loads(data)
    kinds = [e["resource"]["resourceType"] for e in document["entry"]]
    assert kinds == [
        "Composition",
        "Patient",
        "Practitioner",
        "MedicationRequest",
        "MedicationRequest",
    ]
    patient = document["entry"][1]["resource"]
    assert patient["identifier"] == [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": NIR_LEA}]
    read = parse_bundle(data)
    assert read.prescription_id == "160.123.456.789.123.58"
    assert read.nir == NIR_LEA and read.rpps == "10000000017"
    assert read.lines == tuple(_lines())


def test_bundle_builder_refuses_bad_input() -> None:
    with pytest.raises(PrescriptionError):
        _bundle(nir="253072B07300471")  # wrong NIR key
    with pytest.raises(InvalidPrescription):
        _bundle(lines=[])
    with pytest.raises(InvalidPrescription):
        PrescriptionLine(Dosage.checked("1", "comprimé", 1, "d", 1), 1)  # no code, no text
    with pytest.raises(InvalidPrescription):
        PrescriptionLine(Dosage.checked("1", "comprimé", 1, "d", 1), 0, preparation="abc")


def _json_values() -> st.SearchStrategy[object]:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=20,
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_bundle_parser_fuzz_bytes(data: bytes) -> None:
    with pytest.raises(InvalidPrescription):
        parse_bundle(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_bundle_parser_mutations(data: st.DataObject) -> None:
    """Replace one value anywhere in a valid bundle: either still valid, or a clear refusal."""
    document = json.loads(_bundle())
    paths: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                paths.append((node, index))
                walk(value)

    walk(document)
    parent, key = data.draw(st.sampled_from(paths))
    parent[key] = data.draw(_json_values())  # type: ignore[index]
    try:
        read = parse_bundle(json.dumps(document).encode())
    except PrescriptionError as exc:
        assert exc.reason and exc.code
        return
    assert read.lines  # whatever survived is still a checked prescription


def test_a_nested_resource_without_a_type_is_a_clear_refusal() -> None:
    """fhir.resources raises KeyError on an empty nested resourceType (found by the test
    above): it must be a refusal like any other invalid FHIR."""
    document = json.loads(_bundle())
    for entry in document["entry"]:
        entry["resource"]["resourceType"] = ""
    with pytest.raises(InvalidPrescription):
        parse_bundle(json.dumps(document).encode())


# -- paper code -----------------------------------------------------------------------------


def test_paper_code_round_trip_and_qr() -> None:
    code = PaperCode("160.123.456.789.123.58", "ab" * 32)
    payload = paper_code_payload(code)
    assert payload == '{"urls":["Task/160.123.456.789.123.58/$accept?ac=' + "ab" * 32 + '"]}'
    assert parse_paper_code(payload) == [code]
    assert parse_paper_code(payload.encode()) == [code]
    svg = to_qr_svg(payload)
    assert svg.startswith("<svg") and "<title>Ordonnance</title>" in svg


@pytest.mark.parametrize(
    "scanned",
    [
        '{"urls":["Task/160.123.456.789.123.59/$accept?ac=' + "ab" * 32 + '"]}',  # bad check
        '{"urls":["Task/160.123.456.789.123.58/$accept?ac=' + "AB" * 32 + '"]}',
        '{"urls":["Task/160.123.456.789.123.58/$accept?ac=x\'; DROP TABLE rx_task;--"]}',
        '{"urls":["<script>alert(1)</script>"]}',
        '{"urls":[]}',
        '{"urls":"Task/x"}',
        '{"urls":["a"],"x":1}',
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "x" * 2000,
        "",
    ],
)
def test_paper_code_refuses_injections(scanned: str) -> None:
    with pytest.raises(InvalidPaperCode):
        parse_paper_code(scanned)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_paper_code_parser_fuzz(scanned: str | bytes) -> None:
    try:
        codes = parse_paper_code(scanned)
    except InvalidPaperCode:
        return
    for code in codes:
        assert parse_prescription_id(code.prescription_id) == code.prescription_id


# -- states ---------------------------------------------------------------------------------


def test_state_machine() -> None:
    s = TaskStatus
    assert next_status(s.DRAFT, Action.ACTIVATE) is s.READY
    assert next_status(s.READY, Action.ACCEPT) is s.IN_PROGRESS
    assert next_status(s.IN_PROGRESS, Action.REJECT) is s.READY
    assert next_status(s.IN_PROGRESS, Action.CLOSE) is s.COMPLETED
    assert next_status(s.READY, Action.ABORT) is s.CANCELLED
    for status, action in (
        (s.DRAFT, Action.ACCEPT),
        (s.READY, Action.CLOSE),
        (s.IN_PROGRESS, Action.ABORT),
        (s.COMPLETED, Action.ACCEPT),
        (s.CANCELLED, Action.ACTIVATE),
        (s.COMPLETED, Action.EXPIRE),
    ):
        with pytest.raises(TransitionRefused) as refused:
            next_status(status, action)
        assert refused.value.status == status.value


# -- card and receipt -----------------------------------------------------------------------


def test_card_verifier(card_ca: CertificateAuthority, rogue_ca: CertificateAuthority) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    der = issue_card_certificate(card_ca, key.public_key(), NIR_LEA).public_bytes(Encoding.DER)
    verifier = CardVerifier([card_ca.certificate])
    signature = sign_card_challenge(key, "n" * 64, "pharmacie@x.test")
    holder = verifier.verify(
        der, signature, card_challenge_data("n" * 64, "pharmacie@x.test"), at=now
    )
    assert holder.nir == NIR_LEA
    with pytest.raises(CardRejected):
        verifier.verify(der, signature, card_challenge_data("n" * 64, "autre@x.test"), at=now)
    with pytest.raises(CardExpired):
        verifier.verify(
            der, signature, card_challenge_data("n" * 64, "p"), at=now + dt.timedelta(days=2000)
        )
    with pytest.raises(CardUntrusted):
        CardVerifier([rogue_ca.certificate]).verify(der, signature, b"", at=now)
    with pytest.raises(CardUntrusted):
        CardVerifier([]).verify(der, signature, b"", at=now)


def test_receipt_signature() -> None:
    key = Ed25519PrivateKey.generate()
    body = {
        "v": RECEIPT_VERSION,
        "prescription_id": "160.123.456.789.123.58",
        "pharmacy": "pharmacie@x.test",
        "accepted_at": "2026-11-29T08:00:00+00:00",
        "completed_at": "2026-11-29T08:05:00+00:00",
        "prescription_sha256": "0" * 64,
        "dispense": [{"line": 1, "outcome": "full", "quantity": 2, "code": None, "reason": None}],
    }
    text = sign_receipt(body, key).to_json()
    assert verify_receipt(text, key.public_key()).body == body
    tampered = text.replace('"quantity": 2', '"quantity": 3')
    with pytest.raises(ReceiptInvalid):
        verify_receipt(tampered, key.public_key())
    with pytest.raises(ReceiptInvalid):
        verify_receipt(text, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ReceiptInvalid):
        verify_receipt("{", key.public_key())
