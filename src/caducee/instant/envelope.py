"""What the server may check of a ciphertext without reading it: its signed routing header.

Every MISS ciphertext is ``field(header) field(payload) field(Ed25519 signature)``
(:mod:`.sender_keys`). The server reads the header (case, sender device, and for a key
distribution the recipient device), checks it against the request, and checks the signature
with the sender device's registered key. So a malformed ciphertext, one made for another case,
or one not signed by the device that posts it is refused before it is stored; the payload
stays opaque. Outside bytes raise :class:`MalformedInstantData`, :class:`UnsupportedSuite`
(an unknown KEM in a key's header), :class:`NotAMember` or :class:`InstantSignatureInvalid`,
nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from caducee.instant.errors import InstantSignatureInvalid, MalformedInstantData, NotAMember
from caducee.instant.sender_keys import (
    _split_signed,
    parse_distribution_header,
    parse_message_header,
)

__all__ = ["Envelope", "MessageKind", "check_envelope"]


class MessageKind(enum.StrEnum):
    """What a case message is, in clear for routing; what it says stays encrypted."""

    MESSAGE = "message"
    EDIT = "edit"
    DELETION = "deletion"  # a marker: "deleted by X at T", never a silent removal
    READ = "read"
    ACK = "ack"  # "je m'en occupe" / "I'm handling it"
    KEY = "key"  # a sender key sealed to one device


@dataclass(frozen=True)
class Envelope:
    kind: MessageKind
    case_id: str
    sender_device_id: str
    generation: int
    recipient_device_id: str | None = None
    counter: int | None = None


def check_envelope(
    kind: MessageKind,
    data: bytes,
    *,
    case_id: str,
    sender_device_id: str,
    signing_public: bytes,
) -> Envelope:
    """The envelope of ``data``, if it is for ``case_id``, from that device, and signed by it."""
    raw_header, _payload, signed, signature = _split_signed(data, "ciphertext")
    if kind is MessageKind.KEY:
        key = parse_distribution_header(raw_header)
        envelope = Envelope(
            kind, key.case_id, key.sender_device_id, key.generation, key.recipient_device_id
        )
    else:
        message = parse_message_header(raw_header)
        envelope = Envelope(
            kind,
            message.case_id,
            message.sender_device_id,
            message.generation,
            counter=message.counter,
        )
    if envelope.case_id != case_id:
        raise NotAMember("ce chiffré est d'une autre conversation / ciphertext of another case")
    if envelope.sender_device_id != sender_device_id:
        raise InstantSignatureInvalid(
            "ce chiffré est d'un autre appareil / ciphertext from another device"
        )
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(signing_public).verify(signature, signed)
    except (InvalidSignature, ValueError):
        raise InstantSignatureInvalid(
            "signature de l'appareil invalide / not signed by the sending device"
        ) from None
    if envelope.recipient_device_id is not None and not envelope.recipient_device_id:
        raise MalformedInstantData("destinataire vide / empty recipient device")
    return envelope
