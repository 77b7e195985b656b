"""The operator's API to fill the directory (operator token only: ``Authorization: Bearer``).

- ``POST /api/v1/admin/organisations`` → 201 {finess}
- ``POST /api/v1/admin/people`` → 201 {rpps}
- ``POST /api/v1/admin/mailboxes`` → 201 {address, id}
- ``POST /api/v1/admin/mailboxes/{address}/active`` {active} → {address, active}
- ``POST /api/v1/admin/people/{rpps}/enrolment-code`` {mailbox?} → 201 {code, expires_at}
- ``POST /api/v1/admin/mailboxes/{address}/enrolment-code`` → 201 {code, expires_at}
- ``GET|PUT /api/v1/admin/organisations/{finess}/instant-retention``: how long MISS keeps an
  organisation's cases (routes in ``instant_retention``, with the manager's own pair)

Enrolment codes pass the charter gate: once a charter is published, a mailbox's people can
be enrolled only when its organisation is a registered establishment whose manager accepted
the current charter (the manager alone may be enrolled before, to sign it): otherwise 409
``establishment-not-registered`` or ``charter-not-signed``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from caducee.directory import DirectoryService, MailboxKind, OrganisationType
from caducee.errors import CaduceeError
from caducee.policy.charter import CharterService
from caducee.server.auth import Operator, clock, credential_service
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.routes_console import problem
from caducee.server.state import ServerState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
State = Annotated[ServerState, Depends(get_state)]
Short = Annotated[str, Field(max_length=300)]


class OrganisationRequest(StrictRequest):
    finess: str = Field(max_length=9)
    name: str = Field(min_length=1, max_length=200)
    type: OrganisationType
    beds: int | None = Field(default=None, ge=0, le=100_000)
    address: Short = ""
    postcode: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)


class PersonRequest(StrictRequest):
    rpps: str = Field(max_length=11)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    profession: str = Field(min_length=1, max_length=100)
    specialty: str | None = Field(default=None, max_length=100)
    organisation: str | None = Field(default=None, max_length=9)


class MailboxRequest(StrictRequest):
    address: str = Field(min_length=3, max_length=320)
    kind: MailboxKind
    person: str | None = Field(default=None, max_length=11)
    organisation: str | None = Field(default=None, max_length=9)


class ActiveRequest(StrictRequest):
    active: bool


class CodeRequest(StrictRequest):
    mailbox: str | None = Field(default=None, max_length=320)


def _directory(state: ServerState) -> DirectoryService:
    return DirectoryService(state.database, now=clock(state))


@router.post("/organisations", status_code=201)
async def add_organisation(body: OrganisationRequest, _op: Operator, state: State) -> Any:
    try:
        finess = await _directory(state).register_organisation(**body.model_dump())
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {"finess": finess}


@router.post("/people", status_code=201)
async def add_person(body: PersonRequest, _op: Operator, state: State) -> Any:
    fields = body.model_dump(exclude={"organisation"})
    try:
        rpps = await _directory(state).register_person(
            **fields, organisation_finess=body.organisation
        )
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {"rpps": rpps}


@router.post("/mailboxes", status_code=201)
async def add_mailbox(body: MailboxRequest, _op: Operator, state: State) -> Any:
    try:
        mailbox_id = await _directory(state).create_mailbox(
            address=body.address,
            kind=body.kind.value,
            person_rpps=body.person,
            organisation_finess=body.organisation,
        )
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {"address": body.address.strip().lower(), "id": mailbox_id}


@router.post("/mailboxes/{address}/active")
async def set_active(address: str, body: ActiveRequest, _op: Operator, state: State) -> Any:
    try:
        await _directory(state).set_active(address, body.active)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return {"address": address.lower(), "active": body.active}


async def _code_for(state: ServerState, address: str) -> dict[str, Any]:
    mailbox = await _directory(state).get_mailbox(address)
    await CharterService(state.database).check_enrolment(mailbox.id)  # the charter gate
    code, expires_at = await credential_service(state).new_enrolment_code(mailbox.id)
    return {"address": mailbox.address, "code": code, "expires_at": expires_at.isoformat()}


@router.post("/people/{rpps}/enrolment-code", status_code=201)
async def person_code(
    rpps: str, _op: Operator, state: State, body: CodeRequest | None = None
) -> Any:
    try:
        mailboxes = [m for m in await _directory(state).personal_mailboxes(rpps) if m.active]
        wanted = body.mailbox.strip().lower() if body and body.mailbox else None
        chosen = [m for m in mailboxes if wanted in (None, m.address)]
        if len(chosen) != 1:
            raise ProblemError(
                422, "choose-mailbox", "say which of this person's active mailboxes to enrol"
            )
        return await _code_for(state, chosen[0].address)
    except CaduceeError as exc:
        raise problem(exc) from None


@router.post("/mailboxes/{address}/enrolment-code", status_code=201)
async def mailbox_code(address: str, _op: Operator, state: State) -> Any:
    try:
        return await _code_for(state, address)
    except CaduceeError as exc:
        raise problem(exc) from None
