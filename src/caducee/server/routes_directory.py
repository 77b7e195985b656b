"""The directory for agents (an access token is needed: the directory is not public).

- ``GET /api/v1/directory/search?q=&profession=&specialty=&city=&organisation=&address=&limit=``
  → {results: [...]}: active mailboxes and who owns them.
- ``GET /api/v1/directory/mailboxes/{address}/certificates`` → {address, certificates: [PEM]}:
  the certificates to encrypt to now (active, not revoked, within validity).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query

from caducee.directory import DirectoryService, SearchQuery
from caducee.errors import CaduceeError
from caducee.server.auth import Agent, clock
from caducee.server.domain_problems import to_problem
from caducee.server.state import ServerState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])
State = Annotated[ServerState, Depends(get_state)]
Text = Annotated[str | None, Query(max_length=200)]


def directory_service(state: ServerState) -> DirectoryService:
    return DirectoryService(state.database, now=clock(state))


@router.get("/search", summary="Find mailboxes by name, profession, place, organisation")
async def search(
    _agent: Agent,
    state: State,
    q: Text = None,
    profession: Text = None,
    specialty: Text = None,
    city: Text = None,
    organisation: Text = None,
    address: Text = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    query = SearchQuery(
        text=q,
        profession=profession,
        specialty=specialty,
        city=city,
        organisation=organisation,
        address=address,
        limit=limit,
    )
    results = await directory_service(state).search(query)
    return {"results": [asdict(entry) for entry in results]}


@router.get("/mailboxes/{address}/certificates", summary="Certificates to encrypt to")
async def certificates(address: str, _agent: Agent, state: State) -> dict[str, Any]:
    try:
        found = await directory_service(state).valid_certificates(address)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in found]
    return {"address": address.lower(), "certificates": pems}
