"""The MIME plumbing of S/MIME (private): header blocks, multipart bodies, base64.

Header blocks in the plain shape (ASCII, one line per field, RFC 5322 §2.2; Content-Type
parameters as tokens or simple quoted strings, RFC 2045 §5.1) are read here directly;
anything else (folding, encoded words, RFC 2231 parameters, comments, 8-bit bytes, ...) is
read by ``email.parser`` with the compat32 policy, which gives the same answers on the
plain shape and stays the reference for the rest.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import itertools
import re
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from caducee.crypto._asn1 import guard
from caducee.crypto.errors import MalformedMessage

__all__ = ["Headers", "addresses", "b64", "crlf", "decode", "head_of", "multipart_parts", "split"]

_FIELD = re.compile(r"([!-9;-~]+):[ \t]*([\t -~]*)")
_TOK = r"[!#$%&'+.^_`|~0-9A-Za-z-]+"  # RFC 2045 §5.1 token, without "*" (RFC 2231)
_PARAM = re.compile(rf'[ \t]*;[ \t]*({_TOK})[ \t]*=[ \t]*(?:({_TOK})|"([^"\\]*)")[ \t]*')
_TYPE = re.compile(rf"[ \t]*{_TOK}/{_TOK}[ \t]*")
_ADDR_SPEC = re.compile(
    r"[ \t]*([\w+-]+(?:\.[\w+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)[ \t]*", re.ASCII
)


class Headers:
    """A MIME header block, read-only: ``get``, ``get_all``, ``get_content_type``, ``get_param``.

    The answers are those of ``email.message.Message`` with the compat32 policy.
    """

    __slots__ = ("_fields", "_message")

    def __init__(self, head: bytes) -> None:
        self._fields = _plain_fields(head)
        self._message: Message | None = None
        if self._fields is None:
            with guard("MIME headers"):
                parser = BytesParser(policy=email.policy.compat32)
                self._message = parser.parsebytes(head + b"\r\n\r\n", True)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field ``name`` (case-insensitive), in order."""
        if self._message is not None:
            return [str(v) for v in self._message.get_all(name, [])]
        return list((self._fields or {}).get(name.lower(), ()))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the field ``name``, or ``default``."""
        if self._message is None:
            values = (self._fields or {}).get(name.lower())
            return values[0] if values else default
        values = self.get_all(name)
        return values[0] if values else default

    def get_content_type(self) -> str:
        """``type/subtype`` in lower case; text/plain when absent or odd (RFC 2045 §5.2)."""
        if self._message is not None:
            return self._message.get_content_type()
        value = self.get("content-type")
        if value is None:
            return "text/plain"
        ctype = value.partition(";")[0].strip().lower()
        return ctype if ctype.count("/") == 1 else "text/plain"

    def get_param(self, name: str) -> str | tuple[str, str | None, str] | None:
        """A Content-Type parameter, unquoted (RFC 2045 §5.1); a tuple for RFC 2231 values."""
        if self._message is not None:
            with guard("MIME headers"):  # email raises TypeError on some RFC 2231 forms
                return self._message.get_param(name)  # type: ignore[return-value]
        value = self.get("content-type")
        return None if value is None else _params(value).get(name.lower())


def _plain_fields(head: bytes) -> dict[str, list[str]] | None:
    """Values by lower-case name of a plain header block; None to let email.parser read it."""
    if not head.isascii():
        return None
    fields: dict[str, list[str]] = {}
    lines = head.decode("ascii").split("\n")
    if lines[-1] == "":
        lines.pop()
    for raw in lines:
        match = _FIELD.fullmatch(raw[:-1] if raw.endswith("\r") else raw)
        if match is None:  # folding, a bare CR, a "From " line, control characters, ...
            return None
        fields.setdefault(match[1].lower(), []).append(match[2])
    if not all(_plain_params(value) for value in fields.get("content-type", ())):
        return None
    return fields


def _plain_params(value: str) -> bool:
    """Whether every parameter after the type is ``; token=token`` or ``; token="plain"``."""
    match = _TYPE.match(value)
    at = match.end() if match else 0
    while at < len(value):
        param = _PARAM.match(value, at)
        if param is None:
            return False
        at = param.end()
    return match is not None


def _params(value: str) -> dict[str, str]:
    """Content-Type parameters by lower-case name; the first one wins, as in ``email``."""
    match = _TYPE.match(value)
    found: dict[str, str] = {}
    for param in _PARAM.finditer(value, match.end() if match else 0):
        found.setdefault(param[1].lower(), param[2] if param[2] is not None else param[3])
    return found


def split(entity: bytes) -> tuple[Headers, bytes]:
    """An entity's header block and its raw body (RFC 5322 §2.1: the first empty line)."""
    match = _BLANK_FIRST.match(entity) or _BLANK.search(entity)  # blank first line: no headers
    if match is None:
        return Headers(entity), b""
    return Headers(entity[: match.start()]), entity[match.end() :]


def head_of(entity: bytes) -> bytes:
    """The header block of ``entity`` with the empty line that ends it (as ``split`` cuts)."""
    match = _BLANK_FIRST.match(entity) or _BLANK.search(entity)
    return entity if match is None else entity[: match.end()]


_BLANK_FIRST = re.compile(rb"\r?\n")
_BLANK = re.compile(rb"\r?\n\r?\n")


def crlf(data: bytes) -> bytes:
    """Canonical line endings (RFC 8551 §3.1.1): every line ends in CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64(data: bytes) -> bytes:
    """base64 in CRLF-terminated lines of 76 characters (RFC 2045 §6.8)."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def decode(headers: Headers, body: bytes) -> bytes:
    """Undo the Content-Transfer-Encoding (base64, or none), RFC 2045 §6."""
    cte = str(headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if cte == "base64":
        try:
            # strict_mode: what b64decode(validate=True) accepts, minus its regex pass
            return binascii.a2b_base64(body.translate(None, b" \t\r\n"), strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedMessage("bad base64 in the S/MIME part") from exc
    if cte in ("7bit", "8bit", "binary"):
        return body
    raise MalformedMessage(f"unexpected Content-Transfer-Encoding {cte}")


def addresses(values: list[str]) -> list[str]:
    """The addr-specs of address header values (RFC 5322 §3.4); a bare dot-atom as is."""
    if len(values) == 1 and (plain := _ADDR_SPEC.fullmatch(values[0])) is not None:
        return [plain[1]]
    return [a for _, a in getaddresses(values) if a]


def multipart_parts(body: bytes, boundary: str) -> list[bytes]:
    """The raw body parts of a multipart body (RFC 2046 §5.1.1), CRLF before delimiters removed."""
    dash = b"--" + boundary.encode()
    starts: list[tuple[int, int]] = []  # (start of the delimiter incl. its line break, end)
    at = 0
    closed = False
    while not closed:
        found = body.find(dash, at)
        if found < 0:
            break
        at = found + len(dash)
        line_start = found == 0 or body[found - 1 : found] == b"\n"
        if not line_start:
            continue
        closed = body[at : at + 2] == b"--"
        eol = body.find(b"\n", at)
        if body[at + 2 * closed : len(body) if eol < 0 else eol].strip(b" \t\r"):
            continue  # "--boundary" followed by other text is not a delimiter
        begin = found - (2 if body[found - 2 : found] == b"\r\n" else 1) if found else 0
        starts.append((begin, len(body) if eol < 0 else eol + 1))
    if len(starts) < 3 or not closed:
        raise MalformedMessage("multipart/signed needs two parts and a close delimiter")
    return [body[a[1] : b[0]] for a, b in itertools.pairwise(starts)]
