"""A small test PKI shared by tests/pki and tests/crypto (built once per session, cached).

Root (RSA-2048) → issuing CA (EC P-256) → end entities. Keys are generated here, at test time;
nothing is a stored vector. Certificates are checked by OpenSSL in the tests that use them.
"""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.crypto.keyfile import KeyKind, PrivateKey, generate_private_key
from caducee.pki import (
    CertificateAuthority,
    Holder,
    PKIURLs,
    Profile,
    create_issuing_ca,
    create_root_ca,
    issue_certificate,
)

URLS = PKIURLs("http://pki.caducee.test")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PERSON = Holder(
    common_name="Alice MARTIN",
    given_name="Alice",
    surname="MARTIN",
    rpps="10001234567",
    email="alice.martin@caducee.test",
    organisation="Cabinet Martin",
)


@functools.cache
def root_ca() -> CertificateAuthority:
    return create_root_ca("Caducée Test Root", URLS, kind=KeyKind.RSA_2048, now=NOW)


@functools.cache
def issuing_ca() -> CertificateAuthority:
    return create_issuing_ca(root_ca(), "Caducée Test Issuing", kind=KeyKind.EC_P256, now=NOW)


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    key = generate_private_key(KeyKind.RSA_2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    key = generate_private_key(KeyKind.EC_P256)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@functools.cache
def person_cert() -> x509.Certificate:
    return issue_certificate(issuing_ca(), rsa_key().public_key(), Profile.PERSON, PERSON, now=NOW)


def csr_for(key: PrivateKey, *, evil: bool = False) -> x509.CertificateSigningRequest:
    """A CSR; ``evil`` asks for CA:true and a foreign address the CA must ignore."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mallory Root")])
    )
    if evil:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("ceo@elsewhere.test")]), False
        )
    return builder.sign(key, hashes.SHA256())


def write_pem(
    path: Path, items: Iterable[x509.Certificate | x509.CertificateRevocationList]
) -> Path:
    path.write_bytes(b"".join(item.public_bytes(serialization.Encoding.PEM) for item in items))
    return path


def openssl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=check)
