"""Random and mutated input into every parser: only ``FormatError`` subclasses may escape.

Validators and ``sniff`` must never raise at all: they report.
"""

import contextlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.formats.errors import FormatError
from caducee.formats.hprim import parse_hprim, to_hprim, validate_hprim
from caducee.formats.hprim_sante import parse_hprim_sante, validate_hprim_sante
from caducee.formats.nir import parse_nir
from caducee.formats.sniff import FileKind, sniff
from caducee.formats.text import decode_text

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.hpr"))
SEEDS = [p.read_bytes() for p in CORPUS]
PARSERS: list[Callable[[bytes], object]] = [parse_hprim, parse_hprim_sante, decode_text]
INTERESTING = [b"|", b"~", b"^", b"\\", b"&", b"\r", b"\n", b"****FIN****\n", b"****LAB****\n",
               b"A|", b"RES|", b"TEX|", b"H|~^\\&|", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf",
               b"\xe9", b"\x8e", b"99/99/9999", b"2A"]  # fmt: skip


def _check(data: bytes) -> None:
    for parse in PARSERS:
        try:
            parse(data)
        except FormatError as exc:
            assert isinstance(exc.code, str)
    for validate in (validate_hprim, validate_hprim_sante):
        for problem in validate(data):
            assert problem.line is None or problem.line >= 1
    assert isinstance(sniff(data), FileKind)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            del buf[pos : pos + rng.randint(1, 40)]
        elif op == 1:
            buf[pos:pos] = rng.choice(INTERESTING)
        elif op == 2 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 3 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 200)]
        else:
            del buf[pos:]
    return bytes(buf)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_random_text(text: str) -> None:
    _check(text.encode("utf-8"))
    for parse in (parse_hprim, parse_hprim_sante, parse_nir):
        with contextlib.suppress(FormatError):
            parse(text)


@pytest.mark.parametrize("seed", range(12))
def test_mutated_corpus(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        _check(_mutate(rng, rng.choice(SEEDS)))


def test_mutations_that_parse_also_regenerate() -> None:
    """A mutated file that still parses can be written back and read again."""
    rng = random.Random(99)
    regenerated = 0
    for _ in range(1500):
        data = _mutate(rng, rng.choice(SEEDS[:40]))
        try:
            docs = parse_hprim(data)
        except FormatError:
            continue
        try:
            text = to_hprim(docs)
        except FormatError:
            continue  # e.g. a mutated value the writer refuses to write ambiguously
        assert parse_hprim(text) == docs
        regenerated += 1
    assert regenerated > 50
