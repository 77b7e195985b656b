"""The charter of good use and the registration of establishments.

An establishment is an organisation of the directory that the operator registered, with its
manager. The manager reads the current charter and accepts it: the acceptance names the
charter's SHA-256 and is appended to the evidence log (``CharterSigned``) in the same
transaction. Only then can the establishment's people be enrolled (:meth:`check_enrolment`);
a new charter version asks for a new acceptance. Until a charter is published the gate is
open (a deployment that does not use the console works as before).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.directory.errors import UnknownOrganisation, UnknownPerson
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.evidence import EvidenceLog
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.policy.console_errors import (
    CharterNotSigned,
    NoCharter,
    NotManager,
    NotRegistered,
    StaleCharter,
)
from caducee.policy.models import Charter, CharterSignature, Establishment, Manager
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = [
    "CharterService",
    "CharterText",
    "EstablishmentView",
    "Signature",
    "charter_digest",
    "normalise_charter",
]

log = logging.getLogger(__name__)
MAX_CHARTER_CHARS = 100_000


def normalise_charter(text: str) -> str:
    """NFC, ``\\n`` line ends, no trailing blanks: one spelling, so one digest."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.strip().split("\n")) + "\n"


def charter_digest(text: str) -> str:
    """SHA-256 (hex) of the normalised charter's UTF-8 bytes: what a manager signs."""
    return hashlib.sha256(normalise_charter(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CharterText:
    version: int
    text: str
    sha256: str
    published_at: datetime


@dataclass(frozen=True)
class Signature:
    finess: str
    version: int
    charter_sha256: str
    signer_rpps: str
    signer_address: str
    signed_at: datetime
    evidence_index: int | None


@dataclass(frozen=True)
class EstablishmentView:
    """An establishment as the console lists it."""

    finess: str
    name: str
    type: str
    city: str
    region: str
    beds: int | None
    status: str
    managers: tuple[str, ...]
    signed_version: int | None
    current_version: int | None
    registered_at: datetime

    @property
    def up_to_date(self) -> bool:
        return self.current_version is None or self.signed_version == self.current_version


def _charter(row: Charter) -> CharterText:
    return CharterText(row.version, row.text, row.sha256, row.published_at)


def _signature(row: CharterSignature) -> Signature:
    return Signature(
        row.finess,
        row.version,
        row.charter_sha256,
        row.signer_rpps,
        row.signer_address,
        row.signed_at,
        row.evidence_index,
    )


async def _current(session: AsyncSession) -> Charter | None:
    return await session.scalar(select(Charter).order_by(Charter.version.desc()).limit(1))


async def _organisation_of(session: AsyncSession, mailbox_id: int) -> tuple[str | None, str | None]:
    """(organisation FINESS, person RPPS) of a mailbox."""
    row = (
        await session.execute(
            select(Mailbox.organisation_finess, Person.organisation_finess, Mailbox.person_rpps)
            .outerjoin(Person, Person.rpps == Mailbox.person_rpps)
            .where(Mailbox.id == mailbox_id)
        )
    ).first()
    if row is None:
        return None, None
    return row[0] or row[1], row[2]


class CharterService:
    """Charter versions, establishments, managers and signatures on one database."""

    def __init__(
        self,
        database: Database,
        evidence: EvidenceLog | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.evidence = evidence
        self.now = now

    # -- the charter ----------------------------------------------------------------------

    async def publish(self, text: str) -> CharterText:
        """Publish a new version (the next number); every establishment must sign it again."""
        text = normalise_charter(text)
        if not text.strip() or len(text) > MAX_CHARTER_CHARS:
            raise NoCharter(f"a charter is 1 to {MAX_CHARTER_CHARS} characters of text")
        async with self.database.transaction() as session:
            last = await session.scalar(select(func.max(Charter.version)))
            row = Charter(
                version=(last or 0) + 1,
                text=text,
                sha256=charter_digest(text),
                published_at=self.now(),
            )
            session.add(row)
        log.info("charter version %d published sha256=%s", row.version, row.sha256)
        return _charter(row)

    async def current(self) -> CharterText | None:
        async with self.database.sessions() as session:
            row = await _current(session)
        return None if row is None else _charter(row)

    # -- establishments -------------------------------------------------------------------

    async def register(self, finess: str, manager_rpps: str) -> None:
        """Register an organisation of the directory as an establishment, with its manager."""
        async with self.database.transaction() as session:
            if await session.get(Organisation, finess) is None:
                raise UnknownOrganisation(f"no organisation {finess}")
            if await session.get(Person, manager_rpps) is None:
                raise UnknownPerson(f"no person {manager_rpps}")
            if await session.get(Establishment, finess) is None:
                session.add(Establishment(finess=finess, registered_at=self.now()))
            if await session.get(Manager, (finess, manager_rpps)) is None:
                session.add(Manager(finess=finess, rpps=manager_rpps, since=self.now()))
        log.info("establishment %s registered, manager %s", finess, manager_rpps)

    async def managed_by(self, rpps: str | None) -> list[str]:
        """The establishments a person manages."""
        if rpps is None:
            return []
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(Manager.finess).where(Manager.rpps == rpps).order_by(Manager.finess)
            )
            return list(rows)

    async def establishments(self, finess: str | None = None) -> list[EstablishmentView]:
        """Every registered establishment (or one), its managers and latest signature."""
        async with self.database.sessions() as session:
            current = await _current(session)
            query = (
                select(Establishment, Organisation)
                .join(Organisation, Organisation.finess == Establishment.finess)
                .order_by(Organisation.name, Organisation.finess)
            )
            if finess is not None:
                query = query.where(Establishment.finess == finess)
            rows = (await session.execute(query)).all()
            ids = [e.finess for e, _ in rows]
            managers: dict[str, list[str]] = {}
            for m in await session.scalars(select(Manager).where(Manager.finess.in_(ids))):
                managers.setdefault(m.finess, []).append(m.rpps)
            signed = dict(
                (
                    await session.execute(
                        select(CharterSignature.finess, func.max(CharterSignature.version))
                        .where(CharterSignature.finess.in_(ids))
                        .group_by(CharterSignature.finess)
                    )
                ).all()
            )
        return [
            EstablishmentView(
                finess=e.finess,
                name=o.name,
                type=o.type,
                city=o.city,
                region=o.region,
                beds=o.beds,
                status=e.status,
                managers=tuple(sorted(managers.get(e.finess, []))),
                signed_version=signed.get(e.finess),
                current_version=None if current is None else current.version,
                registered_at=e.registered_at,
            )
            for e, o in rows
        ]

    async def signatures(self, finess: str) -> list[Signature]:
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(CharterSignature)
                .where(CharterSignature.finess == finess)
                .order_by(CharterSignature.version)
            )
            return [_signature(r) for r in rows]

    # -- signing and the gate -------------------------------------------------------------

    async def sign(
        self, *, finess: str, signer_rpps: str | None, signer_address: str, charter_sha256: str
    ) -> Signature:
        """Record the manager's acceptance of the current charter, as evidence.

        Refused (nothing written) unless the signer manages ``finess`` and
        ``charter_sha256`` is the current charter's digest. Signing again is idempotent.
        """
        async with self.database.transaction() as session:
            if await session.get(Establishment, finess) is None:
                raise NotRegistered(f"{finess} is not a registered establishment")
            if signer_rpps is None or await session.get(Manager, (finess, signer_rpps)) is None:
                raise NotManager(f"only a manager of {finess} may accept its charter")
            current = await _current(session)
            if current is None:
                raise NoCharter("no charter has been published")
            if charter_sha256 != current.sha256:
                raise StaleCharter(
                    f"the current charter is version {current.version}, "
                    f"sha256 {current.sha256}: read it and sign that one"
                )
            existing = await session.scalar(
                select(CharterSignature).where(
                    CharterSignature.finess == finess, CharterSignature.version == current.version
                )
            )
            if existing is not None:
                return _signature(existing)
            now = self.now()
            row = CharterSignature(
                finess=finess,
                version=current.version,
                charter_sha256=current.sha256,
                signer_rpps=signer_rpps,
                signer_address=signer_address,
                signed_at=now,
            )
            if self.evidence is not None:
                record = EvidenceRecord(
                    event=EvidenceEvent.CHARTER_SIGNED,
                    message_id=f"charter:{finess}:v{current.version}",
                    ciphertext_sha256=current.sha256,
                    actor_id=signer_address,
                    time=now,
                    extra={"finess": finess, "version": str(current.version), "rpps": signer_rpps},
                )
                index, _ = await self.evidence.append(session, record)
                row.evidence_index = index
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise StaleCharter("this charter was signed meanwhile") from None
        log.info("charter v%d signed for %s by %s", row.version, finess, signer_rpps)
        return _signature(row)

    async def check_enrolment(self, mailbox_id: int) -> None:
        """Raise unless this mailbox's people may be enrolled now (the charter gate)."""
        async with self.database.sessions() as session:
            current = await _current(session)
            if current is None:
                return
            finess, rpps = await _organisation_of(session, mailbox_id)
            if finess is None or await session.get(Establishment, finess) is None:
                raise NotRegistered(
                    "this mailbox's organisation is not a registered establishment: "
                    "register it and have its manager accept the charter first"
                )
            if rpps is not None and await session.get(Manager, (finess, rpps)) is not None:
                return  # the manager is enrolled first, to be able to sign
            signed = await session.scalar(
                select(CharterSignature.id).where(
                    CharterSignature.finess == finess, CharterSignature.version == current.version
                )
            )
        if signed is None:
            raise CharterNotSigned(
                f"the manager of {finess} has not accepted charter version {current.version}: "
                "its people can be enrolled once it is signed"
            )
