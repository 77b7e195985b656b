"""Certificate-path validation with revocation (RFC 5280 §6, CRLs §6.3, OCSP RFC 6960).

``PathValidator`` implements ``trust.CertificateValidator``. The path is built and checked
by ``cryptography.x509.verification`` (validity, basicConstraints, name chaining, signatures,
CA extensions as in the Web PKI profile); this module adds the purpose checks (keyUsage and
extendedKeyUsage, RFC 8550 §4.4) and revocation, which that library does not do. Revocation
fails hard: a certificate with a CRL distribution point and neither a usable OCSP answer nor
a fresh, correctly signed CRL is refused (``RevocationUnknown``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509 import verification as v
from cryptography.x509.oid import ExtendedKeyUsageOID

from caducee.crypto.errors import (
    CertificateExpired,
    CertificateMissing,
    CertificateRevoked,
    KeyUsageNotAllowed,
    RevocationUnknown,
    UntrustedCertificate,
)
from caducee.crypto.trust import KeyPurpose, ValidatedChain

__all__ = [
    "OCSPRevocationSource",
    "PathValidator",
    "RevocationSource",
    "StaticRevocationSource",
    "describe_certificate",
]


class RevocationSource(Protocol):
    """Supplies the current CRL of an issuer, or ``None`` when it has none at hand."""

    def crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None: ...


@runtime_checkable
class OCSPRevocationSource(RevocationSource, Protocol):
    """A ``RevocationSource`` that can also supply an OCSP response (tried before the CRL)."""

    def ocsp_for(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> ocsp.OCSPResponse | None: ...


def describe_certificate(cert: x509.Certificate) -> str:
    """How errors name a certificate: subject and serial number."""
    return f"certificate {cert.subject.rfc4514_string()!r} (serial {cert.serial_number:x})"


def _verify_signature(
    cert: x509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    key = cert.public_key()
    if algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _check_crl(
    crl: x509.CertificateRevocationList,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    when: dt.datetime,
    skew: dt.timedelta,
) -> None:
    """RFC 5280 §6.3.3: the CRL's issuer, signature and freshness, then the serial."""
    if crl.issuer != issuer.subject:
        raise RevocationUnknown(f"{describe_certificate(cert)}: the CRL is not from its issuer")
    usage = _extension(issuer, x509.KeyUsage)
    if isinstance(usage, x509.KeyUsage) and not usage.crl_sign:
        raise RevocationUnknown(f"{describe_certificate(cert)}: the issuer may not sign CRLs")
    public_key = issuer.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not (
        crl.is_signature_valid(public_key)
    ):
        raise RevocationUnknown(f"{describe_certificate(cert)}: the CRL signature does not verify")
    for ext in crl.extensions:
        if ext.critical and not isinstance(ext.value, x509.CRLNumber | x509.AuthorityKeyIdentifier):
            raise RevocationUnknown(
                f"{describe_certificate(cert)}: unsupported critical CRL extension "
                f"{ext.oid.dotted_string}"
            )
    next_update = crl.next_update_utc
    if crl.last_update_utc > when + skew or next_update is None or next_update + skew < when:
        raise RevocationUnknown(
            f"{describe_certificate(cert)}: the CRL is not current (stale or future)"
        )
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is not None:
        raise CertificateRevoked(
            f"{describe_certificate(cert)} was revoked on {entry.revocation_date_utc.isoformat()}"
            f"{_reason(entry.extensions)}"
        )


def _reason(extensions: x509.Extensions) -> str:
    try:
        reason = extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return ""
    return f" ({reason.value})"


def _ocsp_signer(
    response: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate, when: dt.datetime
) -> x509.Certificate:
    """RFC 6960 §4.2.2.2: the CA itself, or a certificate it issued for id-kp-OCSPSigning."""
    candidates = [issuer, *response.certificates]
    for signer in candidates:
        by_key = response.responder_key_hash == _hash(hashes.SHA1(), _key_bits(signer))  # noqa: S303
        by_name = response.responder_name == signer.subject
        if not (by_key or by_name):
            continue
        if signer is issuer:
            return signer
        eku = _extension(signer, x509.ExtendedKeyUsage)
        try:
            signer.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        valid = signer.not_valid_before_utc <= when <= signer.not_valid_after_utc
        if (
            valid
            and isinstance(eku, x509.ExtendedKeyUsage)
            and ExtendedKeyUsageOID.OCSP_SIGNING in eku
        ):
            return signer
    raise RevocationUnknown(
        f"{describe_certificate(cert)}: the OCSP response is not signed by its CA"
    )


def _check_ocsp(
    response: ocsp.OCSPResponse,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    when: dt.datetime,
    skew: dt.timedelta,
) -> bool:
    """RFC 6960 §3.2: ``True`` if good, ``False`` if unknown; raises if revoked or invalid."""
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return False
    if response.serial_number != cert.serial_number:
        return False
    signer = _ocsp_signer(response, cert, issuer, when)
    if not _verify_signature(
        signer, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
    ):
        raise RevocationUnknown(
            f"{describe_certificate(cert)}: the OCSP response signature does not verify"
        )
    if response.issuer_key_hash != _hash(response.hash_algorithm, _key_bits(issuer)) or (
        response.issuer_name_hash != _hash(response.hash_algorithm, issuer.subject.public_bytes())
    ):
        raise RevocationUnknown(
            f"{describe_certificate(cert)}: the OCSP response is about another issuer"
        )
    next_update = response.next_update_utc
    if response.this_update_utc > when + skew or (
        next_update is not None and next_update + skew < when
    ):
        raise RevocationUnknown(f"{describe_certificate(cert)}: the OCSP response is not current")
    if response.certificate_status is ocsp.OCSPCertStatus.REVOKED:
        when_revoked = response.revocation_time_utc
        reason = response.revocation_reason
        raise CertificateRevoked(
            f"{describe_certificate(cert)} was revoked"
            + (f" on {when_revoked.isoformat()}" if when_revoked else "")
            + (f" ({reason.value})" if reason else "")
        )
    return response.certificate_status is ocsp.OCSPCertStatus.GOOD


def _key_bits(cert: x509.Certificate) -> bytes:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return bytes(asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])


def _hash(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


class StaticRevocationSource:
    """CRLs and OCSP responses supplied up front (tests, offline checks, a local cache)."""

    def __init__(
        self,
        crls: Sequence[x509.CertificateRevocationList] = (),
        ocsp_responses: Sequence[ocsp.OCSPResponse] = (),
    ) -> None:
        self._crls = tuple(crls)
        self._ocsp = tuple(ocsp_responses)

    def crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        matching = [crl for crl in self._crls if crl.issuer == issuer.subject]
        return max(matching, key=lambda crl: crl.last_update_utc, default=None)

    def ocsp_for(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> ocsp.OCSPResponse | None:
        for response in self._ocsp:
            if (
                response.response_status is x509.ocsp.OCSPResponseStatus.SUCCESSFUL
                and response.serial_number == certificate.serial_number
            ):
                return response
        return None


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_purpose(cert: x509.Certificate, purpose: KeyPurpose) -> None:
    """keyUsage and extendedKeyUsage for ``purpose`` (RFC 5280 §4.2.1.3, §4.2.1.12)."""
    usage = _extension(cert, x509.KeyUsage)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    wanted = (
        ExtendedKeyUsageOID.CLIENT_AUTH
        if purpose is KeyPurpose.CLIENT_AUTH
        else ExtendedKeyUsageOID.EMAIL_PROTECTION
    )
    if isinstance(eku, x509.ExtendedKeyUsage) and not (
        wanted in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
    ):
        raise KeyUsageNotAllowed(
            f"{describe_certificate(cert)}: extendedKeyUsage lacks {wanted._name}"
        )
    if isinstance(usage, x509.KeyUsage):
        if purpose is KeyPurpose.EMAIL_ENCRYPTION:
            allowed = usage.key_encipherment or usage.key_agreement
            what = "keyEncipherment or keyAgreement"
        else:
            allowed = usage.digital_signature or (
                purpose is KeyPurpose.EMAIL_SIGNATURE and usage.content_commitment
            )
            what = "digitalSignature"
        if not allowed:
            raise KeyUsageNotAllowed(f"{describe_certificate(cert)}: keyUsage lacks {what}")


def _emails(cert: x509.Certificate) -> tuple[str, ...]:
    san = _extension(cert, x509.SubjectAlternativeName)
    if not isinstance(san, x509.SubjectAlternativeName):
        return ()
    return tuple(name.lower() for name in san.get_values_for_type(x509.RFC822Name))


class PathValidator:
    """Accepts a certificate chaining to one of ``trust_anchors``, unrevoked, fit for a purpose.

    ``intermediates`` given here are always available for path building, besides those the
    caller passes to ``validate``. ``revocation`` supplies CRLs (and OCSP responses).
    """

    def __init__(
        self,
        trust_anchors: Sequence[x509.Certificate],
        *,
        intermediates: Sequence[x509.Certificate] = (),
        revocation: RevocationSource | None = None,
        max_chain_depth: int = 6,
        clock_skew: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        if not trust_anchors:
            raise ValueError("PathValidator needs at least one trust anchor")
        self._store = v.Store(list(trust_anchors))
        self._intermediates = tuple(intermediates)
        self._revocation = revocation
        self._depth = max_chain_depth
        self._skew = clock_skew

    def validate(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        purpose: KeyPurpose,
        at: dt.datetime | None = None,
    ) -> ValidatedChain:
        """RFC 5280 §6.1 path validation at ``at`` (default now), then revocation (§6.3)."""
        if certificate is None:
            raise CertificateMissing("no certificate to validate")
        when = dt.datetime.now(dt.UTC) if at is None else at
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        # 1. The end entity's own validity period, reported precisely.
        if when < certificate.not_valid_before_utc:
            raise CertificateExpired(
                f"{describe_certificate(certificate)} is not valid before "
                f"{certificate.not_valid_before_utc.isoformat()}"
            )
        if when > certificate.not_valid_after_utc:
            raise CertificateExpired(
                f"{describe_certificate(certificate)} expired on "
                f"{certificate.not_valid_after_utc.isoformat()}"
            )
        # 2. Purpose: keyUsage / extendedKeyUsage.
        _check_purpose(certificate, purpose)
        # 3. The path to a trust anchor (signatures, validity, CA constraints).
        verifier = (
            v.PolicyBuilder()
            .store(self._store)
            .time(when)
            .max_chain_depth(self._depth)
            .extension_policies(
                ca_policy=v.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=v.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        pool = [*self._intermediates, *intermediates]
        try:
            chain = tuple(verifier.verify(certificate, pool).chain)
        except v.VerificationError as exc:
            raise UntrustedCertificate(
                f"{describe_certificate(certificate)}: no valid path to a trust anchor ({exc})"
            ) from None
        # 4. Revocation of every certificate but the anchor (RFC 5280 §6.3, RFC 6960).
        checked = self._check_revocation(chain, when)
        return ValidatedChain(
            certificate=certificate,
            chain=chain,
            email_addresses=_emails(certificate),
            checked_at=when,
            revocation_checked=checked,
        )

    def _check_revocation(self, chain: tuple[x509.Certificate, ...], when: dt.datetime) -> bool:
        all_checked = True
        for cert, issuer in itertools.pairwise(chain):
            if isinstance(self._revocation, OCSPRevocationSource):
                response = self._revocation.ocsp_for(cert, issuer)
                if response is not None and _check_ocsp(response, cert, issuer, when, self._skew):
                    continue
            crl = self._revocation.crl_for(issuer) if self._revocation is not None else None
            if crl is not None:
                _check_crl(crl, cert, issuer, when, self._skew)
                continue
            if _extension(cert, x509.CRLDistributionPoints) is not None:
                raise RevocationUnknown(
                    f"{describe_certificate(cert)}: has a CRL distribution point but no CRL "
                    "or OCSP answer is available"
                )
            all_checked = False
        return all_checked
