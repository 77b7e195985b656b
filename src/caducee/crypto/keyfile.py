"""Private keys in passphrase-encrypted PKCS#8 files (RFC 5958, PBES2 of RFC 8018).

Keys are written with PBES2 = PBKDF2-HMAC-SHA256 + AES-256-CBC, read back with PBKDF2 or scrypt
(RFC 7914) as key-derivation function. Unencrypted keys and PBES1 are refused. A key file is
created with mode 0600 and never overwritten.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)

from caducee.crypto.errors import (
    KeyNotFound,
    KeySourceError,
    MalformedMessage,
    UnsupportedAlgorithm,
    WrongPassphrase,
)

__all__ = [
    "DEFAULT_KDF_ROUNDS",
    "KeyKind",
    "PrivateKey",
    "generate_private_key",
    "load_key_file",
    "save_key_file",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_KDF_ROUNDS = 600_000  # PBKDF2-HMAC-SHA256 iterations (OWASP 2023 guidance)
MIN_PASSPHRASE_BYTES = 8
# asn1crypto 1.5 names PBKDF2 but not scrypt, whose OID is 1.3.6.1.4.1.11591.4.11 (RFC 7914 §7).
_ACCEPTED_KDFS = frozenset({"pbkdf2", "scrypt", "1.3.6.1.4.1.11591.4.11"})


class KeyKind(enum.Enum):
    """The key types Caducée creates, for people, mailboxes and the operator."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    EC_P256 = "ec-p256"

    @property
    def is_rsa(self) -> bool:
        return self is not KeyKind.EC_P256

    @property
    def rsa_bits(self) -> int:
        """The RSA modulus size (0 for an EC kind)."""
        return {KeyKind.RSA_2048: 2048, KeyKind.RSA_3072: 3072}.get(self, 0)


def generate_private_key(kind: KeyKind) -> PrivateKey:
    """A new software private key of ``kind`` (RSA with e = 65537, or ECDSA on P-256)."""
    if kind.is_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=kind.rsa_bits)
    return ec.generate_private_key(ec.SECP256R1())


def _encode_pkcs8(key: PrivateKey, passphrase: bytes, kdf_rounds: int) -> bytes:
    """RFC 8018 §6.2 PBES2 by hand: cryptography 50 offers ``encryption_builder`` for
    PKCS#12 and OpenSSH only, and its PKCS#8 ``BestAvailableEncryption`` uses 2048 rounds."""
    plain = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    salt, iv = os.urandom(16), os.urandom(16)
    derived = PBKDF2HMAC(hashes.SHA256(), 32, salt, kdf_rounds).derive(passphrase)
    padder = PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": kdf_rounds,
                            "prf": {"algorithm": "sha256"},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encrypted,
        }
    )
    return bytes(asn1_pem.armor("ENCRYPTED PRIVATE KEY", info.dump()))


def save_key_file(
    path: str | os.PathLike[str],
    key: PrivateKey,
    passphrase: bytes,
    *,
    kdf_rounds: int = DEFAULT_KDF_ROUNDS,
) -> Path:
    """Write ``key`` as an encrypted PKCS#8 PEM file, mode 0600, refusing to overwrite.

    Raises ``KeySourceError`` if the file already exists or the passphrase is too short.
    """
    if len(passphrase) < MIN_PASSPHRASE_BYTES:
        raise KeySourceError(f"passphrase shorter than {MIN_PASSPHRASE_BYTES} bytes")
    if kdf_rounds < 1:
        raise ValueError("kdf_rounds must be positive")
    target = Path(path)
    data = _encode_pkcs8(key, passphrase, kdf_rounds)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeySourceError(f"key file {target} already exists; not overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return target


def _to_der(data: bytes, where: Path) -> bytes:
    if asn1_pem.detect(data):
        try:
            kind, _headers, der = asn1_pem.unarmor(data)
        except ValueError as exc:
            raise MalformedMessage(f"{where}: unreadable PEM ({exc})") from None
        if kind != "ENCRYPTED PRIVATE KEY":
            if kind.endswith("PRIVATE KEY"):
                raise UnsupportedAlgorithm(f"{where}: unencrypted private key ({kind}) refused")
            raise MalformedMessage(f"{where}: PEM block {kind!r} is not an encrypted key")
        return bytes(der)
    return data


def _check_structure(der: bytes, where: Path) -> None:
    """RFC 5958 EncryptedPrivateKeyInfo with PBES2 and PBKDF2 or scrypt (RFC 8018 §6.2)."""
    try:
        info = asn1_keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        algorithm = info["encryption_algorithm"]
        scheme = algorithm["algorithm"].native
        kdf = algorithm.kdf if scheme == "pbes2" else None
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMessage(f"{where}: not an EncryptedPrivateKeyInfo ({exc})") from None
    if scheme != "pbes2":
        raise UnsupportedAlgorithm(f"{where}: encryption scheme {scheme!r} refused; PBES2 only")
    if kdf not in _ACCEPTED_KDFS:
        raise UnsupportedAlgorithm(f"{where}: key-derivation function {kdf!r} not supported")


def load_key_file(path: str | os.PathLike[str], passphrase: bytes) -> PrivateKey:
    """Read an encrypted PKCS#8 key file (PEM or DER).

    Raises ``KeyNotFound`` (no file), ``MalformedMessage`` (not a key file),
    ``UnsupportedAlgorithm`` (unencrypted, PBES1, unknown KDF or key type) or
    ``WrongPassphrase``.
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise KeyNotFound(f"no key file at {source}") from None
    der = _to_der(data, source)
    _check_structure(der, source)
    try:
        key = load_der_private_key(der, passphrase)
    except ValueError:
        raise WrongPassphrase(f"{source}: wrong passphrase") from None
    except TypeError:
        raise WrongPassphrase(f"{source}: a passphrase is required") from None
    except Exception as exc:  # cryptography.exceptions.UnsupportedAlgorithm and kin
        raise UnsupportedAlgorithm(f"{source}: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UnsupportedAlgorithm(f"{source}: key type {type(key).__name__} not supported")
    return key
