"""The patient's card (a Carte Vitale model): its test CA, its certificate, its challenge.

We cannot read a real Carte Vitale (SESAM-Vitale is closed), so a card is a key pair on a
PKCS#11 token certified by a "health insurance" CA, the certificate's ``serialNumber`` being
the holder's NIR. To prove the card is in the reader, it signs
``DOMAIN || nonce || "\\n" || audience``, the audience being the pharmacy's mailbox address
(or ``patient`` at the patient's own page): a signature made at one pharmacy is worthless at
another. Like gematik's PoPP token, the access it earns lasts at most 30 minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caducee.crypto.errors import CertificateError, CertificateExpired
from caducee.crypto.keyfile import KeyKind
from caducee.crypto.trust import KeyPurpose
from caducee.crypto.x509_validation import PathValidator
from caducee.errors import CaduceeError
from caducee.formats.nir import parse_nir
from caducee.pki import CertificateAuthority, PKIURLs, create_root_ca, random_serial
from caducee.prescriptions.errors import CardExpired, CardRejected, CardUntrusted

__all__ = [
    "CARD_ACCESS_LIFETIME",
    "CARD_CHALLENGE_DOMAIN",
    "CARD_ORGANISATION",
    "PATIENT_AUDIENCE",
    "CardHolder",
    "CardVerifier",
    "card_challenge_data",
    "create_card_ca",
    "issue_card_certificate",
    "sign_card_challenge",
]

CARD_CHALLENGE_DOMAIN = b"caducee-card-challenge/1\n"
CARD_ACCESS_LIFETIME = dt.timedelta(minutes=30)
CARD_ORGANISATION = "Assurance Maladie (test)"
PATIENT_AUDIENCE = "patient"
MAX_SIGNATURE_BYTES = 1024


def card_challenge_data(nonce: str, audience: str) -> bytes:
    """The bytes the card signs: bound to this challenge and to who asked for it."""
    return CARD_CHALLENGE_DOMAIN + nonce.encode("ascii") + b"\n" + audience.encode("utf-8")


def sign_card_challenge(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, nonce: str, audience: str
) -> bytes:
    """What the card does (ECDSA or RSA PKCS#1 v1.5, SHA-256); the key may be on a token."""
    data = card_challenge_data(nonce, audience)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def create_card_ca(
    *, common_name: str = "Assurance Maladie de test — AC cartes", now: dt.datetime | None = None
) -> CertificateAuthority:
    """A new test "health insurance" CA (EC P-256). Never a real one: say so in its name."""
    return create_root_ca(
        common_name,
        PKIURLs("http://cartes.assurance-maladie.invalid"),
        organisation=CARD_ORGANISATION,
        kind=KeyKind.EC_P256,
        days=10 * 365,
        now=now,
    )


def issue_card_certificate(
    ca: CertificateAuthority,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    nir: str,
    *,
    now: dt.datetime | None = None,
    days: int = 5 * 365,
) -> x509.Certificate:
    """The card's certificate: subject serialNumber = the holder's NIR, client authentication."""
    checked = parse_nir(nir)
    start = now or dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CARD_ORGANISATION),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, checked.body + checked.key),
            x509.NameAttribute(NameOID.COMMON_NAME, "Carte Vitale de test"),
        ]
    )
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.name)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
        .sign(ca.private_key, hashes.SHA256())
    )


@dataclass(frozen=True)
class CardHolder:
    """A card whose answer verified: the holder's NIR and the card certificate's end."""

    nir: str
    fingerprint: str
    not_after: dt.datetime


class CardVerifier:
    """Checks a card's answer against the trusted card CAs (``CardRejected`` and subclasses)."""

    def __init__(self, anchors: Sequence[x509.Certificate]) -> None:
        self._validator = PathValidator(anchors) if anchors else None

    def verify(
        self, certificate_der: bytes, signature: bytes, data: bytes, *, at: dt.datetime
    ) -> CardHolder:
        if self._validator is None:
            raise CardUntrusted(
                "aucune AC de cartes n'est configurée / no card CA is configured on this server"
            )
        if not isinstance(signature, bytes) or not 8 <= len(signature) <= MAX_SIGNATURE_BYTES:
            raise CardRejected("réponse de la carte illisible / unreadable card answer")
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
        except ValueError:
            raise CardRejected(
                "certificat de carte illisible / unreadable card certificate"
            ) from None
        try:
            self._validator.validate(certificate, purpose=KeyPurpose.CLIENT_AUTH, at=at)
        except CertificateExpired:
            raise CardExpired(
                "carte expirée ou pas encore valide / card expired or not yet valid"
            ) from None
        except CertificateError:
            raise CardUntrusted(
                "carte non émise par une AC de l'Assurance Maladie reconnue / card not issued "
                "by a trusted health insurance CA"
            ) from None
        key = certificate.public_key()
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                raise CardRejected("type de clé de carte non pris en charge / unsupported key")
        except InvalidSignature:
            raise CardRejected(
                "la carte n'a pas signé ce défi / the card did not sign this challenge"
            ) from None
        serials = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        try:
            nir = parse_nir(str(serials[0].value)) if len(serials) == 1 else None
        except CaduceeError:
            nir = None
        if nir is None:
            raise CardUntrusted("la carte ne porte pas de NIR valide / no valid NIR on the card")
        return CardHolder(
            nir=nir.body + nir.key,
            fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
            not_after=certificate.not_valid_after_utc,
        )
