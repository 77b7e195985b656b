"""Issuing end-entity certificates from a CSR (RFC 2986) or a bare public key (RFC 5280).

Only the CSR's public key is used, once its self-signature proves possession of the private
key; subject, addresses and extensions come from the operator (``Holder`` + ``Profile``).
CSR attributes and requested extensions are ignored on purpose.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from caducee.pki.authority import SIGNATURE_HASH, CertificateAuthority, random_serial
from caducee.pki.errors import InvalidCSR, ProfileError
from caducee.pki.profiles import Holder, Profile, build_extensions, build_subject

__all__ = [
    "DEFAULT_VALIDITY",
    "MIN_RSA_BITS",
    "issue_certificate",
    "issue_from_csr",
    "load_csr",
]

DEFAULT_VALIDITY = dt.timedelta(days=3 * 365)
MIN_RSA_BITS = 2048
ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1)
BACKDATE = dt.timedelta(minutes=5)  # tolerate clock skew of relying parties

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Read a PEM or DER CSR, or raise ``InvalidCSR``."""
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise InvalidCSR(f"unreadable certificate request: {exc}") from None


def _check_public_key(key: object) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidCSR(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} needed")
        if key.public_numbers().e != 65537:
            raise InvalidCSR("RSA public exponent must be 65537")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ACCEPTED_CURVES):
            raise InvalidCSR(f"EC curve {key.curve.name} not accepted; P-256 or P-384")
        return key
    raise InvalidCSR(f"key type {type(key).__name__} not accepted; RSA or EC")


def issue_certificate(
    ca: CertificateAuthority,
    public_key: PublicKey,
    profile: Profile,
    holder: Holder,
    *,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a certificate for ``public_key`` under ``profile`` (validity capped at the CA's)."""
    key = _check_public_key(public_key)
    if validity <= dt.timedelta(0):
        raise ProfileError("validity must be positive")
    start = now if now is not None else dt.datetime.now(dt.UTC)
    not_before = start - BACKDATE
    not_after = min(start + validity, ca.certificate.not_valid_after_utc)
    if not_after <= not_before:
        raise ProfileError("the issuing CA has expired")
    builder = (
        x509.CertificateBuilder()
        .subject_name(build_subject(profile, holder))
        .issuer_name(ca.name)
        .public_key(key)
        .serial_number(random_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension, critical in build_extensions(profile, holder, key, ca.certificate, ca.urls):
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca.private_key, SIGNATURE_HASH)


def issue_from_csr(
    ca: CertificateAuthority,
    csr: x509.CertificateSigningRequest | bytes,
    profile: Profile,
    holder: Holder,
    *,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """Check the CSR's self-signature (proof of possession), then issue for its key only."""
    request = load_csr(csr) if isinstance(csr, bytes) else csr
    try:
        valid = request.is_signature_valid
        public_key = request.public_key()
    except Exception as exc:  # unsupported algorithm or broken key encoding
        raise InvalidCSR(f"cannot check the request's signature: {exc}") from None
    if not valid:
        raise InvalidCSR("the request's self-signature does not verify")
    return issue_certificate(
        ca, _check_public_key(public_key), profile, holder, validity=validity, now=now
    )
