"""RFC 8785 JSON Canonicalization Scheme (JCS), and a strict JSON reader.

Numbers follow §3.2.2.3 (ECMAScript ``Number.prototype.toString``): integers must lie in the
I-JSON range ±(2**53 - 1) (RFC 7493 §2.2), floats must be finite. Lone surrogates are refused.
"""

import json
import math
from typing import Any

from caducee.ledger.errors import NotCanonicalizable

__all__ = ["MAX_SAFE_INTEGER", "canonicalize", "loads_strict"]

MAX_SAFE_INTEGER = 2**53 - 1

# §3.2.2.2: the short escapes; other controls are \u00xx with lowercase hex.
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"
for _c in range(0x20):
    _ESCAPES.setdefault(chr(_c), f"\\u{_c:04x}")
_ESCAPE_TABLE = str.maketrans(_ESCAPES)  # str.translate runs in C: one pass, no per-char call


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-like value (dict, list, str, int, ...)."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotCanonicalizable("a string holds a lone surrogate, not valid Unicode") from exc


def _write(value: Any, out: list[str]) -> None:
    # 3.2.2.1: literals.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonicalizable(f"integer {value} is outside the I-JSON range ±(2**53-1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        # 3.2.3: properties sorted by the UTF-16 code units of their names.
        if not all(isinstance(k, str) for k in value):
            raise NotCanonicalizable("an object has a name that is not a string")
        try:
            names = sorted(value, key=lambda k: k.encode("utf-16-be"))
        except UnicodeEncodeError as exc:
            raise NotCanonicalizable("a name holds a lone surrogate") from exc
        out.append("{")
        for i, name in enumerate(names):
            if i:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _write(value[name], out)
        out.append("}")
    else:
        raise NotCanonicalizable(f"a {type(value).__name__} has no JSON form")


def _string(s: str) -> str:
    """§3.2.2.2: quote, escape ``"``, ``\\`` and controls; everything else verbatim."""
    return '"' + s.translate(_ESCAPE_TABLE) + '"'


def _number(x: float) -> str:
    """§3.2.2.3: ECMAScript Number serialisation of a finite double."""
    if not math.isfinite(x):
        raise NotCanonicalizable(f"{x} is not a JSON number")
    if x == 0:
        return "0"  # also -0
    sign = "-" if x < 0 else ""
    # Python's repr is the shortest round-tripping decimal, as ECMAScript requires.
    mantissa, _, exp = repr(abs(x)).partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = int_part + frac
    n = len(int_part) + int(exp or "0")  # the decimal point sits after n digits
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        e = n - 1
        head = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{head}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def _reject_constant(name: str) -> Any:
    raise NotCanonicalizable(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise NotCanonicalizable(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _parse_int(text: str) -> int | float:
    """I-JSON: an integer beyond ±(2**53 - 1) is an IEEE double, as ECMAScript reads it."""
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else _parse_float(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotCanonicalizable(f"{text} overflows an IEEE 754 double")
    return value


def loads_strict(data: bytes | str) -> Any:
    """Parse JSON (RFC 8259) refusing duplicate names, NaN/Infinity and invalid UTF-8."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except NotCanonicalizable:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise NotCanonicalizable(f"not valid JSON: {exc}") from exc
