"""The seam between CMS verification and certificate-path validation.

``crypto.smime`` verifies signatures; whether the signer's certificate is acceptable is asked
of a ``CertificateValidator`` (implemented in ``crypto.x509_validation``), so each side can be
tested alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from cryptography import x509


class KeyPurpose(Enum):
    """What a certificate is being accepted for."""

    EMAIL_SIGNATURE = "email-signature"  # digitalSignature + emailProtection
    EMAIL_ENCRYPTION = "email-encryption"  # keyEncipherment (or keyAgreement) + emailProtection
    CLIENT_AUTH = "client-auth"  # digitalSignature (+ clientAuth when present)


@dataclass(frozen=True)
class ValidatedChain:
    """A certificate accepted for a purpose, with the path that proves it."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # end entity first, trust anchor last
    email_addresses: tuple[str, ...]  # rfc822Name SANs, lower-cased
    checked_at: datetime
    revocation_checked: bool


class CertificateValidator(Protocol):
    """Accepts a certificate for a purpose, or raises a ``CertificateError`` saying why."""

    def validate(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        purpose: KeyPurpose,
        at: datetime | None = None,
    ) -> ValidatedChain: ...
