"""Card access: challenges, grants earned by a card, the patient's access log and choices.

1. ``challenge(audience)``: a fresh nonce (2 minutes), bound to the pharmacy's address or to
   ``patient``; only its SHA-256 is stored.
2. ``grant(...)``: the card's signature over the bound challenge is checked
   (:class:`~caducee.prescriptions.card.CardVerifier`), the challenge consumed by one
   conditional UPDATE (a replay finds it used), and an opaque token issued for that patient
   and that audience, for at most 30 minutes and never past the card's validity.
3. ``check(token, audience)``: the grant, or ``CardAccessExpired`` / ``CardAccessNotYours``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.prescriptions.card import (
    CARD_ACCESS_LIFETIME,
    PATIENT_AUDIENCE,
    CardVerifier,
    card_challenge_data,
)
from caducee.prescriptions.errors import CardAccessExpired, CardAccessNotYours, CardRejected
from caducee.prescriptions.models import AccessEvent, CardChallenge, CardGrant, PatientPreference
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = [
    "CARD_CHALLENGE_LIFETIME",
    "AccessEntry",
    "CardAccess",
    "Grant",
    "aware",
    "record_access",
    "sha256_hex",
]

CARD_CHALLENGE_LIFETIME = timedelta(minutes=2)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Grant:
    nir: str
    audience: str
    expires_at: datetime
    token: str = ""


@dataclass(frozen=True)
class AccessEntry:
    at: datetime
    actor: str
    action: str
    prescription_id: str | None
    detail: str


async def record_access(
    session: AsyncSession,
    nir: str,
    actor: str,
    action: str,
    at: datetime,
    prescription_id: str | None = None,
    detail: str = "",
) -> None:
    """One line of the patient's access log, in the caller's transaction."""
    session.add(
        AccessEvent(
            nir=nir,
            at=at,
            actor=actor,
            action=action,
            prescription_id=prescription_id,
            detail=detail[:200],
        )
    )


class CardAccess:
    def __init__(
        self,
        database: Database,
        verifier: CardVerifier,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.verifier = verifier
        self.now = now

    async def challenge(self, audience: str) -> tuple[str, datetime]:
        nonce = secrets.token_hex(32)
        expires = self.now() + CARD_CHALLENGE_LIFETIME
        async with self.database.transaction() as session:
            session.add(
                CardChallenge(nonce_sha256=sha256_hex(nonce), audience=audience, expires_at=expires)
            )
        return nonce, expires

    async def grant(
        self,
        *,
        audience: str,
        mailbox_id: int | None,
        nonce: str,
        certificate_der: bytes,
        signature: bytes,
    ) -> Grant:
        """Check the card's answer; consume the challenge; issue the grant (all or nothing)."""
        now = self.now()
        if not isinstance(nonce, str) or len(nonce) != 64 or not nonce.isascii():
            raise CardRejected("défi inconnu / unknown challenge")
        holder = self.verifier.verify(
            certificate_der, signature, card_challenge_data(nonce, audience), at=now
        )
        token = secrets.token_urlsafe(32)
        expires = min(now + CARD_ACCESS_LIFETIME, holder.not_after)
        async with self.database.transaction() as session:
            consumed = await session.execute(
                update(CardChallenge)
                .where(
                    CardChallenge.nonce_sha256 == sha256_hex(nonce),
                    CardChallenge.audience == audience,
                    CardChallenge.used_at.is_(None),
                    CardChallenge.expires_at > now,
                )
                .values(used_at=now)
            )
            if consumed.rowcount != 1:  # type: ignore[attr-defined]
                raise CardRejected(
                    "défi inconnu, expiré ou déjà utilisé / unknown, expired or used challenge"
                )
            session.add(
                CardGrant(
                    token_sha256=sha256_hex(token),
                    nir=holder.nir,
                    audience=audience,
                    mailbox_id=mailbox_id,
                    card_fingerprint=holder.fingerprint,
                    created_at=now,
                    expires_at=expires,
                )
            )
            actor = "patient" if audience == PATIENT_AUDIENCE else audience
            await record_access(session, holder.nir, actor, "card-read", now)
        return Grant(holder.nir, audience, expires, token)

    async def check(self, session: AsyncSession, token: str | None, audience: str) -> Grant:
        """The grant behind ``token`` if it is this audience's and still valid."""
        if not token or len(token) > 200:
            raise CardRejected("carte absente : insérez la carte / no card access: insert the card")
        row = await session.get(CardGrant, sha256_hex(token))
        if row is None:
            raise CardRejected("accès carte inconnu / unknown card access")
        if row.audience != audience:
            raise CardAccessNotYours(
                "cet accès carte a été donné à un autre / this card access was granted to another"
            )
        if aware(row.expires_at) <= self.now():
            raise CardAccessExpired(
                "accès carte expiré (30 min) : réinsérez la carte / card access expired "
                "(30 min): insert the card again"
            )
        return Grant(row.nir, row.audience, aware(row.expires_at))

    async def purge(self) -> int:
        """Delete challenges and grants that ended (they prove nothing once expired)."""
        now = self.now()
        async with self.database.transaction() as session:
            challenges = await session.execute(
                delete(CardChallenge).where(CardChallenge.expires_at < now)
            )
            grants = await session.execute(delete(CardGrant).where(CardGrant.expires_at < now))
        return int(challenges.rowcount + grants.rowcount)  # type: ignore[attr-defined]

    # -- the patient's own page ---------------------------------------------------------

    async def access_log(self, token: str | None, limit: int = 200) -> list[AccessEntry]:
        async with self.database.sessions() as session:
            grant = await self.check(session, token, PATIENT_AUDIENCE)
            rows = await session.scalars(
                select(AccessEvent)
                .where(AccessEvent.nir == grant.nir)
                .order_by(AccessEvent.at.desc(), AccessEvent.id.desc())
                .limit(limit)
            )
            return [
                AccessEntry(aware(r.at), r.actor, r.action, r.prescription_id, r.detail)
                for r in rows
            ]

    async def history_refused(self, session: AsyncSession, nir: str) -> bool:
        row = await session.get(PatientPreference, nir)
        return bool(row is not None and row.history_refused)

    async def set_history_refused(self, token: str | None, refused: bool) -> bool:
        now = self.now()
        async with self.database.transaction() as session:
            grant = await self.check(session, token, PATIENT_AUDIENCE)
            row = await session.get(PatientPreference, grant.nir, with_for_update=True)
            if row is None:
                session.add(
                    PatientPreference(nir=grant.nir, history_refused=refused, updated_at=now)
                )
            else:
                row.history_refused, row.updated_at = refused, now
            detail = "refused" if refused else "allowed"
            await record_access(session, grant.nir, "patient", "history-choice", now, None, detail)
        return refused

    async def patient_refuses_history(self, token: str | None) -> bool:
        async with self.database.sessions() as session:
            grant = await self.check(session, token, PATIENT_AUDIENCE)
            return await self.history_refused(session, grant.nir)
