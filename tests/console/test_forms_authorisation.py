"""Who may post the console's forms: the operator's session with its CSRF token, nobody else.

Every form route is posted by each kind of caller: nobody, an ordinary agent, a moderator
(who may decide on holds through the API, but has no console session), the operator's
session without or with a wrong CSRF token, and the operator's session with it. Every
refusal leaves the database as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from caducee.directory.identifiers import luhn_complete
from caducee.directory.models import Mailbox
from caducee.policy.moderation import ModerationService
from caducee.relay import Envelope
from caducee.server.routes_console import COOKIE
from tests.console.helpers import console, operator_session, snapshot
from tests.server.conftest import Identity, World


async def _hold(world: World, sender: Identity) -> int:
    """A held message from ``sender``, put aside by the moderation service itself."""
    async with world.state.database.sessions() as session:
        mailbox_id = await session.scalar(
            select(Mailbox.id).where(Mailbox.address == sender.address)
        )
    assert mailbox_id is not None
    envelope = Envelope(
        "authz-1@caducee.test",
        sender.address,
        tuple(f"d{i}@console.test" for i in range(30)),
        "",
        "Document concernant votre patient",
    )
    held = await ModerationService(world.state.database).hold(
        sender_mailbox_id=mailbox_id,
        envelope=envelope,
        ciphertext_sha256="cd" * 32,
        size=2048,
        reason="too-many-recipients",
        detail="30 recipients in one message, at most 20",
    )
    return held.id


@pytest.fixture
async def routes(world: World) -> dict[str, Any]:
    """Each form route with a valid form, and the callers that are not the operator."""
    sender = await world.person("Expediteur")
    moderator = await world.person("Moderatrice")
    added = await console(world, "POST", "/moderators", {"rpps": moderator.extra["rpps"]})
    assert added.status_code == 201, added.text
    agent = await world.person("Ordinaire")
    hold_id = await _hold(world, sender)
    forms: list[tuple[str, dict[str, str]]] = [
        (
            "/console/establishments",
            {
                "name": "Laboratoire synthétique",
                "finess": luhn_complete("99100001"),
                "type": "lab",
                "region": "Normandie",
                "rpps": luhn_complete("9910000001"),
                "given_name": "Alex",
                "family_name": "RESPONSABLE",
                "profession": "biologiste",
                "mailbox": "resp.authz@console.test",
            },
        ),
        ("/console/charter", {"text": "Charte synthétique v1"}),
        (
            "/console/limits",
            {
                "scope": "kind:personal",
                "recipients_per_message": "10",
                "messages_per_hour": "100",
                "new_recipients_per_hour": "10",
            },
        ),
        ("/console/sanctions", {"address": sender.address, "level": "warning", "reason": "r"}),
        ("/console/sanctions/1/lift", {}),  # the warning just above, once given
        (f"/console/moderation/{hold_id}/refuse", {}),
    ]
    world.client.cookies.clear()
    return {"forms": forms, "others": [agent, moderator]}


async def _refused_without_session(
    world: World, path: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> None:
    response = await world.client.post(path, data={**form, "csrf": "0" * 64}, headers=headers)
    assert response.status_code == 303, (path, response.status_code)
    assert response.headers["location"] == "/console/login"


async def test_the_forms_are_the_operators_with_the_csrf_token(
    world: World, routes: dict[str, Any]
) -> None:
    forms = routes["forms"]
    before = await snapshot(world)
    for path, form in forms:
        await _refused_without_session(world, path, form)
        for who in routes["others"]:  # an agent; a moderator (the API lets them decide)
            response = await world.client.post(path, data=form, headers=who.headers)
            assert response.status_code == 303, (path, who.address)
            assert response.headers["location"] == "/console/login"
    forged = {"Cookie": f"{COOKIE}=not-the-operator-token"}
    for path, form in forms:
        await _refused_without_session(world, path, form, forged)
    assert await snapshot(world) == before

    csrf = await operator_session(world)
    for path, form in forms:
        for token in (None, "", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
            data = form if token is None else {**form, "csrf": token}
            response = await world.client.post(path, data=data)
            assert response.status_code == 403, (path, token)
            assert "jeton du formulaire" in response.text.lower()
    assert await snapshot(world) == before

    for path, form in forms:
        if path.endswith("/lift"):  # the warning given just before, by its form
            page = await world.client.get("/console/sanctions")
            sanction_id = page.text.split('id="sanction-')[1].split('"')[0]
            path = f"/console/sanctions/{sanction_id}/lift"
        response = await world.client.post(path, data={**form, "csrf": csrf})
        assert response.status_code == 303, (path, response.text)
        assert response.headers["location"] != "/console/login", path
    assert await snapshot(world) != before


async def test_the_csrf_token_belongs_to_the_session(world: World) -> None:
    csrf = await operator_session(world)
    page = await world.client.get("/console/limits")
    assert f'value="{csrf}"' in page.text  # the same token on every page of the session
    world.client.cookies.clear()
    login = await world.client.get("/console/login")
    assert csrf not in login.text and 'name="csrf" value=""' not in login.text
