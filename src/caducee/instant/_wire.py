"""Hazardous: the length-prefixed binary encoding shared by statements, keys and messages.

Each field is a 4-byte big-endian length then its bytes; integers are 8-byte big-endian.
One encoding for signing and for parsing, so what is signed is exactly what is read.
Every read failure is a :class:`MalformedInstantData`, never an ``IndexError``.
"""

from __future__ import annotations

import struct

from caducee.instant.errors import MalformedInstantData

MAX_FIELD = 1 << 20


def field(value: bytes) -> bytes:
    """One length-prefixed field."""
    return struct.pack(">I", len(value)) + value


def text(value: str) -> bytes:
    return field(value.encode("utf-8"))


def integer(value: int) -> bytes:
    return struct.pack(">Q", value)


def fields(*values: bytes) -> bytes:
    return b"".join(field(v) for v in values)


class Reader:
    """Reads fields in order from outside bytes; ``end()`` refuses trailing bytes."""

    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedInstantData(f"{what}: expected bytes")
        self._data = bytes(data)
        self._at = 0
        self._what = what

    def _take(self, n: int) -> bytes:
        if n < 0 or self._at + n > len(self._data):
            raise MalformedInstantData(f"{self._what}: truncated")
        chunk = self._data[self._at : self._at + n]
        self._at += n
        return chunk

    def field(self, *, exact: int | None = None) -> bytes:
        (n,) = struct.unpack(">I", self._take(4))
        if n > MAX_FIELD:
            raise MalformedInstantData(f"{self._what}: field too long")
        value = self._take(n)
        if exact is not None and n != exact:
            raise MalformedInstantData(f"{self._what}: field of {n} bytes, expected {exact}")
        return value

    def text(self) -> str:
        raw = self.field()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedInstantData(f"{self._what}: text is not UTF-8") from None

    def integer(self) -> int:
        (value,) = struct.unpack(">Q", self._take(8))
        return int(value)

    def byte(self) -> int:
        return self._take(1)[0]

    def consumed(self) -> bytes:
        """The bytes read so far (what a trailing signature covers)."""
        return self._data[: self._at]

    def end(self) -> None:
        if self._at != len(self._data):
            raise MalformedInstantData(f"{self._what}: trailing bytes")
