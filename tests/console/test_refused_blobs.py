"""A refused hold's ciphertext is deleted, once the refusal is recorded as evidence.

Real server in process (httpx ASGI), real database (SQLite and PostgreSQL), real blob store.
The refusal (the hold's row and its ``ModerationDecision`` record) is kept as proof; only
the bytes go, and only when no other row still names them.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from caducee.evidence.models import RecordRow
from caducee.policy.models import Hold
from caducee.store import StoreUnavailable
from tests.console.helpers import console, operator_session
from tests.relay.cms_samples import fake_enveloped
from tests.server.conftest import Identity, World, problem

BULK = 21  # recipients: one over a personal mailbox's default limit, so the message is held


async def _recipients(world: World) -> list[str]:
    return [(await world.person(f"Dest{i}")).address for i in range(BULK)]


async def _hold(world: World, sender: Identity, to: list[str], message_id: str, body: bytes) -> int:
    response = await world.send(sender, to, message_id=message_id, body=body)
    assert response.status_code == 202, response.text
    return int(response.json()["hold_id"])


async def _recorded_refusal(world: World, hold_id: int, message_id: str) -> None:
    """The hold's row says refused, and the evidence log holds the decision."""
    async with world.state.database.sessions() as session:
        hold = await session.get(Hold, hold_id)
        events = list(
            await session.scalars(select(RecordRow.event).where(RecordRow.message_id == message_id))
        )
    assert hold is not None and hold.status == "refused" and hold.decided_by == "operator"
    assert events == ["ModerationDecision"]


async def test_a_refusal_deletes_the_blob_and_keeps_the_record(world: World) -> None:
    sender, to, body = await world.person("Annonce"), await _recipients(world), fake_enveloped()
    digest = hashlib.sha256(body).hexdigest()
    hold_id = await _hold(world, sender, to, "refus-1@t", body)
    assert await world.state.blobs.exists(digest)

    response = await console(world, "POST", f"/holds/{hold_id}/refuse")
    assert response.status_code == 200 and response.json()["status"] == "refused"
    assert not await world.state.blobs.exists(digest)
    await _recorded_refusal(world, hold_id, "refus-1@t")
    # a second refusal changes nothing; the sender's retry is still told it was refused
    problem(await console(world, "POST", f"/holds/{hold_id}/refuse"), 404, "unknown-hold")
    retry = await world.send(sender, to, message_id="refus-1@t", body=body)
    assert retry.status_code == 202 and "refused" in retry.json()["detail"]
    await _recorded_refusal(world, hold_id, "refus-1@t")


async def test_a_refusal_from_the_console_page_deletes_the_blob(world: World) -> None:
    sender, to, body = await world.person("Invitation"), await _recipients(world), fake_enveloped()
    hold_id = await _hold(world, sender, to, "refus-2@t", body)
    csrf = await operator_session(world)
    response = await world.client.post(f"/console/moderation/{hold_id}/refuse", data={"csrf": csrf})
    assert response.status_code == 303, response.text
    assert not await world.state.blobs.exists(hashlib.sha256(body).hexdigest())
    await _recorded_refusal(world, hold_id, "refus-2@t")


async def test_bytes_another_row_still_names_are_kept(world: World) -> None:
    sender, to, body = await world.person("Labo"), await _recipients(world), fake_enveloped()
    digest = hashlib.sha256(body).hexdigest()
    first = await _hold(world, sender, to, "same-1@t", body)
    second = await _hold(world, sender, to, "same-2@t", body)  # the same bytes, held twice
    assert (await console(world, "POST", f"/holds/{first}/refuse")).status_code == 200
    assert await world.state.blobs.exists(digest)  # the second hold still needs them
    assert (await console(world, "POST", f"/holds/{second}/refuse")).status_code == 200
    assert not await world.state.blobs.exists(digest)

    # a delivered message naming the same bytes keeps them too
    other = fake_enveloped()
    delivered = await world.send(sender, to[:1], message_id="livre@t", body=other)
    assert delivered.status_code == 201, delivered.text
    held = await _hold(world, sender, to, "same-3@t", other)
    assert (await console(world, "POST", f"/holds/{held}/refuse")).status_code == 200
    assert await world.state.blobs.exists(hashlib.sha256(other).hexdigest())


async def test_a_blob_already_gone_is_no_error(world: World) -> None:
    sender, to, body = await world.person("Parti"), await _recipients(world), fake_enveloped()
    hold_id = await _hold(world, sender, to, "parti@t", body)
    await world.state.blobs.delete(hashlib.sha256(body).hexdigest())
    response = await console(world, "POST", f"/holds/{hold_id}/refuse")
    assert response.status_code == 200 and response.json()["status"] == "refused"
    await _recorded_refusal(world, hold_id, "parti@t")


async def test_a_blob_store_failure_after_the_refusal_keeps_the_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash between the two steps: the refusal and its evidence are already committed."""
    sender, to, body = await world.person("Panne"), await _recipients(world), fake_enveloped()
    hold_id = await _hold(world, sender, to, "panne@t", body)

    async def unavailable(digest: str) -> None:
        raise StoreUnavailable(f"blob store refused to delete {digest}: test outage")

    monkeypatch.setattr(world.state.blobs, "delete", unavailable)
    response = await console(world, "POST", f"/holds/{hold_id}/refuse")
    assert response.status_code == 200 and response.json()["status"] == "refused"
    await _recorded_refusal(world, hold_id, "panne@t")
    assert await world.state.blobs.exists(hashlib.sha256(body).hexdigest())
