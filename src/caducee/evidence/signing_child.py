"""The child end of :mod:`caducee.evidence.signing_process`: Ed25519 signatures on request.

Run as a script (``python -I <this file>``), so that it imports only the standard library
and ``cryptography``, not the server: it starts in a few tens of milliseconds. It reads from
standard input, writes to standard output, and nothing else:

- first, the signing key: a 4-byte big-endian length, then its PKCS#8 DER;
- then any number of requests: a 4-byte count, then each message as a 4-byte length and its
  bytes; the answer is the count's 64-byte signatures, in order;
- at the end of its input it exits with status 0.

The key comes through the pipe, never the command line or the environment, which other
processes of the machine may read.
"""

from __future__ import annotations

import struct
import sys
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_der_private_key

_LENGTH = struct.Struct(">I")


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the input (the parent closed it)."""
    if size == 0:
        return b""
    data = stream.read(size)
    if not data:
        return None
    if len(data) != size:
        raise EOFError("the input ended within a frame")
    return data


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Read the key, then answer requests until the end of ``source``."""
    head = _read_exactly(source, _LENGTH.size)
    if head is None:
        return
    key_der = _read_exactly(source, _LENGTH.unpack(head)[0])
    if key_der is None:
        raise EOFError("the input ended before the key")
    key = load_der_private_key(key_der, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError("the signing key is not an Ed25519 key")
    while (head := _read_exactly(source, _LENGTH.size)) is not None:
        signatures = []
        for _ in range(_LENGTH.unpack(head)[0]):
            size = _read_exactly(source, _LENGTH.size)
            message = _read_exactly(source, _LENGTH.unpack(size)[0]) if size else None
            if message is None:
                raise EOFError("the input ended within a request")
            signatures.append(key.sign(message))
        sink.write(b"".join(signatures))
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
