"""Hazardous: HPKE (RFC 9180) single-shot seal and open over ``cryptography``'s ``hpke``.

Two suites, named by their KEM: the hybrid ML-KEM-768 + X25519 (post-quantum, the default)
and X25519 alone (the fallback for a peer, such as an older browser, without ML-KEM). Both
use HKDF-SHA256 and AES-256-GCM. A hybrid public key is ``ML-KEM-768 key || X25519 key``
(1184 + 32 bytes), a hybrid private key its two seeds (64 + 32 bytes).
"""

from __future__ import annotations

from enum import Enum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from caducee.instant.errors import InstantDecryptionFailed, MalformedInstantData, UnsupportedSuite

_MLKEM768_PUBLIC = 1184
_X25519 = 32

HpkePublicKey = hpke.MLKEM768X25519PublicKey | x25519.X25519PublicKey
HpkePrivateKey = hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey


class Kem(Enum):
    """The KEMs we speak, valued by their HPKE identifiers (IANA HPKE KEM registry)."""

    MLKEM768_X25519 = 0x647A
    X25519 = 0x0020

    @classmethod
    def from_id(cls, value: int) -> Kem:
        try:
            return cls(value)
        except ValueError:
            raise UnsupportedSuite(f"HPKE KEM 0x{value:04x} is not supported") from None

    def suite(self) -> hpke.Suite:
        kem = hpke.KEM.MLKEM768_X25519 if self is Kem.MLKEM768_X25519 else hpke.KEM.X25519
        return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class HpkeKeyPair:
    """One device's HPKE private key for one KEM, with its serialised public key."""

    def __init__(self, kem: Kem, private: HpkePrivateKey, private_bytes: bytes) -> None:
        self.kem = kem
        self._private = private
        self._private_bytes = private_bytes

    @classmethod
    def generate(cls, kem: Kem = Kem.MLKEM768_X25519) -> HpkeKeyPair:
        if kem is Kem.MLKEM768_X25519:
            m = mlkem.MLKEM768PrivateKey.generate()
            x = x25519.X25519PrivateKey.generate()
            return cls(
                kem,
                hpke.MLKEM768X25519PrivateKey(m, x),
                m.private_bytes_raw() + x.private_bytes_raw(),
            )
        x = x25519.X25519PrivateKey.generate()
        return cls(kem, x, x.private_bytes_raw())

    @classmethod
    def from_private_bytes(cls, kem: Kem, data: bytes) -> HpkeKeyPair:
        try:
            if kem is Kem.MLKEM768_X25519:
                if len(data) != 64 + _X25519:
                    raise ValueError("length")
                m = mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:64])
                x = x25519.X25519PrivateKey.from_private_bytes(data[64:])
                return cls(kem, hpke.MLKEM768X25519PrivateKey(m, x), bytes(data))
            x = x25519.X25519PrivateKey.from_private_bytes(data)
        except ValueError:
            raise MalformedInstantData("HPKE private key of the wrong size") from None
        return cls(kem, x, bytes(data))

    def private_bytes(self) -> bytes:
        """The seeds, for the device's keystore (encrypt them there)."""
        return self._private_bytes

    def public_bytes(self) -> bytes:
        if isinstance(self._private, x25519.X25519PrivateKey):
            return self._private.public_key().public_bytes_raw()
        m = mlkem.MLKEM768PrivateKey.from_seed_bytes(self._private_bytes[:64])
        x = x25519.X25519PrivateKey.from_private_bytes(self._private_bytes[64:])
        return m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()

    def open(self, sealed: bytes, info: bytes) -> bytes:
        """Single-shot open (RFC 9180 §6.1, base mode); any failure is a typed error."""
        try:
            return self.kem.suite().decrypt(sealed, self._private, info=info)
        except (InvalidTag, ValueError, TypeError):
            raise InstantDecryptionFailed(
                "HPKE: the sealed key does not open with this device key"
            ) from None


def load_public_key(kem: Kem, data: bytes) -> HpkePublicKey:
    """Parse a public key published for ``kem``; wrong sizes are :class:`MalformedInstantData`."""
    try:
        if kem is Kem.MLKEM768_X25519:
            if len(data) != _MLKEM768_PUBLIC + _X25519:
                raise ValueError("length")
            m = mlkem.MLKEM768PublicKey.from_public_bytes(data[:_MLKEM768_PUBLIC])
            x = x25519.X25519PublicKey.from_public_bytes(data[_MLKEM768_PUBLIC:])
            return hpke.MLKEM768X25519PublicKey(m, x)
        return x25519.X25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise MalformedInstantData(f"HPKE public key for {kem.name} of the wrong size") from None


def seal(kem: Kem, public_key: bytes, plaintext: bytes, info: bytes) -> bytes:
    """Single-shot seal (RFC 9180 §6.1, base mode) to a published public key."""
    return kem.suite().encrypt(plaintext, load_public_key(kem, public_key), info=info)
