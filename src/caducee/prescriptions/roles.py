"""Who is calling the prescriptions service: a prescriber, a pharmacy, or neither.

A prescriber is a personal mailbox of a person whose profession may prescribe; a pharmacy is
a mailbox of an organisation of type ``pharmacy``, or the personal mailbox of a pharmacist.
The patient never has a mailbox: the card is their credential (``access``).
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.models import Mailbox, Organisation, OrganisationType, Person

__all__ = ["PRESCRIBING_PROFESSIONS", "Caller", "Role", "load_caller"]

PRESCRIBING_PROFESSIONS = frozenset(
    {"medecin", "sage-femme", "chirurgien-dentiste", "infirmier", "infirmiere"}
)
_PHARMACIST = frozenset({"pharmacien", "pharmacienne"})


class Role(enum.StrEnum):
    PRESCRIBER = "prescriber"
    PHARMACY = "pharmacy"
    OTHER = "other"


@dataclass(frozen=True)
class Caller:
    mailbox_id: int
    address: str
    role: Role
    rpps: str | None = None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


async def load_caller(session: AsyncSession, mailbox_id: int, address: str) -> Caller:
    """The caller's role, from the directory (one query)."""
    row = (
        await session.execute(
            select(Mailbox.kind, Person.rpps, Person.profession, Organisation.type)
            .select_from(Mailbox)
            .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
            .outerjoin(Organisation, Organisation.finess == Mailbox.organisation_finess)
            .where(Mailbox.id == mailbox_id)
        )
    ).one_or_none()
    if row is None:
        return Caller(mailbox_id, address, Role.OTHER)
    kind, rpps, profession, org_type = row
    profession = _plain(profession or "")
    if rpps is not None and kind == "personal" and profession in PRESCRIBING_PROFESSIONS:
        return Caller(mailbox_id, address, Role.PRESCRIBER, rpps)
    if org_type == OrganisationType.PHARMACY.value or profession in _PHARMACIST:
        return Caller(mailbox_id, address, Role.PHARMACY, rpps)
    return Caller(mailbox_id, address, Role.OTHER, rpps)
