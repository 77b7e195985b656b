"""The agent's private key: an encrypted PKCS#8 file or a PKCS#11 token object.

The passphrase (or PIN) comes from ``CADUCEE_AGENT_PASSPHRASE`` (``CADUCEE_AGENT_PIN`` for a
token, falling back to the passphrase variable), else from a prompt on a terminal. It is
never logged, never written, never part of an error message.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from caducee.agent.config import AgentConfig
from caducee.agent.errors import KeystoreError
from caducee.crypto.cms_sign import SignerKey
from caducee.crypto.errors import CryptoError, KeyNotFound
from caducee.crypto.keyfile import KeyKind, generate_private_key, load_key_file, save_key_file

__all__ = [
    "PASSPHRASE_ENV",
    "PIN_ENV",
    "build_csr",
    "create_key",
    "load_key",
    "read_secret",
]

PASSPHRASE_ENV = "CADUCEE_AGENT_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
PIN_ENV = "CADUCEE_AGENT_PIN"
log = logging.getLogger(__name__)
Prompt = Callable[[str], str]


def read_secret(
    *, token: bool = False, confirm: bool = False, prompt: Prompt | None = None
) -> bytes:
    """The passphrase (or PIN) from the environment, else asked on the terminal."""
    names = (PIN_ENV, PASSPHRASE_ENV) if token else (PASSPHRASE_ENV,)
    for name in names:
        value = os.environ.get(name)
        if value:
            return value.encode("utf-8")
    if prompt is None:
        if not sys.stdin.isatty():
            raise KeystoreError(
                f"no passphrase: set {PASSPHRASE_ENV} or run on a terminal to be asked"
            )
        prompt = getpass.getpass
    label = "Code PIN / PIN: " if token else "Phrase secrète / passphrase: "
    first = prompt(label)
    if confirm and prompt("Confirmer / confirm: ") != first:
        raise KeystoreError("the two entries differ")
    return first.encode("utf-8")


def _token_key(uri: str, pin: bytes, *, create: bool) -> SignerKey:
    from caducee.crypto.pkcs11_keys import generate_token_key, load_token_key
    from caducee.crypto.pkcs11_uri import parse_pkcs11_uri

    try:
        return load_token_key(uri, pin.decode("utf-8"))
    except KeyNotFound:
        if not create:
            raise
    parsed = parse_pkcs11_uri(uri)
    generate_token_key(
        parsed,
        label=parsed.object or "caducee-agent",
        key_id=parsed.id or os.urandom(8),
        kind=KeyKind.RSA_2048,
        pin=pin.decode("utf-8"),
    )
    return load_token_key(uri, pin.decode("utf-8"))


def create_key(config: AgentConfig, secret: bytes) -> SignerKey:
    """Generate the key where it will live: a new key file (never overwritten) or the token."""
    try:
        if config.key_is_token:
            return _token_key(config.key, secret, create=True)
        key = generate_private_key(KeyKind.RSA_2048)
        save_key_file(config.path(config.key), key, secret)
        log.info("key file created: %s", config.path(config.key).name)
        return key
    except CryptoError as exc:
        raise KeystoreError(f"cannot create the key: {exc.reason}", code=exc.code) from None


def load_key(config: AgentConfig, secret: bytes | None = None) -> SignerKey:
    """Open the agent's key (asking for the secret when not given)."""
    if secret is None:
        secret = read_secret(token=config.key_is_token)
    try:
        if config.key_is_token:
            return _token_key(config.key, secret, create=False)
        return load_key_file(config.path(config.key), secret)
    except CryptoError as exc:
        raise KeystoreError(f"cannot open the key: {exc.reason}", code=exc.code) from None


def build_csr(key: SignerKey, address: str) -> str:
    """A PKCS#10 request (RFC 2986) for ``address``, signed by ``key`` (proof of possession)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, address)])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False
    )
    try:
        csr = builder.sign(key, hashes.SHA256())
    except (TypeError, ValueError) as exc:
        raise KeystoreError(f"this key cannot sign a certificate request: {exc}") from None
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
