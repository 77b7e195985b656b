"""Signed bundles read once: a prescriber's CMS is verified and parsed once per process.

A signed bundle never changes, so the checked prescription inside it is kept in a small
LRU keyed by the CMS's SHA-256 instead of being verified again at every read.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from cryptography import x509

from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.prescriptions.bundle import Prescription, parse_bundle
from caducee.prescriptions.errors import SignatureRejected

__all__ = ["read_signed", "remember_signed", "verify_and_parse"]

_READ: OrderedDict[str, Prescription] = OrderedDict()
_READ_MAX = 2048


def remember_signed(digest: str, prescription: Prescription) -> Prescription:
    _READ[digest] = prescription
    _READ.move_to_end(digest)
    while len(_READ) > _READ_MAX:
        _READ.popitem(last=False)
    return prescription


def read_signed(signed: bytes) -> Prescription:
    """The checked prescription inside a stored CMS: a signed bundle never changes, so it is
    verified and parsed once per process (keyed by its SHA-256), not at every read."""
    digest = hashlib.sha256(signed).hexdigest()
    known = _READ.get(digest)
    if known is not None:
        return known
    return remember_signed(digest, parse_bundle(verify_signed_data(signed).content))


def verify_and_parse(signed: bytes) -> tuple[x509.Certificate, Prescription]:
    """The signer's certificate and the checked prescription of a prescriber's CMS."""
    try:
        content = verify_signed_data(signed)
    except CryptoError as exc:
        raise SignatureRejected(
            f"signature du prescripteur invalide / prescriber signature invalid ({exc.code})"
        ) from None
    return content.signer_certificate, parse_bundle(content.content)
