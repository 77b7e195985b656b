"""The content policy of each organisation, set by the operator, read by its agents.

An organisation without a row gets :data:`~caducee.policy.content.PLATFORM_DEFAULT` (every rule
strict, the size rules advisory). A mailbox's organisation is its own for organisational and
applicative mailboxes, its person's for personal ones; a mailbox with none gets the default.
The policy is stored as the JSON of :meth:`ContentPolicy.to_json` (the agents' form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from caducee.directory.errors import UnknownMailbox, UnknownOrganisation
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.policy.content import PLATFORM_DEFAULT, ContentPolicy
from caducee.store import Database
from caducee.store.models import Base, utcnow

__all__ = ["ContentPolicyService", "EffectivePolicy", "OrganisationContentPolicy"]


class OrganisationContentPolicy(Base):
    """The operator's choice for one organisation (absent: the platform default)."""

    __tablename__ = "directory_content_policy"

    finess: Mapped[str] = mapped_column(
        String(9),
        ForeignKey("directory_organisation.finess", ondelete="CASCADE"),
        primary_key=True,
    )
    policy_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies, whose it is (``None``: no organisation) and if it is set."""

    policy: ContentPolicy
    organisation: str | None
    is_default: bool


class ContentPolicyService:
    """Read and set organisations' content policies."""

    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def set_policy(self, finess: str, policy: ContentPolicy) -> EffectivePolicy:
        """Store ``policy`` for the organisation ``finess`` (replacing any earlier one)."""
        async with self.database.transaction() as session:
            if await session.get(Organisation, finess) is None:
                raise UnknownOrganisation(f"no organisation {finess!s:.9}")
            row = await session.get(OrganisationContentPolicy, finess)
            if row is None:
                row = OrganisationContentPolicy(finess=finess)
                session.add(row)
            row.policy_json = policy.to_json()
            row.updated_at = self.now()
        return EffectivePolicy(policy, finess, False)

    async def for_organisation(self, finess: str | None) -> EffectivePolicy:
        """The organisation's policy, or the platform default when none was set."""
        if finess is None:
            return EffectivePolicy(PLATFORM_DEFAULT, None, True)
        async with self.database.sessions() as session:
            row = await session.get(OrganisationContentPolicy, finess)
        if row is None:
            return EffectivePolicy(PLATFORM_DEFAULT, finess, True)
        return EffectivePolicy(ContentPolicy.from_json(row.policy_json), finess, False)

    async def for_mailbox(self, mailbox_id: int) -> EffectivePolicy:
        """The policy of the mailbox's organisation (its person's, for a personal mailbox)."""
        async with self.database.sessions() as session:
            mailbox = await session.get(Mailbox, mailbox_id)
            if mailbox is None:
                raise UnknownMailbox(f"no mailbox {mailbox_id}")
            finess = mailbox.organisation_finess
            if finess is None and mailbox.person_rpps is not None:
                finess = await session.scalar(
                    select(Person.organisation_finess).where(Person.rpps == mailbox.person_rpps)
                )
        return await self.for_organisation(finess)
