"""Sending limits per organisation, organisation type and mailbox kind.

The most specific scope that is set wins: ``org:F:K``, ``org:F``, ``type:T:K``, ``type:T``,
``kind:K``, ``*``; when none is set, :data:`DEFAULTS` by mailbox kind (a person writes to a
few colleagues at once; a lab's applicative mailbox sends results all day long).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import Mailbox, MailboxKind, Organisation, OrganisationType, Person
from caducee.policy.bulk import Limits
from caducee.policy.console_errors import InvalidLimits
from caducee.policy.models import SendingLimit
from caducee.policy.protocol import PERSONAL_LIMITS
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["DEFAULTS", "LimitService", "SenderProfile", "check_scope", "scopes_for"]

DEFAULTS: Mapping[str, Limits] = {
    MailboxKind.PERSONAL.value: PERSONAL_LIMITS,  # the agent assumes it before asking
    MailboxKind.ORGANISATIONAL.value: Limits(50, 20_000, 500),
    MailboxKind.APPLICATIVE.value: Limits(100, 50_000, 5_000),
}
_KINDS = "|".join(k.value for k in MailboxKind)
_TYPES = "|".join(t.value for t in OrganisationType)
_SCOPE = re.compile(rf"\*|kind:({_KINDS})|type:({_TYPES})(:({_KINDS}))?|org:\d{{9}}(:({_KINDS}))?")


def check_scope(scope: str) -> str:
    if not _SCOPE.fullmatch(scope):
        raise InvalidLimits(
            f"scope {scope!r} is not *, kind:K, type:T, type:T:K, org:FINESS or org:FINESS:K"
        )
    return scope


class SenderProfile:
    """Who a mailbox is for the limits: its kind, organisation and organisation type."""

    __slots__ = ("finess", "kind", "org_type")

    def __init__(self, kind: str, finess: str | None, org_type: str | None) -> None:
        self.kind = kind
        self.finess = finess
        self.org_type = org_type


def scopes_for(profile: SenderProfile) -> list[str]:
    """The scopes that apply to a sender, most specific first."""
    scopes = []
    if profile.finess:
        scopes += [f"org:{profile.finess}:{profile.kind}", f"org:{profile.finess}"]
    if profile.org_type:
        scopes += [f"type:{profile.org_type}:{profile.kind}", f"type:{profile.org_type}"]
    return [*scopes, f"kind:{profile.kind}", "*"]


async def load_profile(session: AsyncSession, mailbox_id: int) -> SenderProfile:
    row = (
        await session.execute(
            select(Mailbox.kind, Mailbox.organisation_finess, Person.organisation_finess)
            .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
            .where(Mailbox.id == mailbox_id)
        )
    ).first()
    if row is None:
        return SenderProfile(MailboxKind.PERSONAL.value, None, None)
    finess = row[1] or row[2]
    org_type = None
    if finess is not None:
        org_type = await session.scalar(
            select(Organisation.type).where(Organisation.finess == finess)
        )
    return SenderProfile(row[0], finess, org_type)


class LimitService:
    """Read and set the limits table."""

    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def set(self, scope: str, limits: Limits) -> None:
        scope = check_scope(scope)
        async with self.database.transaction() as session:
            row = await session.get(SendingLimit, scope)
            if row is None:
                row = SendingLimit(scope=scope)
                session.add(row)
            row.recipients_per_message = limits.recipients_per_message
            row.messages_per_hour = limits.messages_per_hour
            row.new_recipients_per_hour = limits.new_recipients_per_hour
            row.updated_at = self.now()

    async def all(self) -> dict[str, Limits]:
        async with self.database.sessions() as session:
            rows = await session.scalars(select(SendingLimit).order_by(SendingLimit.scope))
            return {
                r.scope: Limits(
                    r.recipients_per_message, r.messages_per_hour, r.new_recipients_per_hour
                )
                for r in rows
            }

    async def for_sender(self, mailbox_id: int) -> tuple[SenderProfile, Limits]:
        async with self.database.sessions() as session:
            profile = await load_profile(session, mailbox_id)
            scopes = scopes_for(profile)
            rows = {
                r.scope: r
                for r in await session.scalars(
                    select(SendingLimit).where(SendingLimit.scope.in_(scopes))
                )
            }
        for scope in scopes:
            if (r := rows.get(scope)) is not None:
                limits = Limits(
                    r.recipients_per_message, r.messages_per_hour, r.new_recipients_per_hour
                )
                return profile, limits
        return profile, DEFAULTS.get(profile.kind, DEFAULTS[MailboxKind.PERSONAL.value])
