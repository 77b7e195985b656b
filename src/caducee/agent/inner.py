"""The inner message (RFC 5322 + MIME, RFC 2045/2046) that the agent signs then encrypts.

Written directly as bytes rather than with ``email.message.EmailMessage``: the standard
library's header registry cost 5–20 ms per message here (measured under load in the
outbox's profile), more than signing and encrypting together. The shape is fixed and small:
``multipart/mixed`` with a short ``text/plain`` part, then each file as
``application/octet-stream``, base64, byte for byte, under its name (RFC 2231 for a name that
is not plain ASCII). Any MIME parser, ``email`` included, reads it back
(``tests/agent/test_inner.py`` checks that with hypothesis).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.utils import format_datetime
from urllib.parse import quote

from caducee.policy.content import unique_names

__all__ = ["build_inner_message"]

CRLF = b"\r\n"
_PLAIN_NAME = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_+()[],;=!#$%&'~"
)


def _header(name: str, value: str) -> bytes:
    """One header field, RFC 2047-encoded and folded when it is not short plain ASCII."""
    if value.isascii() and len(name) + len(value) < 900 and "\r" not in value and "\n" not in value:
        return f"{name}: {value}".encode("ascii") + CRLF
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}".encode("ascii") + CRLF


def _filename(name: str) -> str:
    """The ``filename`` parameter: quoted when plain, else RFC 2231 in folded sections."""
    if name and all(c in _PLAIN_NAME for c in name) and len(name) < 200:
        return f'filename="{name}"'
    chunks, current = [], ""
    for char in name:
        piece = quote(char, safe="")
        if len(current) + len(piece) > 60:
            chunks.append(current)
            current = ""
        current += piece
    chunks.append(current)
    sections = [f"filename*{k}*={'utf-8' + chr(39) * 2 if k == 0 else ''}{chunk}"
                for k, chunk in enumerate(chunks)]  # fmt: skip
    return ";\r\n ".join(sections)


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 characters (RFC 2045 §6.8)."""
    text = base64.b64encode(data)
    return CRLF.join(text[i : i + 76] for i in range(0, len(text), 76))


def build_inner_message(
    *,
    sender: str,
    recipients: Sequence[str],
    filename: str,
    data: bytes,
    message_id: str,
    date: datetime,
    companions: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """The inner message: headers, a short text, the file and its companions unchanged."""
    names = unique_names([filename, *(name for name, _ in companions)])
    files = [(names[0], data), *zip(names[1:], (d for _, d in companions), strict=True)]
    boundary = f"=_caducee_{secrets.token_hex(12)}"
    text = f"Document transmis par Caducée / document sent with Caducée : {names[0]}\n"
    head = b"".join(
        [
            _header("From", sender),
            _header("To", ", ".join(recipients)),
            _header("Date", format_datetime(date)),
            _header("Message-ID", f"<{message_id}>"),
            _header("Subject", f"Document : {names[0]}"),
            _header("X-Caducee-Document-SHA256", hashlib.sha256(data).hexdigest()),
            b"MIME-Version: 1.0" + CRLF,
            f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode("ascii") + CRLF,
        ]
    )
    delimiter = f"--{boundary}".encode("ascii") + CRLF
    parts = [
        delimiter
        + b'Content-Type: text/plain; charset="utf-8"'
        + CRLF
        + b"Content-Transfer-Encoding: base64"
        + CRLF
        + CRLF
        + _base64(text.encode("utf-8"))
        + CRLF
    ]
    for name, content in files:
        parts.append(
            delimiter
            + b"Content-Type: application/octet-stream"
            + CRLF
            + b"Content-Transfer-Encoding: base64"
            + CRLF
            + f"Content-Disposition: attachment;\r\n {_filename(name)}".encode("ascii")
            + CRLF
            + CRLF
            + _base64(content)
            + CRLF
        )
    closing = f"--{boundary}--".encode("ascii") + CRLF
    return head + CRLF + b"".join(parts) + closing
