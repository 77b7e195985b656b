"""Register and find organisations, people and mailboxes; list a mailbox's valid certificates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, aliased

from caducee.directory.errors import (
    AlreadyRegistered,
    InvalidEntry,
    UnknownMailbox,
    UnknownOrganisation,
    UnknownPerson,
)
from caducee.directory.identifiers import parse_finess, parse_rpps
from caducee.directory.models import (
    CertificateStatus,
    Mailbox,
    MailboxCertificate,
    MailboxKind,
    Organisation,
    OrganisationType,
    Person,
)
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow

__all__ = ["DirectoryService", "MailboxEntry", "SearchQuery"]

log = logging.getLogger(__name__)
SEARCH_LIMIT_MAX = 100


@dataclass(frozen=True)
class SearchQuery:
    """Search criteria; each given one narrows the result (case-insensitive substrings)."""

    text: str | None = None
    profession: str | None = None
    specialty: str | None = None
    city: str | None = None
    organisation: str | None = None
    address: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class MailboxEntry:
    """One search result: an active mailbox and who owns it."""

    address: str
    kind: str
    person_rpps: str | None
    display_name: str
    profession: str | None
    specialty: str | None
    organisation_finess: str | None
    organisation_name: str | None
    city: str | None


def _check_email(address: str) -> str:
    address = address.strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or "." not in domain or not address.isascii() or " " in address:
        raise InvalidEntry(f"not a mailbox address: {address!r}")
    return address


def _lookup(address: str) -> str:
    """An address to look up; one that cannot exist (NUL, too long) is simply unknown."""
    address = address.strip().lower()
    if "\x00" in address or len(address) > 320:
        raise UnknownMailbox("no such mailbox")
    return address


def _like(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], value: str
) -> ColumnElement[bool]:
    term = value.replace("\x00", "").strip().lower()
    return func.lower(column).contains(term, autoescape=True)


class DirectoryService:
    """The directory's operations on one database; ``now`` is the clock (tests control it)."""

    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def register_organisation(
        self,
        *,
        finess: str,
        name: str,
        type: str,
        address: str = "",
        postcode: str = "",
        city: str = "",
        region: str = "",
        beds: int | None = None,
    ) -> str:
        """Add an organisation; return its checked FINESS-like number."""
        finess = parse_finess(finess)
        try:
            kind = OrganisationType(type)
        except ValueError:
            raise InvalidEntry(f"unknown organisation type {type!r}") from None
        if beds is not None and (kind is not OrganisationType.NURSING_HOME or beds < 0):
            raise InvalidEntry("only a nursing home has a (non-negative) number of beds")
        if not name.strip():
            raise InvalidEntry("an organisation needs a name")
        row = Organisation(
            finess=finess,
            name=name.strip(),
            type=kind.value,
            beds=beds,
            address=address,
            postcode=postcode,
            city=city,
            region=region,
            created_at=self.now(),
        )
        await self._add(row, f"organisation {finess}")
        return finess

    async def register_person(
        self,
        *,
        rpps: str,
        given_name: str,
        family_name: str,
        profession: str,
        specialty: str | None = None,
        organisation_finess: str | None = None,
    ) -> str:
        """Add a person; return the checked RPPS-like number."""
        rpps = parse_rpps(rpps)
        if not (given_name.strip() and family_name.strip() and profession.strip()):
            raise InvalidEntry("a person needs a given name, a family name and a profession")
        async with self.database.transaction() as session:
            if organisation_finess is not None and (
                await session.get(Organisation, organisation_finess) is None
            ):
                raise UnknownOrganisation(f"no organisation {organisation_finess}")
        row = Person(
            rpps=rpps,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            profession=profession.strip(),
            specialty=specialty,
            organisation_finess=organisation_finess,
            created_at=self.now(),
        )
        await self._add(row, f"person {rpps}")
        return rpps

    async def create_mailbox(
        self,
        *,
        address: str,
        kind: str,
        person_rpps: str | None = None,
        organisation_finess: str | None = None,
    ) -> int:
        """Add a mailbox: a personal one belongs to a person, the others to an organisation."""
        address = _check_email(address)
        try:
            mailbox_kind = MailboxKind(kind)
        except ValueError:
            raise InvalidEntry(f"unknown mailbox kind {kind!r}") from None
        personal = mailbox_kind is MailboxKind.PERSONAL
        if personal != (person_rpps is not None) or (not personal and organisation_finess is None):
            raise InvalidEntry("a personal mailbox has a person; the others an organisation")
        async with self.database.transaction() as session:
            if person_rpps is not None and await session.get(Person, person_rpps) is None:
                raise UnknownPerson(f"no person {person_rpps}")
            if organisation_finess is not None and (
                await session.get(Organisation, organisation_finess) is None
            ):
                raise UnknownOrganisation(f"no organisation {organisation_finess}")
        row = Mailbox(
            address=address,
            kind=mailbox_kind.value,
            person_rpps=person_rpps,
            organisation_finess=organisation_finess,
            active=True,
            last_sequence=0,
            created_at=self.now(),
        )
        await self._add(row, f"mailbox {address}")
        return row.id

    async def set_active(self, address: str, active: bool) -> None:
        """Open or close a mailbox to new messages."""
        async with self.database.transaction() as session:
            result = await session.execute(
                update(Mailbox).where(Mailbox.address == _lookup(address)).values(active=active)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise UnknownMailbox(f"no mailbox {address}")
        log.info("mailbox %s active=%s", address, active)

    async def attach_certificate(self, address: str, serial_hex: str) -> None:
        """Let an issued certificate speak for a mailbox."""
        mailbox = await self.get_mailbox(address)
        row = MailboxCertificate(
            mailbox_id=mailbox.id,
            serial_hex=serial_hex,
            status=CertificateStatus.ACTIVE.value,
            attached_at=self.now(),
        )
        await self._add(row, f"certificate {serial_hex} of {address}")

    async def get_mailbox(self, address: str) -> Mailbox:
        async with self.database.sessions() as session:
            mailbox = await session.scalar(
                select(Mailbox).where(Mailbox.address == _lookup(address))
            )
        if mailbox is None:
            raise UnknownMailbox(f"no mailbox {address}")
        return mailbox

    async def personal_mailboxes(self, rpps: str) -> list[Mailbox]:
        if not (rpps.isascii() and rpps.isdigit()):
            raise UnknownPerson(f"no person {rpps!r}")
        async with self.database.sessions() as session:
            if await session.get(Person, rpps) is None:
                raise UnknownPerson(f"no person {rpps}")
            rows = await session.scalars(
                select(Mailbox).where(Mailbox.person_rpps == rpps).order_by(Mailbox.id)
            )
            return list(rows)

    async def valid_certificates(self, address: str) -> list[x509.Certificate]:
        """The certificates that may be encrypted to now: active, not revoked, in validity."""
        now = self.now()
        statement = (
            select(IssuedCertificate.der)
            .join(MailboxCertificate, MailboxCertificate.serial_hex == IssuedCertificate.serial_hex)
            .join(Mailbox, Mailbox.id == MailboxCertificate.mailbox_id)
            .where(
                Mailbox.address == _lookup(address),
                MailboxCertificate.status == CertificateStatus.ACTIVE.value,
                IssuedCertificate.revoked_at.is_(None),
                IssuedCertificate.not_before <= now,
                IssuedCertificate.not_after > now,
            )
            .order_by(IssuedCertificate.not_after.desc())
        )
        async with self.database.sessions() as session:
            known = select(Mailbox.id).where(Mailbox.address == _lookup(address))
            if await session.scalar(known) is None:
                raise UnknownMailbox(f"no mailbox {address}")
            ders = list(await session.scalars(statement))
        return [x509.load_der_x509_certificate(der) for der in ders]

    async def search(self, query: SearchQuery) -> list[MailboxEntry]:
        """Active mailboxes matching every given criterion, people first then by address."""
        async with self.database.sessions() as session:
            rows = (await session.execute(_search_statement(query))).all()
        return [
            MailboxEntry(
                address=mailbox.address,
                kind=mailbox.kind,
                person_rpps=person.rpps if person else None,
                display_name=_display_name(person, org),
                profession=person.profession if person else None,
                specialty=person.specialty if person else None,
                organisation_finess=org.finess if org else None,
                organisation_name=org.name if org else None,
                city=org.city if org else None,
            )
            for mailbox, person, org in rows
        ]

    async def _add(self, row: object, what: str) -> None:
        try:
            async with self.database.transaction() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyRegistered(f"{what} is already registered") from None
        log.info("registered %s", what)


def _display_name(person: Person | None, org: Organisation | None) -> str:
    if person is not None:
        return f"{person.given_name} {person.family_name}"
    return org.name if org is not None else ""


def _search_statement(query: SearchQuery) -> Select[Mailbox, Person, Organisation]:
    org = aliased(Organisation)
    org_finess = func.coalesce(Mailbox.organisation_finess, Person.organisation_finess)
    statement = (
        select(Mailbox, Person, org)
        .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
        .outerjoin(org, org.finess == org_finess)
        .where(Mailbox.active.is_(True))
    )
    conditions = []
    if query.text:
        conditions.append(
            or_(
                _like(Person.family_name, query.text),
                _like(Person.given_name, query.text),
                _like(org.name, query.text),
                _like(Mailbox.address, query.text),
            )
        )
    if query.profession:
        conditions.append(_like(Person.profession, query.profession))
    if query.specialty:
        conditions.append(_like(Person.specialty, query.specialty))
    if query.city:
        conditions.append(_like(org.city, query.city))
    if query.organisation:
        wanted = query.organisation
        conditions.append(or_(org.finess == wanted, _like(org.name, wanted)))
    if query.address:
        conditions.append(_like(Mailbox.address, query.address))
    limit = max(1, min(query.limit, SEARCH_LIMIT_MAX))
    return (
        statement.where(*conditions)
        .order_by(Mailbox.person_rpps.is_(None), Mailbox.address)
        .limit(limit)
    )
