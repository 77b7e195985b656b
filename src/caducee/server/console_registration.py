"""Registering an establishment and its manager, for the API and the console's form alike.

The organisation may be in the directory already or new, and so may its manager; what
would be refused is checked before the first write, so a refusal changes nothing.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select

from caducee.directory import MailboxKind, OrganisationType
from caducee.directory.errors import AlreadyRegistered, InvalidEntry
from caducee.directory.identifiers import parse_finess, parse_rpps
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.server.console_common import charter_service, directory_service
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState

__all__ = [
    "EstablishmentRequest",
    "ManagerRequest",
    "looks_like_address",
    "register_establishment",
]


class ManagerRequest(StrictRequest):
    rpps: str = Field(max_length=11)
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    profession: str = Field(default="directeur", max_length=100)
    mailbox: str | None = Field(default=None, max_length=320)


class EstablishmentRequest(StrictRequest):
    finess: str = Field(max_length=9)
    name: str | None = Field(default=None, max_length=200)
    type: OrganisationType | None = None
    beds: int | None = Field(default=None, ge=0, le=100_000)
    address: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=10)
    manager: ManagerRequest


def looks_like_address(address: str) -> bool:
    """The directory's rule for a mailbox address, checked before anything is written."""
    local, at, domain = address.partition("@")
    return bool(at and local and "." in domain and address.isascii() and " " not in address)


async def register_establishment(state: ServerState, body: EstablishmentRequest) -> str:
    """The organisation (new or known), its manager (new or known), the registration.

    What would be refused is checked before the first write: a refusal changes nothing.
    """
    directory = directory_service(state)
    finess, m = body.finess.strip(), body.manager
    known, manager_known = await _precheck_registration(state, body)
    if not known:
        assert body.name is not None and body.type is not None  # checked above
        finess = await directory.register_organisation(
            finess=finess,
            name=body.name,
            type=body.type.value,
            beds=body.beds,
            address=body.address,
            city=body.city,
            region=body.region,
            postcode=body.postcode,
        )
    if not manager_known:
        assert m.given_name is not None and m.family_name is not None  # checked above
        await directory.register_person(
            rpps=m.rpps,
            given_name=m.given_name,
            family_name=m.family_name,
            profession=m.profession,
            organisation_finess=finess,
        )
        if m.mailbox:
            await directory.create_mailbox(
                address=m.mailbox, kind=MailboxKind.PERSONAL.value, person_rpps=m.rpps
            )
    await charter_service(state).register(finess, m.rpps.strip())
    return finess


async def _precheck_registration(
    state: ServerState, body: EstablishmentRequest
) -> tuple[bool, bool]:
    """Whether the organisation and the manager are known; raises what the writes would."""
    finess, m = body.finess.strip(), body.manager
    address = (m.mailbox or "").strip().lower()
    async with state.database.sessions() as session:
        known = await session.get(Organisation, finess) is not None
        manager_known = await session.get(Person, m.rpps.strip()) is not None
        taken = await session.scalar(select(Mailbox.id).where(Mailbox.address == address))
    if not known:
        parse_finess(finess)
        if body.name is None or body.type is None or not body.name.strip():
            raise ProblemError(
                422, "organisation-needed", "a new establishment needs a name and type"
            )
    if not manager_known:
        parse_rpps(m.rpps)
        if not (m.given_name and m.given_name.strip() and m.family_name and m.family_name.strip()):
            raise ProblemError(
                422, "manager-needed", "a new manager needs a given name and a family name"
            )
        if not m.profession.strip():
            raise InvalidEntry("a manager needs a profession")
        if address and not looks_like_address(address):
            raise InvalidEntry(f"not a mailbox address: {address!r}")
        if address and taken is not None:
            raise AlreadyRegistered(f"mailbox {address} exists already")
    return known, manager_known
