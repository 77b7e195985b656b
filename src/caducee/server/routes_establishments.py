"""Establishments: the operator registers them; a manager runs their own people.

Operator (bearer token or the console's cookie):

- ``GET|POST /api/v1/console/establishments``: list; register (an organisation of the
  directory, or a new one, and its manager) → 201
- ``GET /api/v1/console/establishments/{finess}``: status, managers, signatures, people

A manager (an access token), for an establishment they manage:

- ``GET|POST /api/v1/establishments/{finess}/people``
- ``POST /api/v1/establishments/{finess}/people/{rpps}/enrolment-code`` (once the charter
  is signed)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select

from caducee.directory import MailboxKind
from caducee.directory.credentials import AuthenticatedMailbox
from caducee.directory.errors import AlreadyRegistered, InvalidEntry
from caducee.directory.models import Mailbox, Person
from caducee.errors import CaduceeError
from caducee.policy.charter import EstablishmentView
from caducee.policy.console_errors import NotManager, NotRegistered
from caducee.server.auth import Agent, credential_service
from caducee.server.console_common import (
    ConsoleOperator,
    State,
    charter_service,
    directory_service,
    problem,
    rpps_of,
)
from caducee.server.console_registration import (
    EstablishmentRequest,
    looks_like_address,
    register_establishment,
)
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState

__all__ = ["establishment_detail", "router"]

router = APIRouter()


# -- the operator ---------------------------------------------------------------------------


@router.post("/api/v1/console/establishments", status_code=201, tags=["console"])
async def add_establishment(
    body: EstablishmentRequest, _op: ConsoleOperator, state: State
) -> dict[str, Any]:
    try:
        finess = await register_establishment(state, body)
    except CaduceeError as exc:
        raise problem(exc) from None
    [view] = await charter_service(state).establishments(finess)
    return _establishment_json(view)


def _establishment_json(view: EstablishmentView) -> dict[str, Any]:
    data = asdict(view)
    data["registered_at"] = view.registered_at.isoformat()
    data["up_to_date"] = view.up_to_date
    return data


@router.get("/api/v1/console/establishments", tags=["console"])
async def list_establishments(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    views = await charter_service(state).establishments()
    return {"establishments": [_establishment_json(v) for v in views]}


async def _people(state: ServerState, finess: str) -> list[dict[str, Any]]:
    async with state.database.sessions() as session:
        rows = (
            await session.execute(
                select(Person, Mailbox)
                .outerjoin(Mailbox, Mailbox.person_rpps == Person.rpps)
                .where(Person.organisation_finess == finess)
                .order_by(Person.family_name, Person.rpps)
            )
        ).all()
        return [
            {
                "rpps": p.rpps,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "profession": p.profession,
                "mailbox": m.address if m else None,
                "active": m.active if m else None,
            }
            for p, m in rows
        ]


async def establishment_detail(state: ServerState, finess: str) -> dict[str, Any]:
    """A registered establishment with its signatures and people (404 problem if none)."""
    views = await charter_service(state).establishments(finess)
    if not views:
        raise problem(NotRegistered(f"{finess} is not a registered establishment"))
    signatures = await charter_service(state).signatures(finess)
    return {
        **_establishment_json(views[0]),
        "signatures": [{**asdict(s), "signed_at": s.signed_at.isoformat()} for s in signatures],
        "people": await _people(state, finess),
    }


@router.get("/api/v1/console/establishments/{finess}", tags=["console"])
async def get_establishment(finess: str, _op: ConsoleOperator, state: State) -> dict[str, Any]:
    return await establishment_detail(state, finess)


# -- a manager's own establishment ----------------------------------------------------------


async def _check_manager(state: ServerState, agent: AuthenticatedMailbox, finess: str) -> None:
    managed = await charter_service(state).managed_by(await rpps_of(state, agent.mailbox_id))
    if finess not in managed:
        raise problem(NotManager(f"you do not manage establishment {finess}"))


@router.get("/api/v1/establishments/{finess}/people", tags=["establishment"])
async def my_people(finess: str, agent: Agent, state: State) -> dict[str, Any]:
    await _check_manager(state, agent, finess)
    return await establishment_detail(state, finess)


class PersonRequest(StrictRequest):
    rpps: str = Field(max_length=11)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    profession: str = Field(min_length=1, max_length=100)
    specialty: str | None = Field(default=None, max_length=100)
    mailbox: str = Field(min_length=3, max_length=320)


@router.post("/api/v1/establishments/{finess}/people", status_code=201, tags=["establishment"])
async def add_my_person(
    finess: str, body: PersonRequest, agent: Agent, state: State
) -> dict[str, Any]:
    await _check_manager(state, agent, finess)
    directory = directory_service(state)
    address = body.mailbox.strip().lower()
    try:
        # Everything that would refuse the mailbox is checked before the person is written:
        # a refusal leaves no one behind.
        if not looks_like_address(address):
            raise InvalidEntry(f"not a mailbox address: {address!r}")
        async with state.database.sessions() as session:
            if await session.scalar(select(Mailbox.id).where(Mailbox.address == address)):
                raise AlreadyRegistered(f"mailbox {address} exists already")
        rpps = await directory.register_person(
            rpps=body.rpps,
            given_name=body.given_name,
            family_name=body.family_name,
            profession=body.profession,
            specialty=body.specialty,
            organisation_finess=finess,
        )
        await directory.create_mailbox(
            address=body.mailbox, kind=MailboxKind.PERSONAL.value, person_rpps=rpps
        )
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"rpps": rpps, "mailbox": address}


@router.post(
    "/api/v1/establishments/{finess}/people/{rpps}/enrolment-code",
    status_code=201,
    tags=["establishment"],
)
async def my_person_code(finess: str, rpps: str, agent: Agent, state: State) -> dict[str, Any]:
    """An enrolment code for one of the manager's people (after the charter is signed)."""
    await _check_manager(state, agent, finess)
    try:
        mailboxes = [m for m in await directory_service(state).personal_mailboxes(rpps) if m.active]
        async with state.database.sessions() as session:
            person = await session.get(Person, rpps)
        if person is None or person.organisation_finess != finess or len(mailboxes) != 1:
            raise ProblemError(404, "not-your-person", f"{rpps} is not one of {finess}'s people")
        await charter_service(state).check_enrolment(mailboxes[0].id)
        code, expires_at = await credential_service(state).new_enrolment_code(mailboxes[0].id)
    except CaduceeError as exc:
        raise problem(exc) from None
    return {"address": mailboxes[0].address, "code": code, "expires_at": expires_at.isoformat()}
