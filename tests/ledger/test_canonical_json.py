"""RFC 8785 (JCS) with the RFC's own examples, and properties with hypothesis."""

import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.ledger.canonical_json import MAX_SAFE_INTEGER, canonicalize, loads_strict
from caducee.ledger.errors import NotCanonicalizable


def test_rfc8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(loads_strict(source)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting() -> None:
    source = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    names = [k for k in json.loads(canonicalize(source))]
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialisation.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonicalize(value) == expected.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 2**53, -(2**53), b"x", {1: 2}])
def test_refused(value: object) -> None:
    with pytest.raises(NotCanonicalizable):
        canonicalize(value)


def test_lone_surrogate_refused() -> None:
    with pytest.raises(NotCanonicalizable):
        canonicalize("\ud800")
    with pytest.raises(NotCanonicalizable):
        canonicalize({"\udc00": 1})


def test_integers_at_the_i_json_limit() -> None:
    assert (
        canonicalize([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
        == b"[9007199254740991,-9007199254740991]"
    )


@pytest.mark.parametrize(
    "text", ['{"a":1,"a":2}', "NaN", "[Infinity]", '{"a":', "\xff", "[1,]", ""]
)
def test_strict_reader_refuses(text: str) -> None:
    with pytest.raises(NotCanonicalizable):
        loads_strict(text.encode("latin-1"))


def test_controls_escaped() -> None:
    assert canonicalize("\x00\x1f\x7f") == b'"\\u0000\\u001f\x7f"'


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), children, max_size=5)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_is_a_fixed_point(value: object) -> None:
    once = canonicalize(value)
    assert canonicalize(loads_strict(once)) == once


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_exactly(x: float) -> None:
    assert float(json.loads(canonicalize(x))) == x


@given(st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), st.integers(0, 9)))
def test_names_sorted_by_utf16_code_units(d: dict[str, int]) -> None:
    names = list(json.loads(canonicalize(d)))
    assert names == sorted(d, key=lambda k: k.encode("utf-16-be"))
