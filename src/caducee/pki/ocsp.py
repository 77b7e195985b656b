"""OCSP responses for the issuing CA (RFC 6960).

``build_ocsp_response`` answers one request: ``good`` for a serial we issued and did not revoke,
``revoked`` with time and reason, ``unknown`` otherwise; a request about another CA gets
``unauthorized`` (RFC 6960 §2.3). The response is signed by the CA itself, or by a delegated
responder certificate carrying id-kp-OCSPSigning (§4.2.2.2). State comes in as plain data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from caducee.crypto.keyfile import PrivateKey
from caducee.pki.authority import SIGNATURE_HASH, CertificateAuthority
from caducee.pki.errors import PKIError
from caducee.pki.revocation import RevokedEntry

__all__ = [
    "DEFAULT_OCSP_LIFETIME",
    "OCSPResponder",
    "build_ocsp_response",
    "load_ocsp_request",
]

DEFAULT_OCSP_LIFETIME = dt.timedelta(hours=12)


@dataclass(frozen=True)
class OCSPResponder:
    """A delegated OCSP signer: its certificate (issued by the CA) and key."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def __post_init__(self) -> None:
        try:
            eku = self.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            raise PKIError("OCSP responder certificate lacks id-kp-OCSPSigning") from None
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value:
            raise PKIError("OCSP responder certificate lacks id-kp-OCSPSigning")


def load_ocsp_request(data: bytes) -> ocsp.OCSPRequest:
    """Read a DER OCSP request, or raise ``PKIError``."""
    try:
        return ocsp.load_der_ocsp_request(data)
    except ValueError as exc:
        raise PKIError(f"unreadable OCSP request: {exc}") from None


def _key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING value that CertID.issuerKeyHash covers (§4.1.1)."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return bytes(asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])


def _matches_issuer(request: ocsp.OCSPRequest, issuer: x509.Certificate) -> bool:
    name = hashlib.new(request.hash_algorithm.name, issuer.subject.public_bytes()).digest()
    key = hashlib.new(request.hash_algorithm.name, _key_bits(issuer)).digest()
    return name == request.issuer_name_hash and key == request.issuer_key_hash


def build_ocsp_response(
    request: ocsp.OCSPRequest,
    ca: CertificateAuthority,
    *,
    issued: Collection[int],
    revoked: Sequence[RevokedEntry],
    responder: OCSPResponder | None = None,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = DEFAULT_OCSP_LIFETIME,
) -> ocsp.OCSPResponse:
    """A signed answer about the one certificate in ``request`` (RFC 6960 §4.2)."""
    try:
        algorithm = request.hash_algorithm
        ours = _matches_issuer(request, ca.certificate)
    except Exception:  # unsupported CertID hash algorithm
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )
    if not ours:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    this_update = now if now is not None else dt.datetime.now(dt.UTC)
    serial = request.serial_number
    entry = next((e for e in revoked if e.serial_number == serial), None)
    if entry is not None:
        status = ocsp.OCSPCertStatus.REVOKED
    elif serial in issued:
        status = ocsp.OCSPCertStatus.GOOD
    else:
        status = ocsp.OCSPCertStatus.UNKNOWN
    reason = None
    if entry is not None and entry.reason is not x509.ReasonFlags.unspecified:
        reason = entry.reason
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        serial_number=serial,
        algorithm=algorithm,
        cert_status=status,
        this_update=this_update,
        next_update=this_update + lifetime,
        revocation_time=entry.revoked_at if entry is not None else None,
        revocation_reason=reason,
    )
    for extension in request.extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    if responder is None:
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.certificate)
        return builder.sign(ca.private_key, SIGNATURE_HASH)
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
    builder = builder.certificates([responder.certificate])
    return builder.sign(responder.private_key, SIGNATURE_HASH)
