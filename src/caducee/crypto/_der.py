"""A small, strict DER reader for the hot CMS structures (private).

It reads only what DER allows (X.690 §10.1): definite lengths in their shortest form, tag
numbers below 31 (X.690 §8.1.2.2), primitive strings. Anything else raises ``Unusual``,
which never leaves the crypto package: the caller then reads the input again with
asn1crypto, which understands all of BER and gives the typed errors.
"""

from __future__ import annotations

import datetime

__all__ = [
    "OIDS",
    "TLV",
    "Unusual",
    "children",
    "integer",
    "oid_name",
    "read",
    "utc_time",
]

OIDS: dict[bytes, str] = {
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01": "1.2.840.113549.1.7.1",  # id-data
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02": "1.2.840.113549.1.7.2",  # id-signedData
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03": "1.2.840.113549.1.7.3",  # id-envelopedData
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03": "1.2.840.113549.1.9.3",  # id-contentType
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04": "1.2.840.113549.1.9.4",  # id-messageDigest
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05": "1.2.840.113549.1.9.5",  # id-signingTime
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0f": "1.2.840.113549.1.9.15",  # smimeCapabilities
    b"\x60\x86\x48\x01\x65\x03\x04\x01\x02": "2.16.840.1.101.3.4.1.2",  # aes128-CBC
    b"\x60\x86\x48\x01\x65\x03\x04\x01\x2a": "2.16.840.1.101.3.4.1.42",  # aes256-CBC
    b"\x60\x86\x48\x01\x65\x03\x04\x02\x01": "2.16.840.1.101.3.4.2.1",  # sha256
    b"\x60\x86\x48\x01\x65\x03\x04\x02\x02": "2.16.840.1.101.3.4.2.2",  # sha384
    b"\x60\x86\x48\x01\x65\x03\x04\x02\x03": "2.16.840.1.101.3.4.2.3",  # sha512
}
"""The OBJECT IDENTIFIER contents the fast path knows; any other OID is ``Unusual``."""

_MAX_LENGTH_OCTETS = 4  # 4 GiB: more than any message we accept


class Unusual(Exception):
    """The input is not in the strict DER shape this reader handles; read it with asn1crypto."""


def read(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The TLV at ``pos``: (identifier octet, contents start, contents end), X.690 §8.1."""
    if pos + 2 > end:
        raise Unusual
    tag = data[pos]
    if tag & 0x1F == 0x1F:  # high tag number form
        raise Unusual
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F  # k == 0 is the indefinite form (BER only)
        if not 0 < k <= _MAX_LENGTH_OCTETS or pos + k > end or data[pos] == 0:
            raise Unusual
        n = int.from_bytes(data[pos : pos + k], "big")
        if n < 0x80:  # X.690 §10.1: the short form is required
            raise Unusual
        pos += k
    if pos + n > end:
        raise Unusual
    return tag, pos, pos + n


TLV = tuple[int, int, int, int]
"""(identifier octet, contents start, contents end, start of the whole TLV)."""


def children(data: bytes, start: int, end: int) -> list[TLV]:
    """Every TLV of a constructed value's contents; they must fill it exactly."""
    out = []
    while start < end:  # ``read`` inlined for the short form: this loop is the hot one
        n = data[start + 1] if start + 1 < end else 0x80
        tag = data[start]
        if n < 0x80 and tag & 0x1F != 0x1F and start + 2 + n <= end:
            out.append((tag, start + 2, start + 2 + n, start))
            start += 2 + n
            continue
        tag, c_start, c_end = read(data, start, end)
        out.append((tag, c_start, c_end, start))
        start = c_end
    return out


def integer(data: bytes, start: int, end: int) -> int:
    """A DER INTEGER's value: two's complement in the fewest octets (X.690 §8.3)."""
    if start == end:
        raise Unusual
    if end - start > 1 and (
        (data[start] == 0 and data[start + 1] < 0x80)
        or (data[start] == 0xFF and data[start + 1] >= 0x80)
    ):
        raise Unusual
    return int.from_bytes(data[start:end], "big", signed=True)


def oid_name(data: bytes, start: int, end: int) -> str:
    """The dotted form of a known OBJECT IDENTIFIER (X.690 §8.19)."""
    name = OIDS.get(data[start:end])
    if name is None:
        raise Unusual
    return name


def utc_time(data: bytes, start: int, end: int) -> datetime.datetime:
    """A DER UTCTime ``YYMMDDHHMMSSZ`` (X.690 §11.8; RFC 5280 §4.1.2.5.1 for the century)."""
    text = data[start:end]
    if len(text) != 13 or text[12:] != b"Z" or not text[:12].isdigit():
        raise Unusual
    yy, mo, dd, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 12, 2))
    try:
        return datetime.datetime(
            (2000 if yy < 50 else 1900) + yy, mo, dd, hh, mi, ss, tzinfo=datetime.UTC
        )
    except ValueError:
        raise Unusual from None
