"""Password-less authentication and enrolment of mailboxes.

An agent asks for a challenge, signs it with the private key of one of its mailbox's
certificates, and gets a short-lived opaque access token bound to that certificate: revoking
the certificate kills the token. Enrolment codes are one-time secrets the operator hands over
out of band. Every secret is stored as its SHA-256 only, and consumed by one conditional
UPDATE so that two concurrent uses cannot both succeed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.certificates import CertificateRegistry
from caducee.directory.errors import (
    CertificateNotValid,
    CertificateRevoked,
    InvalidChallenge,
    InvalidEnrolmentCode,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    UnknownMailbox,
)
from caducee.directory.models import (
    AccessToken,
    AuthChallenge,
    CertificateStatus,
    EnrolmentCode,
    Mailbox,
    MailboxCertificate,
    Organisation,
    Person,
)
from caducee.evidence import EvidenceLog
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = [
    "CHALLENGE_LIFETIME",
    "ENROLMENT_CODE_LIFETIME",
    "TOKEN_LIFETIME",
    "AuthenticatedMailbox",
    "CredentialService",
    "EnrolmentSubject",
    "IssuedToken",
    "digest",
    "normalise_code",
    "verify_signature",
]

log = logging.getLogger(__name__)

CHALLENGE_LIFETIME = timedelta(minutes=2)
TOKEN_LIFETIME = timedelta(minutes=15)
ENROLMENT_CODE_LIFETIME = timedelta(days=7)


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AuthenticatedMailbox:
    """Who is calling: a mailbox, through one of its certificates."""

    mailbox_id: int
    address: str
    kind: str
    serial_hex: str
    # When the token or its certificate stops being valid (whichever comes first).
    valid_until: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class EnrolmentSubject:
    """What the CA needs to know about the mailbox an enrolment code was made for."""

    address: str
    kind: str
    rpps: str | None
    given_name: str | None
    family_name: str | None
    organisation: str | None


def verify_signature(certificate: x509.Certificate, signature: bytes, data: bytes) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` over ``data`` verifies with the key.

    RSA: PKCS#1 v1.5 or PSS with SHA-256; EC: ECDSA with SHA-256; Ed25519.
    """
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except _CryptoInvalidSignature:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                key.verify(signature, data, pss, hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise InvalidSignature("this certificate's key type cannot sign challenges")
    except (_CryptoInvalidSignature, ValueError):
        raise InvalidSignature("the signature does not verify with the certificate") from None


class CredentialService:
    """Challenges, access tokens and enrolment codes on one database and one clock."""

    def __init__(
        self,
        database: Database,
        *,
        now: Callable[[], datetime] = utcnow,
        evidence: EvidenceLog | None = None,
    ) -> None:
        self.database = database
        self.now = now
        self.certificates = CertificateRegistry(database, evidence=evidence, now=now)

    async def new_challenge(self, address: str) -> tuple[str, datetime]:
        """A fresh single-use challenge for an active mailbox, and when it expires."""
        challenge = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        expires_at = self.now() + CHALLENGE_LIFETIME
        async with self.database.transaction() as session:
            mailbox_id = await session.scalar(
                select(Mailbox.id).where(
                    Mailbox.address == address.strip().lower(), Mailbox.active.is_(True)
                )
            )
            if mailbox_id is None:
                raise UnknownMailbox(f"no active mailbox {address}")
            session.add(
                AuthChallenge(
                    challenge_sha256=digest(challenge), mailbox_id=mailbox_id, expires_at=expires_at
                )
            )
        return challenge, expires_at

    async def exchange(
        self, *, address: str, challenge: str, signature: bytes, serial_hex: str
    ) -> IssuedToken:
        """Trade a signed challenge for an access token (the challenge is spent either way)."""
        now = self.now()
        try:
            serial_hex = format(int(serial_hex.strip(), 16), "x")
        except ValueError:
            raise CertificateNotValid("a certificate serial is a hexadecimal number") from None
        async with self.database.transaction() as session:
            mailbox = await session.scalar(
                select(Mailbox).where(
                    Mailbox.address == address.strip().lower(), Mailbox.active.is_(True)
                )
            )
            if mailbox is None:
                raise InvalidChallenge("this challenge is unknown, expired or already used")
            spent = await session.execute(
                update(AuthChallenge)
                .where(
                    AuthChallenge.challenge_sha256 == digest(challenge),
                    AuthChallenge.mailbox_id == mailbox.id,
                    AuthChallenge.used_at.is_(None),
                    AuthChallenge.expires_at > now,
                )
                .values(used_at=now)
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                raise InvalidChallenge("this challenge is unknown, expired or already used")
        # The challenge is committed as used: a failed signature cannot be retried with it.
        async with self.database.transaction() as session:
            der = await session.scalar(
                select(IssuedCertificate.der)
                .join(
                    MailboxCertificate,
                    MailboxCertificate.serial_hex == IssuedCertificate.serial_hex,
                )
                .where(
                    MailboxCertificate.mailbox_id == mailbox.id,
                    MailboxCertificate.serial_hex == serial_hex,
                    MailboxCertificate.status == CertificateStatus.ACTIVE.value,
                    IssuedCertificate.revoked_at.is_(None),
                    IssuedCertificate.not_before <= now,
                    IssuedCertificate.not_after > now,
                )
            )
            if der is None:
                raise CertificateNotValid(
                    f"certificate {serial_hex} is not a valid certificate of {mailbox.address}"
                )
            verify_signature(x509.load_der_x509_certificate(der), signature, challenge.encode())
            token = secrets.token_urlsafe(32)
            expires_at = now + TOKEN_LIFETIME
            session.add(
                AccessToken(
                    token_sha256=digest(token),
                    mailbox_id=mailbox.id,
                    serial_hex=serial_hex,
                    issued_at=now,
                    expires_at=expires_at,
                )
            )
        log.info("token issued to mailbox %s with certificate %s", mailbox.id, serial_hex)
        return IssuedToken(token=token, expires_at=expires_at)

    async def authenticate(self, token: str) -> AuthenticatedMailbox:
        """The mailbox a bearer token speaks for, or a ``CredentialError`` saying why not."""
        now = self.now()
        statement = (
            select(
                AccessToken.expires_at,
                Mailbox.id,
                Mailbox.address,
                Mailbox.kind,
                Mailbox.active,
                AccessToken.serial_hex,
                IssuedCertificate.revoked_at,
                IssuedCertificate.not_after,
                MailboxCertificate.status,
            )
            .join(Mailbox, Mailbox.id == AccessToken.mailbox_id)
            .join(IssuedCertificate, IssuedCertificate.serial_hex == AccessToken.serial_hex)
            .outerjoin(
                MailboxCertificate,
                (MailboxCertificate.serial_hex == AccessToken.serial_hex)
                & (MailboxCertificate.mailbox_id == AccessToken.mailbox_id),
            )
            .where(AccessToken.token_sha256 == digest(token))
        )
        async with self.database.sessions() as session:
            row = (await session.execute(statement)).first()
        if row is None:
            raise InvalidToken("unknown access token: authenticate again")
        expires_at, mailbox_id, address, kind, active, serial, revoked_at, not_after, status = row
        if revoked_at is not None or status != CertificateStatus.ACTIVE.value:
            raise CertificateRevoked(f"certificate {serial} was revoked: enrol again")
        if _aware(expires_at) <= now or _aware(not_after) <= now:
            raise TokenExpired("the access token expired: authenticate again")
        if not active:
            raise InvalidToken("this mailbox is closed")
        return AuthenticatedMailbox(
            mailbox_id=mailbox_id,
            address=address,
            kind=kind,
            serial_hex=serial,
            valid_until=min(_aware(expires_at), _aware(not_after)),
        )

    async def new_enrolment_code(self, mailbox_id: int) -> tuple[str, datetime]:
        """A one-time enrolment code for a mailbox (shown once, stored hashed)."""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        raw = "".join(secrets.choice(alphabet) for _ in range(20))
        code = "-".join(raw[i : i + 5] for i in range(0, 20, 5))
        now = self.now()
        expires_at = now + ENROLMENT_CODE_LIFETIME
        async with self.database.transaction() as session:
            session.add(
                EnrolmentCode(
                    code_sha256=digest(normalise_code(code)),
                    mailbox_id=mailbox_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        log.info("enrolment code created for mailbox %s", mailbox_id)
        return code, expires_at

    async def enrol(
        self, code: str, issue: Callable[[EnrolmentSubject], x509.Certificate]
    ) -> tuple[str, x509.Certificate]:
        """Spend a one-time code, record the certificate ``issue`` makes for its mailbox.

        Returns the mailbox address and the certificate.

        One transaction: if issuing fails, the code stays usable; two concurrent uses of the
        same code cannot both succeed (the conditional UPDATE serialises them).
        """
        now = self.now()
        async with self.database.transaction() as session:
            mailbox_id = await session.scalar(
                update(EnrolmentCode)
                .where(
                    EnrolmentCode.code_sha256 == digest(normalise_code(code)),
                    EnrolmentCode.used_at.is_(None),
                    EnrolmentCode.expires_at > now,
                )
                .values(used_at=now)
                .returning(EnrolmentCode.mailbox_id)
            )
            if mailbox_id is None:
                raise InvalidEnrolmentCode("this enrolment code is unknown, expired or used")
            mailbox, subject = await _subject(session, mailbox_id)
            certificate = issue(subject)
            serial_hex = format(certificate.serial_number, "x")
            await self.certificates.record_issued(session, mailbox, certificate)
        log.info("enrolled mailbox %s with certificate %s", mailbox_id, serial_hex)
        return mailbox.address, certificate

    async def renew(
        self, mailbox_id: int, issue: Callable[[EnrolmentSubject], x509.Certificate]
    ) -> x509.Certificate:
        """A new certificate for an authenticated mailbox (its agent sent a fresh CSR).

        The previous certificates stay valid until they expire or their agent revokes them,
        so that a renewal never leaves a mailbox unable to decrypt what is on its way.
        """
        async with self.database.transaction() as session:
            mailbox, subject = await _subject(session, mailbox_id)
            if not mailbox.active:
                raise InvalidToken("this mailbox is closed")
            certificate = issue(subject)
            await self.certificates.record_issued(session, mailbox, certificate)
        log.info("renewed mailbox %s with certificate %x", mailbox_id, certificate.serial_number)
        return certificate


async def _subject(session: AsyncSession, mailbox_id: int) -> tuple[Mailbox, EnrolmentSubject]:
    """The mailbox and what its certificate says about it (person, organisation)."""
    row = (
        await session.execute(
            select(Mailbox, Person, Organisation)
            .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
            .outerjoin(
                Organisation,
                Organisation.finess
                == func.coalesce(Mailbox.organisation_finess, Person.organisation_finess),
            )
            .where(Mailbox.id == mailbox_id)
        )
    ).one()
    mailbox, person, organisation = row
    return mailbox, EnrolmentSubject(
        address=mailbox.address,
        kind=mailbox.kind,
        rpps=person.rpps if person else None,
        given_name=person.given_name if person else None,
        family_name=person.family_name if person else None,
        organisation=organisation.name if organisation else None,
    )


def normalise_code(code: str) -> str:
    """Enrolment codes are typed by people: ignore case and surrounding blanks."""
    return code.strip().upper()
