"""Services, roles, their members and on-call shifts in the database; resolution at an instant.

The operator (or later an establishment's manager) writes them; anyone may ask who is on
duty for a role, which is what routing does before creating a case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from caducee.directory.models import Organisation
from caducee.instant.models import Shift, Unit, UnitMember
from caducee.instant.oncall import OnDuty, Position, ShiftSpan, escalation_chain, on_duty
from caducee.instant.service_errors import InvalidInstantRequest, NobodyOnDuty, UnknownUnit
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["FoundRole", "Resolution", "RoleDirectory", "aware"]

log = logging.getLogger(__name__)
UNIT_KINDS = ("service", "role")


def aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Resolution:
    """A role resolved at an instant: who is on duty, and the escalation steps after them."""

    role_id: int
    duty: OnDuty
    steps: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class FoundRole:
    """A role as a sender picks it: "on-call cardiologist, cardiology, CHU X (city)"."""

    role_id: int
    name: str
    service: str | None
    organisation_finess: str
    organisation: str
    city: str


def _like(text: str) -> str:
    """A case-insensitive LIKE pattern for ``text`` anywhere, its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class RoleDirectory:
    def __init__(self, database: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.now = now

    async def create_unit(
        self,
        organisation: str,
        kind: str,
        name: str,
        *,
        service_id: int | None = None,
        head: str | None = None,
        escalation_seconds: int = 600,
    ) -> int:
        """A new service (with its head) or role (in a service, with its escalation delay)."""
        if kind not in UNIT_KINDS:
            raise InvalidInstantRequest("type d'unité inconnu / unknown unit kind")
        if (kind == "role") != (service_id is not None):
            raise InvalidInstantRequest(
                "un rôle appartient à un service, un service à aucun / "
                "a role belongs to a service, a service to none"
            )
        async with self.database.transaction() as session:
            if await session.get(Organisation, organisation) is None:
                raise UnknownUnit("organisation inconnue / unknown organisation")
            if service_id is not None:
                service = await session.get(Unit, service_id)
                if service is None or service.kind != "service":
                    raise UnknownUnit("service inconnu / unknown service")
                if service.organisation_finess != organisation:
                    raise InvalidInstantRequest(
                        "le service est d'un autre établissement / "
                        "the service belongs to another organisation"
                    )
            taken = await session.scalar(
                select(Unit.id).where(Unit.organisation_finess == organisation, Unit.name == name)
            )
            if taken is not None:
                raise InvalidInstantRequest("ce nom est déjà pris / this name is taken")
            unit = Unit(
                organisation_finess=organisation,
                kind=kind,
                name=name,
                service_id=service_id,
                head_address=head.lower() if head else None,
                escalation_seconds=escalation_seconds,
                created_at=self.now(),
            )
            session.add(unit)
            await session.flush()
            log.info("instant %s %d created for %s", kind, unit.id, organisation)
            return unit.id

    async def set_members(self, unit_id: int, addresses: Iterable[str]) -> list[str]:
        """Replace the members of a service or role; returns them, sorted."""
        members = sorted({a.strip().lower() for a in addresses if a.strip()})
        async with self.database.transaction() as session:
            await self._unit(session, unit_id)
            await session.execute(delete(UnitMember).where(UnitMember.unit_id == unit_id))
            session.add_all(UnitMember(unit_id=unit_id, address=a) for a in members)
        return members

    async def add_shift(self, role_id: int, span: ShiftSpan) -> int:
        async with self.database.transaction() as session:
            role = await self._unit(session, role_id)
            if role.kind != "role":
                raise InvalidInstantRequest(
                    "les gardes sont celles d'un rôle / shifts belong to a role"
                )
            shift = Shift(
                role_id=role_id,
                address=span.address.lower(),
                position=span.position.value,
                starts_at=span.starts_at.astimezone(UTC),
                ends_at=span.ends_at.astimezone(UTC),
            )
            session.add(shift)
            await session.flush()
            return shift.id

    async def resolve(self, role_id: int, at: datetime | None = None) -> Resolution:
        """Who is on duty at ``at`` (now by default) and the escalation steps.

        Raises :class:`NobodyOnDuty` when not even the service can be reached.
        """
        when = at or self.now()
        async with self.database.sessions() as session:
            return await self.resolve_in(session, role_id, when)

    async def resolve_in(self, session: AsyncSession, role_id: int, at: datetime) -> Resolution:
        at = at.astimezone(UTC)
        role = await self._unit(session, role_id)
        if role.kind != "role":
            raise UnknownUnit("rôle inconnu / unknown role")
        service = await session.get(Unit, role.service_id) if role.service_id else None
        rows = await session.scalars(
            select(Shift).where(Shift.role_id == role_id, Shift.starts_at <= at, Shift.ends_at > at)
        )
        spans = [
            ShiftSpan(r.address, Position(r.position), aware(r.starts_at), aware(r.ends_at))
            for r in rows
        ]
        standing = await session.scalars(
            select(UnitMember.address).where(UnitMember.unit_id == role_id)
        )
        head = service.head_address if service else None
        duty = on_duty(spans, at, head=head, standing=list(standing))
        service_members: list[str] = []
        if service is not None:
            service_members = list(
                await session.scalars(
                    select(UnitMember.address).where(UnitMember.unit_id == service.id)
                )
            )
        steps = escalation_chain(duty, service_members)
        if not steps:
            raise NobodyOnDuty(
                "personne n'est joignable pour ce rôle, ni son service / "
                "nobody can be reached for this role, not even its service"
            )
        return Resolution(role_id, duty, tuple(steps))

    async def search(self, text: str, *, limit: int = 20) -> list[FoundRole]:
        """Roles whose name, service, organisation or city holds every word of ``text``.

        So a sender finds "the on-call cardiologist of the CHU" without knowing who it is.
        """
        service = aliased(Unit)
        query = (
            select(Unit.id, Unit.name, service.name, Organisation.finess, Organisation.name)
            .add_columns(Organisation.city)
            .join(Organisation, Organisation.finess == Unit.organisation_finess)
            .outerjoin(service, service.id == Unit.service_id)
            .where(Unit.kind == "role")
        )
        for word in text.split()[:6]:
            pattern = _like(word)
            fields = (Unit.name, service.name, Organisation.name, Organisation.city)
            query = query.where(or_(*(func.lower(f).like(pattern, escape="\\") for f in fields)))
        query = query.order_by(Organisation.name, Unit.name, Unit.id).limit(limit)
        async with self.database.sessions() as session:
            rows = (await session.execute(query)).all()
        return [FoundRole(*row) for row in rows]

    async def escalation_seconds(self, session: AsyncSession, role_id: int) -> int:
        return (await self._unit(session, role_id)).escalation_seconds

    @staticmethod
    async def _unit(session: AsyncSession, unit_id: int) -> Unit:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise UnknownUnit("service ou rôle inconnu / unknown service or role")
        return unit
