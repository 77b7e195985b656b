"""Helpers of the console tests: register an establishment, publish and sign the charter."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Table, select

from caducee.directory.identifiers import luhn_complete
from caducee.directory.models import Mailbox, Organisation, Person
from caducee.policy.models import Charter, CharterSignature, Hold, Manager, Sanction, SendingLimit
from caducee.policy.models import Establishment as EstablishmentRow
from tests.server.conftest import OPERATOR_TOKEN, Identity, World

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
CHARTER = (
    "Charte de bon usage (synthétique)\n"
    "Pas de messages en nombre : ni annonces, ni questionnaires.\n"
)
_numbers = itertools.count(1)


@dataclass
class Establishment:
    finess: str
    manager: Identity


async def console(world: World, method: str, path: str, body: Any = None) -> httpx.Response:
    return await world.client.request(method, f"/api/v1/console{path}", json=body, headers=OPERATOR)


async def register(world: World, org_type: str = "lab", region: str = "Bretagne") -> Establishment:
    """A new establishment and its manager (enrolled: a certificate and an access token)."""
    n = next(_numbers)
    finess = luhn_complete(f"{880000000 + n:08d}"[-8:])
    rpps = luhn_complete(f"{8800000000 + n:010d}")
    mailbox = f"direction.{n}@console.test"
    body = {
        "finess": finess,
        "name": f"Établissement synthétique {n}",
        "type": org_type,
        "city": "Rennes",
        "region": region,
        "manager": {
            "rpps": rpps,
            "given_name": "Dominique",
            "family_name": f"DIRECTION{n}",
            "mailbox": mailbox,
        },
    }
    response = await console(world, "POST", "/establishments", body)
    assert response.status_code == 201, response.text
    manager = await world.certify(mailbox, ec.generate_private_key(ec.SECP256R1()))
    manager.extra["rpps"] = rpps
    await world.login(manager)
    return Establishment(finess, manager)


async def publish(world: World, text: str = CHARTER) -> dict[str, Any]:
    response = await console(world, "POST", "/charter", {"text": text})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def sign(world: World, est: Establishment, sha256: str) -> httpx.Response:
    return await world.client.post(
        "/api/v1/charter/signatures",
        json={"finess": est.finess, "charter_sha256": sha256},
        headers=est.manager.headers,
    )


async def member(world: World, est: Establishment, name: str = "Membre") -> dict[str, str]:
    """A person of the establishment with a mailbox (not enrolled), added by its manager."""
    n = next(_numbers)
    rpps = luhn_complete(f"{7700000000 + n:010d}")
    body = {
        "rpps": rpps,
        "given_name": "Sacha",
        "family_name": f"{name.upper()}{n}",
        "profession": "biologiste",
        "mailbox": f"{name.lower()}.{n}@console.test",
    }
    response = await world.client.post(
        f"/api/v1/establishments/{est.finess}/people", json=body, headers=est.manager.headers
    )
    assert response.status_code == 201, response.text
    return {"rpps": rpps, "mailbox": body["mailbox"]}


# -- the console's forms: a session, its CSRF token, and the database to compare ------------

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
TABLES: tuple[type[Any], ...] = (
    Organisation, Person, Mailbox, EstablishmentRow, Manager, Charter, CharterSignature,
    SendingLimit, Sanction, Hold,
)  # fmt: skip


async def operator_session(world: World) -> str:
    """Log the client in to the console (its cookie); the forms' CSRF token."""
    token = OPERATOR["Authorization"].removeprefix("Bearer ")
    response = await world.client.post("/console/login", data={"token": token})
    assert response.status_code == 303, response.text
    page = await world.client.get("/console/establishments")
    found = CSRF.search(page.text)
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)


async def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the console's forms write: compared before and after."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with world.state.database.sessions() as session:
        for model in TABLES:
            table: Table = model.__table__
            key = list(table.primary_key)
            result = await session.execute(select(*table.columns).order_by(*key))
            rows[table.name] = [tuple(r) for r in result.all()]
    return rows
