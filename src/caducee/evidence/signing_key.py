"""The log's Ed25519 signing key (RFC 8032) and its name, kept in ``<data_dir>/ledger/``.

``log.key`` is PKCS#8 PEM, created exclusively with mode 0600 in a 0700 folder. It is not
encrypted by default: the server signs every record unattended, so a passphrase would have
to sit next to the key (as the CA's does) and would protect nothing; file permissions and
the data folder's backups are what protect it. A caller that holds a passphrase elsewhere
(an environment secret) may pass it: the key is then PKCS#8-encrypted with it.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.evidence.errors import LogKeyError
from caducee.ledger import NoteVerifierKey, format_verifier_key

__all__ = [
    "KEY_FILE",
    "LEDGER_DIR",
    "LogIdentity",
    "load_log_identity",
    "load_log_key",
    "load_or_create_log_key",
    "log_origin",
]

log = logging.getLogger(__name__)
LEDGER_DIR = "ledger"
KEY_FILE = "log.key"


def log_origin(mail_domain: str) -> str:
    """The C2SP checkpoint origin (and note key name) of an operator's log."""
    return f"{mail_domain}/caducee-log"


@dataclass(frozen=True)
class LogIdentity:
    """The key that signs records and checkpoints, under the log's origin name."""

    origin: str
    private_key: Ed25519PrivateKey

    @property
    def verifier_key(self) -> NoteVerifierKey:
        return NoteVerifierKey.from_public_key(self.origin, self.private_key.public_key())

    @property
    def verifier_key_text(self) -> str:
        """``<origin>+<key ID>+<base64 key>``: what agents pin."""
        return format_verifier_key(self.verifier_key)


def _key_path(data_dir: Path) -> Path:
    return data_dir / LEDGER_DIR / KEY_FILE


def load_log_key(data_dir: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Read ``<data_dir>/ledger/log.key``; refuse it if others may read it."""
    path = _key_path(data_dir)
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except OSError as exc:
        raise LogKeyError(f"cannot read the log key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LogKeyError(f"the log key {path} is readable by others: chmod 600 it")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise LogKeyError(f"the log key {path} cannot be loaded: wrong passphrase?") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LogKeyError(f"the log key {path} is not an Ed25519 key")
    return key


def load_or_create_log_key(data_dir: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Load the log key, creating it (exclusively, mode 0600) on first use."""
    path = _key_path(data_dir)
    if path.exists():
        return load_log_key(data_dir, passphrase)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load_log_key(data_dir, passphrase)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    log.info("ledger signing key created in %s", path)
    return key


def load_log_identity(
    data_dir: Path, mail_domain: str, passphrase: bytes | None = None
) -> LogIdentity:
    """The log's identity for a deployment (creating the key on first use)."""
    return LogIdentity(log_origin(mail_domain), load_or_create_log_key(data_dir, passphrase))
