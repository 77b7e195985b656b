"""Every corpus file parses, or gives the typed error, line and field ``expected.json`` says."""

import json
from pathlib import Path

import pytest

from caducee.formats import errors
from caducee.formats.hprim import parse_hprim, to_hprim, validate_hprim
from caducee.formats.hprim_sante import parse_hprim_sante, to_hprim_sante, validate_hprim_sante
from caducee.formats.problems import Severity
from caducee.formats.sniff import FileKind, sniff

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())


def test_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.glob("*.hpr")}
    assert files == set(EXPECTED)
    assert len(files) >= 50
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    expect = EXPECTED[name]
    hprim = expect["kind"] == "hprim"
    if "error" in expect:
        error = getattr(errors, str(expect["error"]))
        with pytest.raises(error) as info:
            parse_hprim(data) if hprim else parse_hprim_sante(data)
        assert type(info.value) is error
        assert (info.value.line, info.value.field) == (expect["line"], expect["field"])
        problems = validate_hprim(data) if hprim else validate_hprim_sante(data)
        assert any(
            p.severity is Severity.ERROR and (p.line, p.field) == (expect["line"], expect["field"])
            for p in problems
        )
        return
    if hprim:
        docs = parse_hprim(data)
        assert len(docs) == expect["documents"]
        if "results" in expect:
            assert sum(len(d.results) for d in docs) == expect["results"]
        assert parse_hprim(to_hprim(docs)) == docs
        assert sniff(data) is FileKind.HPRIM
    else:
        message = parse_hprim_sante(data)
        assert len(message.patients) == expect["documents"]
        assert parse_hprim_sante(to_hprim_sante(message)) == message
        assert sniff(data) is FileKind.HPRIM_SANTE
