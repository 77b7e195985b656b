"""The dispensing receipt (gematik's "Quittung"), signed by the server.

A receipt states: this pharmacy accepted prescription X at t1 and closed it at t2 with these
dispensing lines; the prescription signed by the prescriber had SHA-256 D. It is RFC 8785
canonical JSON signed with Ed25519 (RFC 8032) over ``DOMAIN || canonical bytes``; the key is
the server's evidence-log key, whose public half every agent already pins, and the domain
string keeps these signatures apart from evidence records.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from caducee.ledger.canonical_json import canonicalize
from caducee.prescriptions.errors import PrescriptionError

__all__ = [
    "RECEIPT_DOMAIN",
    "RECEIPT_VERSION",
    "ReceiptInvalid",
    "SignedReceipt",
    "sign_receipt",
    "verify_receipt",
]

RECEIPT_VERSION = "caducee-prescription-receipt/1"
RECEIPT_DOMAIN = b"caducee-prescription-receipt/1 signature\n"
_MEMBERS = {
    "v", "prescription_id", "pharmacy", "accepted_at", "completed_at",
    "prescription_sha256", "dispense",
}  # fmt: skip


class ReceiptInvalid(PrescriptionError):
    code = "receipt-invalid"


@dataclass(frozen=True)
class SignedReceipt:
    """The receipt's members and the server's signature over their canonical form."""

    body: Mapping[str, Any]
    signature: bytes

    def to_json(self) -> str:
        sig = base64.b64encode(self.signature).decode("ascii")
        return json.dumps({"receipt": dict(self.body), "alg": "Ed25519", "sig": sig})


def sign_receipt(body: Mapping[str, Any], key: Ed25519PrivateKey) -> SignedReceipt:
    if set(body) != _MEMBERS or body.get("v") != RECEIPT_VERSION:
        raise ReceiptInvalid("reçu incomplet / incomplete receipt")
    return SignedReceipt(dict(body), key.sign(RECEIPT_DOMAIN + canonicalize(dict(body))))


def verify_receipt(text: str | bytes, key: Ed25519PublicKey) -> SignedReceipt:
    """Read a receipt and check the server's signature; ``ReceiptInvalid`` otherwise."""
    try:
        outer = json.loads(text)
        body, sig = outer["receipt"], base64.b64decode(outer["sig"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ReceiptInvalid("reçu illisible / unreadable receipt") from None
    if not isinstance(body, dict) or set(body) != _MEMBERS or outer.get("alg") != "Ed25519":
        raise ReceiptInvalid("reçu mal formé / malformed receipt")
    try:
        key.verify(sig, RECEIPT_DOMAIN + canonicalize(body))
    except InvalidSignature:
        raise ReceiptInvalid("signature du reçu invalide / receipt signature invalid") from None
    return SignedReceipt(body, sig)
