"""The card reader at the workstation: the card's key (PKCS#11 token) answers challenges.

Settings: the ``card`` table of ``agent.json``: ``key`` (a ``pkcs11:`` URI, or a key file for a
demonstration) and ``certificate`` (PEM, or read from the token's folder); the PIN comes from
``CADUCEE_CARD_PIN``. A card absent or pulled out mid-way is a ``CardReaderError``: nothing is
sent, nothing is granted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from caducee.agent.config import AgentConfig
from caducee.errors import CaduceeError
from caducee.prescriptions.card import sign_card_challenge

__all__ = ["CARD_PIN_ENV", "CardAnswer", "CardReaderError", "read_card"]

CARD_PIN_ENV = "CADUCEE_CARD_PIN"


class CardReaderError(CaduceeError):
    code = "card-reader"


@dataclass(frozen=True)
class CardAnswer:
    certificate_der: bytes
    signature: bytes


def read_card(config: AgentConfig, nonce: str, audience: str) -> CardAnswer:
    """Open the card, have it sign the bound challenge, close it."""
    from caducee.crypto.key_sources import load_private_key

    settings = config.extra.get("card") or {}
    if not settings.get("key") or not settings.get("certificate"):
        raise CardReaderError("aucun lecteur de carte configuré / no card reader configured")
    try:
        certificate = x509.load_pem_x509_certificate(
            config.path(str(settings["certificate"])).read_bytes()
        )
        reference = str(settings["key"])
        if not reference.lower().startswith("pkcs11:"):
            reference = str(config.path(reference))
        key = load_private_key(reference, os.environ.get(CARD_PIN_ENV))
        try:
            signature = sign_card_challenge(key, nonce, audience)
        finally:
            close = getattr(key, "close", None)
            if close is not None:
                close()
    except (CaduceeError, OSError, ValueError) as exc:
        raise CardReaderError(
            f"carte illisible ou retirée / card unreadable or removed ({type(exc).__name__})"
        ) from None
    return CardAnswer(certificate.public_bytes(serialization.Encoding.DER), signature)
