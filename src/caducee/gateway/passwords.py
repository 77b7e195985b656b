"""Application passwords for SMTP AUTH (RFC 4954): one per mail client, shown once.

A standard mail client cannot sign a challenge with the person's key, so the person makes
an application password for it; only its Argon2id hash (RFC 9106, PHC string format, which
Dovecot also reads) is stored, in ``gateway_app_password``. Revoked passwords stay, marked.
The user name is the mailbox address; that mailbox is then the only allowed MAIL FROM.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from caducee.directory.models import Mailbox
from caducee.gateway.errors import BadCredentials, TooManyPasswords, UnknownPassword
from caducee.store import Database
from caducee.store.models import Base, utcnow

__all__ = [
    "MAX_ACTIVE_PASSWORDS",
    "AppPassword",
    "AppPasswordInfo",
    "AppPasswordService",
    "CreatedPassword",
    "SMTPIdentity",
]

log = logging.getLogger(__name__)

MAX_ACTIVE_PASSWORDS = 10
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - no 0/o, 1/l/i: read aloud safely
PASSWORD_GROUPS, GROUP_LENGTH = 4, 5  # 20 symbols of ~4.95 bits: ~99 bits
# OWASP's Argon2id minimum (m=19 MiB, t=2, p=1): ~20 ms here, run off the event loop.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _HASHER.hash("not a password")


class AppPassword(Base):
    """An application password's Argon2id hash, label and life cycle."""

    __tablename__ = "gateway_app_password"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("directory_mailbox.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


@dataclass(frozen=True)
class CreatedPassword:
    """A new password: ``password`` is shown to the person once and never stored."""

    id: int
    label: str
    password: str
    created_at: datetime


@dataclass(frozen=True)
class AppPasswordInfo:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class SMTPIdentity:
    """Who authenticated on an SMTP session."""

    mailbox_id: int
    address: str
    password_id: int


def _new_password() -> str:
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GROUP_LENGTH))
        for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class AppPasswordService:
    """Create, list, revoke and check application passwords on one database."""

    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def _mailbox(self, address: str) -> Mailbox:
        address = address.strip().lower()
        async with self.database.sessions() as session:
            mailbox = await session.scalar(select(Mailbox).where(Mailbox.address == address))
        if mailbox is None or not mailbox.active:
            raise UnknownPassword("no open mailbox with this address")
        return mailbox

    async def create(self, address: str, label: str) -> CreatedPassword:
        """Make a password for the mailbox at ``address``; the clear text is returned once."""
        label = " ".join(label.split())[:100] or "mail client"
        mailbox = await self._mailbox(address)
        password = _new_password()
        password_hash = await asyncio.to_thread(_HASHER.hash, password)
        now = self.now()
        async with self.database.transaction() as session:
            active = await session.scalar(
                select(func.count(AppPassword.id)).where(
                    AppPassword.mailbox_id == mailbox.id, AppPassword.revoked_at.is_(None)
                )
            )
            if (active or 0) >= MAX_ACTIVE_PASSWORDS:
                raise TooManyPasswords(
                    f"at most {MAX_ACTIVE_PASSWORDS} application passwords: revoke one first"
                )
            row = AppPassword(
                mailbox_id=mailbox.id, label=label, password_hash=password_hash, created_at=now
            )
            session.add(row)
            await session.flush()
            password_id = row.id
        log.info("app password %d created for mailbox %d", password_id, mailbox.id)
        return CreatedPassword(password_id, label, password, now)

    async def list_passwords(self, address: str) -> list[AppPasswordInfo]:
        mailbox = await self._mailbox(address)
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(AppPassword)
                .where(AppPassword.mailbox_id == mailbox.id)
                .order_by(AppPassword.id)
            )
            return [
                AppPasswordInfo(r.id, r.label, r.created_at, r.last_used_at, r.revoked_at)
                for r in rows
            ]

    async def revoke(self, address: str, password_id: int) -> None:
        """Revoke one password of this mailbox (idempotent); sessions using it end with it."""
        mailbox = await self._mailbox(address)
        async with self.database.transaction() as session:
            row = await session.scalar(
                select(AppPassword).where(
                    AppPassword.id == password_id, AppPassword.mailbox_id == mailbox.id
                )
            )
            if row is None:
                raise UnknownPassword(f"no application password {password_id} for this mailbox")
            if row.revoked_at is None:
                row.revoked_at = self.now()
        log.info("app password %d revoked for mailbox %d", password_id, mailbox.id)

    async def authenticate(self, address: str, password: str) -> SMTPIdentity:
        """The identity for ``address`` and ``password``, or ``BadCredentials``.

        Unknown addresses cost one Argon2 verification too (no address enumeration by time).
        """
        address = address.strip().lower()
        if len(address) > 320 or len(password) > 200 or "\x00" in address:
            raise BadCredentials("authentication credentials invalid")
        async with self.database.sessions() as session:
            rows = (
                await session.execute(
                    select(AppPassword.id, AppPassword.password_hash, Mailbox.id)
                    .join(Mailbox, Mailbox.id == AppPassword.mailbox_id)
                    .where(
                        Mailbox.address == address,
                        Mailbox.active.is_(True),
                        AppPassword.revoked_at.is_(None),
                    )
                    .order_by(AppPassword.id.desc())
                )
            ).all()
        if not rows:
            await asyncio.to_thread(_verify, _DUMMY_HASH, password)
            raise BadCredentials("authentication credentials invalid")
        for password_id, password_hash, mailbox_id in rows:
            if await asyncio.to_thread(_verify, password_hash, password):
                async with self.database.transaction() as session:
                    await session.execute(
                        update(AppPassword)
                        .where(AppPassword.id == password_id)
                        .values(last_used_at=self.now())
                    )
                return SMTPIdentity(mailbox_id, address, password_id)
        raise BadCredentials("authentication credentials invalid")

    async def still_valid(self, identity: SMTPIdentity) -> bool:
        """Whether the password of an open session was not revoked since AUTH."""
        async with self.database.sessions() as session:
            revoked = await session.scalar(
                select(AppPassword.revoked_at).where(AppPassword.id == identity.password_id)
            )
        return revoked is None
