"""Check a recipient's signed acknowledgement before the relay records it.

The agent signs an :class:`~caducee.ledger.AckStatement` with the mailbox's own key (CMS,
attached, signer certificate included). The relay accepts it only if the signature verifies,
the statement names this message, this ciphertext and this mailbox, and the signer's
certificate is one the operator CA issued to this mailbox and has not revoked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from cryptography.hazmat.primitives import hashes

from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.ledger import AckStatement, LedgerError
from caducee.relay.errors import InvalidAcknowledgement

__all__ = ["MAX_ACK_SIZE", "acknowledgement_digest", "check_acknowledgement"]

MAX_ACK_SIZE = 64 * 1024


def check_acknowledgement(
    der: bytes,
    *,
    message_id: str,
    ciphertext_sha256: str,
    recipient: str,
    fingerprints: Collection[str],
) -> AckStatement:
    """The verified statement; ``fingerprints`` are the mailbox's valid certificates' SHA-256."""
    if len(der) > MAX_ACK_SIZE:
        raise InvalidAcknowledgement(f"an acknowledgement is at most {MAX_ACK_SIZE} bytes")
    try:
        signed = verify_signed_data(der)
        statement = AckStatement.from_bytes(signed.content)
    except (CryptoError, LedgerError) as exc:
        raise InvalidAcknowledgement(f"the acknowledgement does not verify: {exc}") from None
    if signed.signer_certificate.fingerprint(hashes.SHA256()).hex() not in fingerprints:
        raise InvalidAcknowledgement(
            "the acknowledgement is not signed with a valid certificate of this mailbox"
        )
    expected = (message_id, ciphertext_sha256, recipient.lower())
    if (statement.message_id, statement.ciphertext_sha256, statement.recipient.lower()) != expected:
        raise InvalidAcknowledgement("the acknowledgement is about another message or mailbox")
    return statement


def acknowledgement_digest(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()
