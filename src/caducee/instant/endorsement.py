"""Endorsements: an existing device vouches for a new one of the same person (depth one).

A device the person's certificate certified (:func:`.device_keys.certify_device`) signs, with
its own Ed25519 key, ``ENDORSEMENT_MAGIC`` + the new device's public fields (as in a
statement) + its own device id; the endorsement is that body and the signature,
length-prefixed like a statement. A reader checks the endorser's statement against the
person's certificate first (:func:`verify_endorsed_device` does both), so trust still ends at
the certificate, one step away at most: an endorsed device cannot endorse. Parsers raise
:class:`MalformedInstantData` or :class:`ForgedDeviceStatement`, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from caducee.instant import _wire
from caducee.instant.device_keys import (
    DeviceKeys,
    DevicePublicKeys,
    parse_device_fields,
    verify_device_statement,
)
from caducee.instant.errors import ForgedDeviceStatement, MalformedInstantData, UnsupportedSuite

__all__ = [
    "ENDORSEMENT_MAGIC",
    "Endorsement",
    "endorse_device",
    "endorsement_body",
    "endorser_of",
    "is_endorsement",
    "parse_endorsement",
    "verify_endorsed_device",
    "verify_endorsement",
]

ENDORSEMENT_MAGIC = b"caducee-miss-v1 device-endorsement"
MAX_DEVICE_ID = 128


@dataclass(frozen=True)
class Endorsement:
    """A parsed endorsement; its signature is not checked yet."""

    device: DevicePublicKeys
    endorser_id: str
    body: bytes
    signature: bytes


def endorsement_body(new_public: DevicePublicKeys, endorser_id: str) -> bytes:
    """The exact bytes the endorsing device signs."""
    return ENDORSEMENT_MAGIC + new_public.fields() + _wire.text(endorser_id)


def endorse_device(new_public: DevicePublicKeys, endorser_keys: DeviceKeys) -> bytes:
    """Vouch for ``new_public`` with ``endorser_keys`` (same address, another device id)."""
    if new_public.address.lower() != endorser_keys.address:
        raise ForgedDeviceStatement("a device endorses devices of its own address only")
    if new_public.device_id == endorser_keys.device_id:
        raise ForgedDeviceStatement("a device cannot endorse itself")
    body = endorsement_body(new_public, endorser_keys.device_id)
    return _wire.fields(body, endorser_keys.sign(body))


def is_endorsement(document: bytes) -> bool:
    """Whether a stored registration document is an endorsement (else a statement)."""
    try:
        reader = _wire.Reader(document, "device document")
        return reader.field().startswith(ENDORSEMENT_MAGIC)
    except MalformedInstantData:
        return False


def parse_endorsement(data: bytes) -> Endorsement:
    """Read an endorsement without checking its signature; :func:`verify_endorsement` does."""
    outer = _wire.Reader(data, "device endorsement")
    body = outer.field()
    signature = outer.field(exact=64)
    outer.end()
    if not body.startswith(ENDORSEMENT_MAGIC):
        raise MalformedInstantData("device endorsement: not a Caducée MISS device endorsement")
    reader = _wire.Reader(body[len(ENDORSEMENT_MAGIC) :], "device endorsement")
    try:
        device = parse_device_fields(reader, "device endorsement")
    except UnsupportedSuite:
        raise MalformedInstantData("device endorsement: an HPKE KEM nobody speaks") from None
    endorser_id = reader.text()
    reader.end()
    if not endorser_id or len(endorser_id) > MAX_DEVICE_ID:
        raise MalformedInstantData("device endorsement: bad endorser id")
    if endorsement_body(device, endorser_id) != body:
        raise MalformedInstantData("device endorsement: not in canonical form")
    return Endorsement(device, endorser_id, body, signature)


def endorser_of(document: bytes) -> str | None:
    """The endorser's device id of a stored registration document (None: a statement)."""
    if not is_endorsement(document):
        return None
    return parse_endorsement(document).endorser_id


def verify_endorsement(data: bytes, endorser_public: DevicePublicKeys) -> DevicePublicKeys:
    """The new device's keys, if ``endorser_public`` signed this endorsement for its address.

    ``endorser_public`` must come from a statement verified against the person's certificate
    (not from another endorsement: depth one).
    """
    endorsement = parse_endorsement(data)
    device = endorsement.device
    if endorsement.endorser_id != endorser_public.device_id:
        raise ForgedDeviceStatement("the endorsement names another endorsing device")
    if device.address != endorser_public.address.lower():
        raise ForgedDeviceStatement("the endorsement names an address its endorser does not hold")
    if device.device_id == endorser_public.device_id:
        raise ForgedDeviceStatement("a device cannot endorse itself")
    if not endorser_public.verify(endorsement.signature, endorsement.body):
        raise ForgedDeviceStatement("the endorsement is not signed by its endorsing device")
    return device


def verify_endorsed_device(
    endorsement: bytes, endorser_statement: bytes, person_cert: x509.Certificate
) -> DevicePublicKeys:
    """An endorsed device's keys: its endorser certified by ``person_cert``, its signature good.

    What a client does with a listed device that has ``endorsed_by``: the endorser's statement
    must be a certificate statement (an endorsement there is refused), then the endorsement.
    """
    endorser = verify_device_statement(endorser_statement, person_cert)
    return verify_endorsement(endorsement, endorser)
