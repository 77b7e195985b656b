"""Device keys and the device statement the person's certificate key signs.

Each device (a phone's browser, a desktop agent) holds an HPKE key pair (hybrid
ML-KEM-768 + X25519 by default, X25519 alone as the fallback) to receive sender keys, and an
Ed25519 key to sign what it sends. The person certifies the device by signing a statement
(device id, person address, both public keys, created-at) with their certificate's key (RSA
PKCS#1 v1.5 or ECDSA, SHA-256, as the CMS layer signs); anyone holding that certificate checks
it with :func:`verify_device_statement`. Validating the certificate itself (path, revocation)
is the caller's job, with :mod:`caducee.crypto.x509_validation`.

A new device is approved in one of two ways:

- by the person's agent, which holds the certificate key: :func:`certify_device` (a
  *statement*, magic ``caducee-miss-v1 device``);
- by one of the person's existing devices, with its Ed25519 key: an *endorsement*
  (:mod:`caducee.instant.endorsement`, magic ``caducee-miss-v1 device-endorsement``): the new
  device's public fields, as in a statement, then the endorsing device's id, signed by that
  device. Depth one: only a device certified by a statement may endorse, it must be active and
  of the same address as the new device. Revoking an endorser revokes the devices it endorsed.
  The server records the registration as a ``DeviceRegistered`` record whose extras name the
  endorser (``endorsed_by``); listings give the endorsement with the endorser's statement, and
  a client checks both with :func:`caducee.instant.endorsement.verify_endorsed_device`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from caducee.instant import _wire
from caducee.instant._hpke import HpkeKeyPair, Kem, load_public_key
from caducee.instant.errors import ForgedDeviceStatement, MalformedInstantData

STATEMENT_MAGIC = b"caducee-miss-v1 device"
PersonKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class DevicePublicKeys:
    """What a device publishes: enough to seal sender keys to it and to check its signatures."""

    device_id: str
    address: str
    kem: Kem
    hpke_public: bytes
    signing_public: bytes
    created_at: datetime.datetime

    def fields(self) -> bytes:
        """The public fields, as a statement and an endorsement carry them."""
        return b"".join(
            [
                _wire.text(self.device_id),
                _wire.text(self.address.lower()),
                _wire.integer(self.kem.value),
                _wire.field(self.hpke_public),
                _wire.field(self.signing_public),
                _wire.integer(int(self.created_at.timestamp())),
            ]
        )

    def body(self) -> bytes:
        """The exact bytes the person's certificate key signs."""
        return STATEMENT_MAGIC + self.fields()

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this device's Ed25519 signature over ``data``."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.signing_public).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


class DeviceKeys:
    """A device's private keys. Keep them on the device; publish :meth:`public`."""

    def __init__(
        self,
        device_id: str,
        address: str,
        hpke_key: HpkeKeyPair,
        signing_key: ed25519.Ed25519PrivateKey,
        created_at: datetime.datetime,
    ) -> None:
        self.device_id = device_id
        self.address = address.lower()
        self.hpke_key = hpke_key
        self._signing_key = signing_key
        self.created_at = created_at.replace(microsecond=0)

    @classmethod
    def generate(
        cls,
        device_id: str,
        address: str,
        *,
        kem: Kem = Kem.MLKEM768_X25519,
        now: datetime.datetime | None = None,
    ) -> DeviceKeys:
        """New keys; post-quantum hybrid unless ``kem`` says otherwise."""
        when = now or datetime.datetime.now(datetime.UTC)
        return cls(
            device_id,
            address,
            HpkeKeyPair.generate(kem),
            ed25519.Ed25519PrivateKey.generate(),
            when,
        )

    def public(self) -> DevicePublicKeys:
        return DevicePublicKeys(
            device_id=self.device_id,
            address=self.address,
            kem=self.hpke_key.kem,
            hpke_public=self.hpke_key.public_bytes(),
            signing_public=self._signing_key.public_key().public_bytes_raw(),
            created_at=self.created_at,
        )

    def sign(self, data: bytes) -> bytes:
        return self._signing_key.sign(data)

    def open(self, sealed: bytes, info: bytes) -> bytes:
        return self.hpke_key.open(sealed, info)


def certify_device(device: DevicePublicKeys, person_key: PersonKey) -> bytes:
    """The statement: ``body`` and the person's signature over it, length-prefixed."""
    body = device.body()
    if isinstance(person_key, ec.EllipticCurvePrivateKey):
        signature = person_key.sign(body, ec.ECDSA(hashes.SHA256()))
    else:
        signature = person_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return _wire.fields(body, signature)


def _certificate_emails(cert: x509.Certificate) -> set[str]:
    emails: set[str] = set()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails.update(e.lower() for e in san.get_values_for_type(x509.RFC822Name))
    except x509.ExtensionNotFound:
        pass
    for attribute in cert.subject.get_attributes_for_oid(x509.NameOID.EMAIL_ADDRESS):
        emails.add(str(attribute.value).lower())
    return emails


def _check_person_signature(cert: x509.Certificate, signature: bytes, body: bytes) -> None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
        else:
            raise ForgedDeviceStatement("the person's certificate key cannot certify devices")
    except (InvalidSignature, ValueError):
        raise ForgedDeviceStatement(
            "the device statement is not signed by this certificate"
        ) from None


def parse_device_fields(reader: _wire.Reader, what: str) -> DevicePublicKeys:
    """A device's public fields from ``reader`` (sizes, KEM and created-at checked)."""
    device_id = reader.text()
    address = reader.text()
    kem = Kem.from_id(reader.integer())
    hpke_public = reader.field()
    signing_public = reader.field(exact=32)
    seconds = reader.integer()
    load_public_key(kem, hpke_public)
    if not device_id or not address:
        raise MalformedInstantData(f"{what}: empty device id or address")
    try:
        created_at = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedInstantData(f"{what}: created-at out of range") from None
    return DevicePublicKeys(device_id, address, kem, hpke_public, signing_public, created_at)


def parse_device_statement(statement: bytes) -> tuple[DevicePublicKeys, bytes]:
    """Read a statement without checking its signature; :func:`verify_device_statement` does."""
    outer = _wire.Reader(statement, "device statement")
    body = outer.field()
    signature = outer.field()
    outer.end()
    if not body.startswith(STATEMENT_MAGIC):
        raise MalformedInstantData("device statement: not a Caducée MISS device statement")
    reader = _wire.Reader(body[len(STATEMENT_MAGIC) :], "device statement")
    device = parse_device_fields(reader, "device statement")
    reader.end()
    if device.body() != body:
        raise MalformedInstantData("device statement: not in canonical form")
    return device, signature


def verify_device_statement(statement: bytes, person_cert: x509.Certificate) -> DevicePublicKeys:
    """The device's public keys, if the statement is signed by ``person_cert`` for its address.

    Raises :class:`ForgedDeviceStatement` (bad signature, another person's address) or
    :class:`MalformedInstantData`; nothing else.
    """
    device, signature = parse_device_statement(statement)
    _check_person_signature(person_cert, signature, device.body())
    if device.address not in _certificate_emails(person_cert):
        raise ForgedDeviceStatement(
            "the device statement names an address the certificate does not hold"
        )
    return device
