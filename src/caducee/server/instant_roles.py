"""MISS directory: services, roles, members and on-call shifts (operator); who is on duty.

- ``POST /api/v1/instant/units`` (operator) → 201 {id}: a service or a role in a service.
- ``PUT /api/v1/instant/units/{id}/members`` (operator) → {members}.
- ``POST /api/v1/instant/roles/{id}/shifts`` (operator) → 201 {id, starts_at, ends_at}:
  either UTC instants, or a local day with start and end wall times (Europe/Paris).
- ``GET /api/v1/instant/roles/{id}/on-duty?at=`` (agent) → {primary, backup, head, steps}.
- ``GET /api/v1/instant/roles?q=`` (agent or device) → {roles}: roles to address a case to,
  found by words of their name, service, organisation or city.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from caducee.instant.oncall import Position, ShiftSpan, local_shift
from caducee.instant.roles import RoleDirectory
from caducee.server.auth import Agent, Operator
from caducee.server.instant_common import State, domain_errors, now_of
from caducee.server.problems import ProblemError
from caducee.server.requests import MAX_DB_INTEGER, StrictRequest
from caducee.server.state import ServerState

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/instant", tags=["instant"])
Address = Annotated[str, Field(min_length=3, max_length=320)]


def role_directory(state: ServerState) -> RoleDirectory:
    return RoleDirectory(state.database, now=now_of(state))


class UnitRequest(StrictRequest):
    organisation: str = Field(min_length=9, max_length=9)
    kind: Literal["service", "role"]
    name: str = Field(min_length=1, max_length=200)
    service: int | None = Field(default=None, ge=1, le=MAX_DB_INTEGER)
    head: Address | None = None
    escalation_seconds: int = Field(default=600, ge=10, le=7 * 24 * 3600)


class MembersRequest(StrictRequest):
    addresses: list[Address] = Field(max_length=1000)


class ShiftRequest(StrictRequest):
    address: Address
    position: Position = Position.PRIMARY
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    day: date | None = None
    start: time | None = None
    end: time | None = None

    def span(self) -> ShiftSpan:
        utc = (self.starts_at, self.ends_at)
        local = (self.day, self.start, self.end)
        try:
            if all(v is not None for v in utc) and all(v is None for v in local):
                assert self.starts_at is not None and self.ends_at is not None
                return ShiftSpan(self.address, self.position, self.starts_at, self.ends_at)
            if all(v is not None for v in local) and all(v is None for v in utc):
                assert self.day is not None and self.start is not None and self.end is not None
                return local_shift(self.address, self.position, self.day, self.start, self.end)
        except ValueError as exc:
            raise ProblemError(400, "instant-invalid-shift", f"garde invalide / {exc}") from None
        raise ProblemError(
            400,
            "instant-invalid-shift",
            "donner starts_at et ends_at, ou day, start et end / "
            "give starts_at and ends_at, or day, start and end",
        )


@router.post("/units", status_code=201, summary="Create a service or a role")
async def create_unit(body: UnitRequest, _operator: Operator, state: State) -> dict[str, Any]:
    with domain_errors():
        unit_id = await role_directory(state).create_unit(
            body.organisation,
            body.kind,
            body.name,
            service_id=body.service,
            head=body.head,
            escalation_seconds=body.escalation_seconds,
        )
    return {"id": unit_id}


@router.put("/units/{unit_id}/members", summary="Set the members of a service or role")
async def set_members(
    unit_id: int, body: MembersRequest, _operator: Operator, state: State
) -> dict[str, Any]:
    with domain_errors():
        members = await role_directory(state).set_members(unit_id, body.addresses)
    return {"members": members}


@router.post("/roles/{role_id}/shifts", status_code=201, summary="Put someone on duty")
async def add_shift(
    role_id: int, body: ShiftRequest, _operator: Operator, state: State
) -> dict[str, Any]:
    span = body.span()
    with domain_errors():
        shift_id = await role_directory(state).add_shift(role_id, span)
    return {
        "id": shift_id,
        "starts_at": span.starts_at.isoformat(),
        "ends_at": span.ends_at.isoformat(),
    }


@router.get("/roles", summary="Find roles to address a case to")
async def search_roles(
    _agent: Agent,
    state: State,
    q: Annotated[str, Query(min_length=2, max_length=100)],
) -> dict[str, Any]:
    found = await role_directory(state).search(q)
    return {
        "roles": [
            {
                "id": r.role_id,
                "name": r.name,
                "service": r.service,
                "organisation": {"finess": r.organisation_finess, "name": r.organisation},
                "city": r.city,
            }
            for r in found
        ]
    }


@router.get("/roles/{role_id}/on-duty", summary="Who is on duty for a role")
async def who_is_on_duty(
    role_id: int,
    _agent: Agent,
    state: State,
    at: Annotated[datetime | None, Query()] = None,
) -> dict[str, Any]:
    if at is not None and at.tzinfo is None:
        raise ProblemError(
            400, "instant-invalid-instant", "heure sans fuseau / a time without a time zone"
        )
    with domain_errors():
        resolution = await role_directory(state).resolve(role_id, at)
    return {
        "role": role_id,
        "primary": list(resolution.duty.primary),
        "backup": list(resolution.duty.backup),
        "head": resolution.duty.head,
        "steps": [list(step) for step in resolution.steps],
    }
