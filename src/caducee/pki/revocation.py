"""Revocation and CRLs (RFC 5280 §5).

State is plain data passed in and out: the caller keeps the issued serials and the revoked
entries (the server's store persists them later); this module only decides and signs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cryptography import x509

from caducee.pki.authority import SIGNATURE_HASH, CertificateAuthority
from caducee.pki.errors import AlreadyRevoked, PKIError, UnknownCertificate

__all__ = [
    "DEFAULT_CRL_LIFETIME",
    "RevokedEntry",
    "build_crl",
    "revoke",
]

DEFAULT_CRL_LIFETIME = dt.timedelta(days=1)

# RFC 5280 §5.3.1: removeFromCRL belongs to delta CRLs, unspecified is better left out.
_REFUSED_REASONS = frozenset({x509.ReasonFlags.remove_from_crl})


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate: its serial, when, and why."""

    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified


def revoke(
    revoked: Sequence[RevokedEntry],
    serial_number: int,
    *,
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    issued: Collection[int] | None = None,
    at: dt.datetime | None = None,
) -> tuple[RevokedEntry, ...]:
    """The revocation list with ``serial_number`` added.

    Raises ``UnknownCertificate`` if ``issued`` is given and lacks the serial,
    ``AlreadyRevoked`` if it is already listed.
    """
    if issued is not None and serial_number not in issued:
        raise UnknownCertificate(f"no certificate with serial {serial_number:x} was issued")
    if any(entry.serial_number == serial_number for entry in revoked):
        raise AlreadyRevoked(f"certificate {serial_number:x} is already revoked")
    if reason in _REFUSED_REASONS:
        raise PKIError(f"revocation reason {reason.value} is not allowed on a full CRL")
    when = at if at is not None else dt.datetime.now(dt.UTC)
    return (*revoked, RevokedEntry(serial_number, when, reason))


def build_crl(
    ca: CertificateAuthority,
    revoked: Sequence[RevokedEntry],
    crl_number: int,
    *,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = DEFAULT_CRL_LIFETIME,
) -> x509.CertificateRevocationList:
    """A full CRL signed by ``ca``, with CRLNumber, AKI and nextUpdate (RFC 5280 §5.2)."""
    if crl_number < 0 or crl_number >= 1 << 159:
        raise PKIError("CRL number must be a non-negative integer of at most 20 octets")
    this_update = now if now is not None else dt.datetime.now(dt.UTC)
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.name)
        .last_update(this_update)
        .next_update(this_update + lifetime)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for entry in sorted(revoked, key=lambda e: e.serial_number):
        item = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at)
        )
        if entry.reason is not x509.ReasonFlags.unspecified:
            item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    return builder.sign(ca.private_key, SIGNATURE_HASH)
