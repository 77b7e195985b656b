"""``convert``: every valid corpus file to every target and back; bad input gives FormatError."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.convert import TARGETS, convert, read_documents
from caducee.formats.errors import FormatError, UnsupportedMessage
from caducee.formats.hprim import parse_hprim
from caducee.formats.sniff import FileKind, sniff
from tests.formats import synth
from tests.formats.equivalence import CORPUS, OK_HPRIM, OK_SANTE, assert_same


@pytest.mark.parametrize("path", OK_HPRIM + OK_SANTE, ids=lambda p: p.name)
def test_every_target_and_back(path: Path) -> None:
    data = path.read_bytes()
    _, original = read_documents(data)
    for target in TARGETS:
        out = convert(data, target)
        _, back = read_documents(out)
        assert len(back) == len(original)
        for a, b in zip(original, back, strict=True):
            assert_same(a, b, numeric=target == "fhir")


def test_kinds_of_output() -> None:
    data = (CORPUS / "hprim_ok_crlf.hpr").read_bytes()
    assert convert(data, "hprim") == data  # HPRIM as received
    assert sniff(convert(data, "hl7")) is FileKind.HL7V2
    assert json.loads(convert(data, "fhir"))["resourceType"] == "Bundle"
    sante = (CORPUS / "sante_ok_crlf.hpr").read_bytes()
    assert sniff(convert(sante, "hprim")) is FileKind.HPRIM


def test_chains_keep_the_results() -> None:
    data = synth.join(synth.hprim_lines())
    via = convert(convert(convert(data, "fhir"), "hl7"), "hprim")
    (a,), (b,) = parse_hprim(data), parse_hprim(via)
    assert_same(a, b, numeric=True)


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n...", b"\x89PNG\r\n\x1a\n", b"just some text\n", b"", b"<a/>"]
)
def test_unsupported_inputs(data: bytes) -> None:
    with pytest.raises(UnsupportedMessage):
        convert(data, "hl7")


def test_unknown_target() -> None:
    with pytest.raises(UnsupportedMessage):
        convert(synth.join(synth.hprim_lines()), "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*_bad_*.hpr")), ids=lambda p: p.name)
def test_bad_corpus_files(path: Path) -> None:
    with pytest.raises(FormatError):
        convert(path.read_bytes(), "fhir")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(TARGETS))
def test_fuzz(data: bytes, target: str) -> None:
    with contextlib.suppress(FormatError):
        convert(data, target)  # type: ignore[arg-type]
