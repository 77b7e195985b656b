"""The signed acknowledgement a recipient's agent sends after decrypting and verifying.

The statement is :class:`caducee.ledger.AckStatement` (``caducee-ack/1``, RFC 8785 canonical
JSON: the message id, the SHA-256 of the ciphertext as fetched, the mailbox address, the
time); it is signed with the person's own key (a file or a token) as an attached CMS
SignedData with the signer's certificate (RFC 5652 §5). The server checks it and records its
digest in the ``ConsignmentAcceptance`` evidence: proof, signed by the recipient, that the
message was opened, which the operator cannot forge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509

from caducee.crypto.cms_sign import SignerKey, sign_data
from caducee.ledger import AckStatement

__all__ = ["AckSigner"]


class AckSigner:
    """Signs acknowledgements for one mailbox (thread-safe: token keys hold their own lock)."""

    def __init__(
        self,
        *,
        address: str,
        certificate: x509.Certificate,
        key: SignerKey,
        extra_certs: Sequence[x509.Certificate] = (),
    ) -> None:
        self.address = address.lower()
        self.certificate = certificate
        self.key = key
        self.extra_certs = tuple(extra_certs)

    def statement(self, message_id: str, ciphertext_sha256: str, when: datetime) -> bytes:
        return AckStatement(message_id, ciphertext_sha256, self.address, when).to_bytes()

    def __call__(
        self, message_id: str, ciphertext_sha256: str, when: datetime | None = None
    ) -> bytes:
        """The DER ContentInfo of the signed statement (signing time = statement time)."""
        when = (when or datetime.now(UTC)).replace(microsecond=0)
        content = self.statement(message_id, ciphertext_sha256, when)
        return sign_data(
            content,
            self.certificate,
            self.key,
            extra_certs=self.extra_certs,
            signing_time=when,
        )
