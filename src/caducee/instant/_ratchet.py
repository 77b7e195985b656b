"""Hazardous: the sender-key hash ratchet's KDF steps (Signal's sender-key chain, HMAC-SHA-256).

From chain key ``ck``: the message seed is ``HMAC(ck, 0x01)`` and the next chain key is
``HMAC(ck, 0x02)``; the AES-256-GCM key and nonce are the 44 bytes of
``HKDF-SHA256(salt=32 zero bytes, ikm=seed, info=INFO)``. The chain only moves forward, so
a device that deletes used keys cannot recompute them (forward secrecy).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHAIN_KEY_SIZE = 32
MESSAGE_INFO = b"caducee-miss-v1 message key"


@dataclass(frozen=True)
class MessageKey:
    """The AES-256-GCM key and nonce for one counter of one chain."""

    counter: int
    key: bytes
    nonce: bytes


def message_seed(chain_key: bytes) -> bytes:
    return hmac.new(chain_key, b"\x01", hashlib.sha256).digest()


def next_chain_key(chain_key: bytes) -> bytes:
    return hmac.new(chain_key, b"\x02", hashlib.sha256).digest()


def message_key(chain_key: bytes, counter: int) -> MessageKey:
    """Derive the message key for ``counter`` from the chain key at that counter."""
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=b"\x00" * 32, info=MESSAGE_INFO).derive(
        message_seed(chain_key)
    )
    return MessageKey(counter, okm[:32], okm[32:])
