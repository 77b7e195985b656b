"""The operator's certification authorities: a root CA and an issuing CA (RFC 5280 §4.2.1.9).

A CA directory holds ``<name>.key.pem`` (encrypted PKCS#8, via ``crypto.keyfile``) and
``<name>.cert.pem``. The root signs only the issuing CA (pathLenConstraint 0); the issuing CA
signs end entities, CRLs and OCSP responses.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from caducee.crypto.errors import CryptoError
from caducee.crypto.keyfile import (
    DEFAULT_KDF_ROUNDS,
    KeyKind,
    PrivateKey,
    generate_private_key,
    load_key_file,
    save_key_file,
)
from caducee.pki.errors import AuthorityError
from caducee.pki.profiles import PKIURLs

__all__ = [
    "CertificateAuthority",
    "create_issuing_ca",
    "create_root_ca",
    "load_authority",
    "random_serial",
    "save_authority",
]

SIGNATURE_HASH = hashes.SHA256()


def random_serial() -> int:
    """A positive random serial of at most 159 bits (RFC 5280 §4.1.2.2: ≤ 20 octets)."""
    while True:
        serial = int.from_bytes(os.urandom(20), "big") >> 1
        if serial >= 1 << 64:  # at least 64 bits of entropy, never 0
            return serial


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its signing key; ``chain`` runs from its issuer up to the root."""

    certificate: x509.Certificate
    private_key: PrivateKey
    urls: PKIURLs
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    @property
    def is_root(self) -> bool:
        return not self.chain


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def _ca_name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    path_length: int | None,
    start: dt.datetime,
    days: int,
) -> x509.CertificateBuilder:
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )


def create_root_ca(
    common_name: str,
    urls: PKIURLs,
    *,
    organisation: str = "Caducée",
    kind: KeyKind = KeyKind.RSA_3072,
    days: int = 20 * 365,
    now: dt.datetime | None = None,
    key: PrivateKey | None = None,
) -> CertificateAuthority:
    """A new self-signed root CA (keyCertSign + cRLSign, CA:true critical)."""
    key = key if key is not None else generate_private_key(kind)
    name = _ca_name(common_name, organisation)
    builder = _ca_builder(name, name, key.public_key(), key.public_key(), 1, _now(now), days)
    return CertificateAuthority(builder.sign(key, SIGNATURE_HASH), key, urls)


def create_issuing_ca(
    root: CertificateAuthority,
    common_name: str,
    *,
    organisation: str = "Caducée",
    kind: KeyKind = KeyKind.RSA_3072,
    days: int = 8 * 365,
    now: dt.datetime | None = None,
    key: PrivateKey | None = None,
) -> CertificateAuthority:
    """An issuing CA signed by ``root`` (pathLen 0, root CRL and AIA URLs)."""
    key = key if key is not None else generate_private_key(kind)
    start = _now(now)
    days = min(days, (root.certificate.not_valid_after_utc - start).days)
    builder = _ca_builder(
        _ca_name(common_name, organisation),
        root.name,
        key.public_key(),
        root.private_key.public_key(),
        0,
        start,
        days,
    )
    crl = x509.DistributionPoint(
        [x509.UniformResourceIdentifier(root.urls.root_crl)], None, None, None
    )
    aia = x509.AccessDescription(
        AuthorityInformationAccessOID.CA_ISSUERS,
        x509.UniformResourceIdentifier(root.urls.root_ca_cert),
    )
    builder = builder.add_extension(x509.CRLDistributionPoints([crl]), critical=False)
    builder = builder.add_extension(x509.AuthorityInformationAccess([aia]), critical=False)
    certificate = builder.sign(root.private_key, SIGNATURE_HASH)
    return CertificateAuthority(certificate, key, root.urls, (root.certificate, *root.chain))


def _paths(directory: Path, name: str) -> tuple[Path, Path, Path]:
    return (
        directory / f"{name}.key.pem",
        directory / f"{name}.cert.pem",
        directory / f"{name}.chain.pem",
    )


def save_authority(
    ca: CertificateAuthority,
    directory: str | os.PathLike[str],
    name: str,
    passphrase: bytes,
    *,
    kdf_rounds: int = DEFAULT_KDF_ROUNDS,
) -> None:
    """Write the key (encrypted, 0600), certificate and chain (PEM); never overwrite."""
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, cert_path, chain_path = _paths(folder, name)
    for path in (key_path, cert_path, chain_path):
        if path.exists():
            raise AuthorityError(f"{path} already exists; not overwritten")
    try:
        save_key_file(key_path, ca.private_key, passphrase, kdf_rounds=kdf_rounds)
    except CryptoError as exc:
        raise AuthorityError(f"cannot save CA key: {exc.reason}") from exc
    with open(cert_path, "xb") as handle:
        handle.write(ca.certificate.public_bytes(serialization.Encoding.PEM))
    with open(chain_path, "xb") as handle:
        for cert in ca.chain:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))


def load_authority(
    directory: str | os.PathLike[str], name: str, passphrase: bytes, urls: PKIURLs
) -> CertificateAuthority:
    """Read a CA written by ``save_authority``; the key must match the certificate.

    Key errors (``WrongPassphrase``, ``KeyNotFound``...) propagate from ``crypto.keyfile``.
    """
    key_path, cert_path, chain_path = _paths(Path(directory), name)
    key = load_key_file(key_path, passphrase)
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        chain: Sequence[x509.Certificate] = (
            x509.load_pem_x509_certificates(chain_path.read_bytes())
            if chain_path.read_bytes().strip()
            else []
        )
    except (OSError, ValueError) as exc:
        raise AuthorityError(f"cannot read CA {name} in {directory}: {exc}") from None
    if certificate.public_key() != key.public_key():
        raise AuthorityError(f"CA {name}: the key does not match the certificate")
    return CertificateAuthority(certificate, key, urls, tuple(chain))
