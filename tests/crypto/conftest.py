"""Fixtures for the CMS / S/MIME tests.

SYNTHETIC TEST MATERIAL: a throwaway CA, a sender and two recipients, generated afresh for
each test session with ``cryptography``'s ``CertificateBuilder``. No real person, key or
certificate appears here. Each party exists in RSA-2048 and ECDSA P-256 flavours, with the
emailProtection EKU and an rfc822Name SAN, as an S/MIME certificate must have.
"""

from __future__ import annotations

import datetime
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caducee.crypto.errors import UntrustedCertificate
from caducee.crypto.trust import KeyPurpose, ValidatedChain

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
NOW = datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Party:
    """A synthetic certificate holder, with its files on disk for the command-line peers."""

    name: str
    email: str
    cert: x509.Certificate
    key: PrivateKey
    cert_pem: Path
    key_pem: Path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Caducee SYNTHETIC TEST"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _new_key(kind: str) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _write(
    directory: Path, stem: str, cert: x509.Certificate, key: PrivateKey
) -> tuple[Path, Path]:
    cert_pem = directory / f"{stem}.pem"
    key_pem = directory / f"{stem}.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_pem, key_pem


@dataclass(frozen=True)
class SyntheticPKI:
    """The synthetic CA and its end entities."""

    directory: Path
    ca: Party
    parties: dict[str, Party]

    def __getitem__(self, name: str) -> Party:
        return self.parties[name]


def _build_pki(directory: Path) -> SyntheticPKI:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("Caducee SYNTHETIC Test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_files = _write(directory, "ca", ca_cert, ca_key)
    ca = Party("ca", "", ca_cert, ca_key, *ca_files)
    parties: dict[str, Party] = {}
    for who in ("sender", "rcpt1", "rcpt2"):
        for kind in ("rsa", "ec"):
            key = _new_key(kind)
            email = f"{who}.{kind}@synthetic.caducee.test"
            cert = (
                x509.CertificateBuilder()
                .subject_name(_name(f"{who} {kind} SYNTHETIC"))
                .issuer_name(ca_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(NOW - datetime.timedelta(days=1))
                .not_valid_after(NOW + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        True, True, kind == "rsa", False, kind == "ec", False, False, False, False
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
                )
                .add_extension(
                    x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
                )
                .sign(ca_key, hashes.SHA256())
            )
            name = f"{who}_{kind}"
            parties[name] = Party(name, email, cert, key, *_write(directory, name, cert, key))
    return SyntheticPKI(directory, ca, parties)


@pytest.fixture(scope="session")
def pki() -> Iterator[SyntheticPKI]:
    """The synthetic PKI, written in a private temp dir for openssl / gpgsm.

    (Not under pytest's basetemp: a concurrent pytest run may prune that while we use it.)
    """
    with tempfile.TemporaryDirectory(prefix="caducee-pki-") as directory:
        yield _build_pki(Path(directory))


class FakeValidator:
    """Stands in for ``crypto.x509_validation`` (tested elsewhere): issuer must be our test CA."""

    def __init__(self, ca: x509.Certificate) -> None:
        self.ca = ca

    def validate(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        purpose: KeyPurpose,
        at: datetime.datetime | None = None,
    ) -> ValidatedChain:
        if certificate.issuer != self.ca.subject:
            raise UntrustedCertificate("not issued by the synthetic test CA")
        try:
            certificate.verify_directly_issued_by(self.ca)
        except Exception as exc:
            raise UntrustedCertificate("bad issuer signature") from exc
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        emails = tuple(e.lower() for e in san.value.get_values_for_type(x509.RFC822Name))
        return ValidatedChain(certificate, (certificate, self.ca), emails, at or NOW, False)


@pytest.fixture(scope="session")
def validator(pki: SyntheticPKI) -> FakeValidator:
    return FakeValidator(pki.ca.cert)


def run(args: Sequence[str | Path], data: bytes | None = None, **kw: object) -> bytes:
    """Run a peer command, fail the test with its stderr if it fails."""
    proc = subprocess.run(
        [str(a) for a in args], input=data, capture_output=True, check=False, timeout=60, **kw
    )  # type: ignore[call-overload]
    if proc.returncode != 0:
        pytest.fail(f"{args[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    out: bytes = proc.stdout
    return out


def inner_message(sender: str, to: str, body: str = "Bonjour,\nrésultats joints.\n") -> bytes:
    """A small synthetic RFC 5322 message (8-bit body, LF line ends as a practice app writes)."""
    return (
        f"From: Dr Synthetique <{sender}>\nTo: <{to}>\nSubject: Résultats de M. FICTIF\n"
        "Date: Sun, 29 Nov 2026 10:00:00 +0100\nMessage-ID: <synthetic-1@caducee.test>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 8bit\n\n{body}"
    ).encode()


def flip(data: bytes, position: int, mask: int) -> bytes:
    """``data`` with one byte XOR-ed."""
    out = bytearray(data)
    out[position] ^= mask
    return bytes(out)
