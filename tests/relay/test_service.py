"""Submission, idempotency, refusals, mailbox cursors, fetch, ack and retention on both engines."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from caducee.relay import (
    DuplicateMessageId,
    Envelope,
    InactiveRecipient,
    InvalidEnvelope,
    MessageTooLarge,
    NotSMIME,
    NotYourMailbox,
    UnknownMessage,
    UnknownRecipient,
)
from caducee.relay.batching import Submission
from caducee.relay.models import Delivery, Message
from caducee.store import BlobNotFound, downgrade_database, upgrade_database
from tests.relay.cms_samples import fake_enveloped, fake_signed
from tests.relay.conftest import Relay


def envelope(message_id: str, *to: str, sender: str = "lab@caducee.test") -> Envelope:
    return Envelope(message_id, sender, to, "Sun, 29 Nov 2026 08:00:00 +0100", "Document")


async def submit(relay: Relay, env: Envelope, body: bytes | None = None) -> object:
    return await relay.service.submit(
        sender_mailbox_id=relay.ids["lab"],
        sender_address="lab@caducee.test",
        envelope=env,
        ciphertext=body if body is not None else fake_enveloped(),
    )


async def count(relay: Relay, model: type) -> int:
    async with relay.service.database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_submit_consigns_to_each_recipient_and_is_idempotent(relay: Relay) -> None:
    body = fake_enveloped()
    env = envelope("m1", "GP@caducee.test", "other@caducee.test", "gp@caducee.test")
    first = await submit(relay, env, body)
    again = await submit(relay, env, body)
    assert first.created and not again.created  # type: ignore[attr-defined]
    assert first.recipients == again.recipients == ("gp@caducee.test", "other@caducee.test")  # type: ignore[attr-defined]
    assert first.accepted_at == again.accepted_at  # type: ignore[attr-defined]
    assert await count(relay, Message) == 1 and await count(relay, Delivery) == 2
    _, fetched = await relay.service.fetch(relay.ids["gp"], "m1")
    assert fetched == body
    with pytest.raises(DuplicateMessageId):
        await submit(relay, env, fake_enveloped())


REFUSALS: list[tuple[Envelope, bytes | None, type[Exception]]] = [
    (envelope("m", "nobody@caducee.test", "gp@caducee.test"), None, UnknownRecipient),
    (envelope("m", "gp@caducee.test", "closed@caducee.test"), None, InactiveRecipient),
    (envelope("m", "gp@caducee.test"), fake_enveloped(70 * 1024), MessageTooLarge),
    (envelope("m", "gp@caducee.test"), fake_signed(), NotSMIME),
    (envelope("m", "gp@caducee.test", sender="gp@caducee.test"), None, NotYourMailbox),
    (envelope("<m>", "gp@caducee.test"), None, InvalidEnvelope),
    (envelope("m"), None, InvalidEnvelope),
    (
        Envelope("m", "lab@caducee.test", ("gp@caducee.test",), "d", "a\r\nBcc: x"),
        None,
        InvalidEnvelope,
    ),
]


async def test_refusals_leave_nothing_behind(relay: Relay) -> None:
    for env, body, error in REFUSALS:
        with pytest.raises(error):
            await submit(relay, env, body)
    assert await count(relay, Message) == 0 and await count(relay, Delivery) == 0
    # The refused id stays free, and no sequence number was consumed.
    await submit(relay, envelope("m", "gp@caducee.test"))
    page = await relay.service.list_mailbox(relay.ids["gp"])
    assert [i.sequence for i in page.items] == [1]


async def test_fifty_concurrent_submissions_of_one_id_make_one_message(relay: Relay) -> None:
    body = fake_enveloped()
    env = envelope("same-id", "gp@caducee.test", "other@caducee.test")
    receipts = await asyncio.gather(*(submit(relay, env, body) for _ in range(50)))
    assert sum(r.created for r in receipts) == 1  # type: ignore[attr-defined]
    assert len({r.accepted_at for r in receipts}) == 1  # type: ignore[attr-defined]
    assert await count(relay, Message) == 1 and await count(relay, Delivery) == 2


async def test_concurrent_distinct_messages_get_dense_sequences(relay: Relay) -> None:
    await asyncio.gather(*(submit(relay, envelope(f"m{i}", "gp@caducee.test")) for i in range(20)))
    page = await relay.service.list_mailbox(relay.ids["gp"], limit=500)
    assert [i.sequence for i in page.items] == list(range(1, 21))


async def test_cursor_fetch_and_acknowledge(relay: Relay) -> None:
    bodies = [fake_enveloped() for _ in range(3)]
    for i, body in enumerate(bodies):
        await submit(relay, envelope(f"m{i}", "gp@caducee.test"), body)
    gp = relay.ids["gp"]
    page = await relay.service.list_mailbox(gp, cursor=0, limit=2)
    assert [i.message_id for i in page.items] == ["m0", "m1"] and page.next_cursor == 2
    page = await relay.service.list_mailbox(gp, cursor=page.next_cursor)
    assert [i.message_id for i in page.items] == ["m2"] and page.next_cursor == 3
    assert (await relay.service.list_mailbox(gp, cursor=3)).items == ()
    item, body = await relay.service.fetch(gp, "m1")
    assert body == bodies[1] and item.state == "fetched"
    assert (await relay.service.acknowledge(gp, "m1")).state == "acknowledged"
    assert (await relay.service.acknowledge(gp, "m1")).state == "acknowledged"  # idempotent
    assert [i.message_id for i in (await relay.service.list_mailbox(gp)).items] == ["m0", "m2"]
    with pytest.raises(UnknownMessage):  # not in this mailbox
        await relay.service.fetch(relay.ids["other"], "m0")
    with pytest.raises(UnknownMessage):
        await relay.service.acknowledge(relay.ids["other"], "m0")


async def test_submit_notifies_recipients(relay: Relay) -> None:
    async with relay.notifier.subscribe(relay.ids["gp"]) as subscription:
        await submit(relay, envelope("m", "gp@caducee.test"))
        assert await subscription.wait(1) is True


async def _stored_in_row(relay: Relay, message_id: str) -> bytes | None:
    async with relay.service.database.sessions() as session:
        kept = await session.scalar(
            select(Message.inline_ciphertext).where(Message.message_id == message_id)
        )
    return None if kept is None else bytes(kept)


async def test_small_ciphertexts_are_kept_in_their_row_big_ones_in_the_blob_store(
    relay: Relay,
) -> None:
    """Up to ``inline_max`` bytes the accepting transaction holds the bytes (no blob file);
    above, the blob store does. A fetch of both together gives each its own bytes."""
    relay.service.inline_max = 2048
    small, big = fake_enveloped(1000), fake_enveloped(3000)
    await submit(relay, envelope("small", "gp@caducee.test"), small)
    await submit(relay, envelope("big", "gp@caducee.test"), big)
    assert await _stored_in_row(relay, "small") == small
    assert await _stored_in_row(relay, "big") is None
    blobs = relay.service.blobs
    assert not await blobs.exists(hashlib.sha256(small).hexdigest())
    assert await blobs.get(hashlib.sha256(big).hexdigest()) == big
    answers = await relay.service.fetch_many(relay.ids["gp"], ["big", "small"], max_bytes=10**6)
    assert [body for _, body in answers] == [big, small]  # type: ignore[misc]
    # A retry of an accepted small message answers from the row, and writes no blob either.
    again = await submit(relay, envelope("small", "gp@caducee.test"), small)
    assert not again.created  # type: ignore[attr-defined]
    assert not await blobs.exists(hashlib.sha256(small).hexdigest())


@pytest.mark.parametrize("inline_max", [0, 64 * 1024], ids=["blob-store", "in-row"])
async def test_purge_expired_deletes_rows_and_their_bytes(relay: Relay, inline_max: int) -> None:
    relay.service.inline_max = inline_max
    body = fake_enveloped()
    old = await submit(relay, envelope("old", "gp@caducee.test"), body)
    relay.clock.advance(days=40)
    await submit(relay, envelope("new", "gp@caducee.test"))
    if inline_max:
        assert await _stored_in_row(relay, "old") == body
    else:
        assert await relay.service.blobs.get(old.ciphertext_sha256) == body  # type: ignore[attr-defined]
    assert await relay.service.purge_expired(timedelta(days=30)) == 1
    assert [i.message_id for i in (await relay.service.list_mailbox(relay.ids["gp"])).items] == [
        "new"
    ]
    assert await count(relay, Message) == 1  # the old row, and the bytes it held, are gone
    with pytest.raises(BlobNotFound):
        await relay.service.blobs.get(old.ciphertext_sha256)  # type: ignore[attr-defined]
    assert await relay.service.purge_expired(timedelta(days=30)) == 0


async def test_a_mixed_burst_answers_each_submission_on_its_own(relay: Relay) -> None:
    # On SQLite these share one group commit; on PostgreSQL each has its own transaction
    # (and the order in which they commit is not fixed).
    body = fake_enveloped()
    results = await asyncio.gather(
        submit(relay, envelope("ok", "gp@caducee.test", "other@caducee.test"), body),
        submit(relay, envelope("unknown", "nobody@caducee.test")),
        submit(relay, envelope("closed", "closed@caducee.test")),
        submit(relay, envelope("ok", "gp@caducee.test", "other@caducee.test"), body),
        submit(relay, envelope("ok2", "gp@caducee.test")),
        return_exceptions=True,
    )
    assert isinstance(results[1], UnknownRecipient)
    assert isinstance(results[2], InactiveRecipient)
    assert sorted(r.created for r in (results[0], results[3])) == [False, True]  # type: ignore[union-attr]
    assert results[4].created  # type: ignore[union-attr]
    page = await relay.service.list_mailbox(relay.ids["gp"])
    assert sorted(i.message_id for i in page.items) == ["ok", "ok2"]
    assert sorted(i.sequence for i in page.items) == [1, 2]
    with pytest.raises(DuplicateMessageId):
        await submit(relay, envelope("ok", "gp@caducee.test"), fake_enveloped())


async def test_a_batch_failing_on_a_constraint_is_retried_one_by_one(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process recorded an id meanwhile: the others of the batch are still accepted."""
    committer = relay.service.committer
    assert committer is not None
    real = committer.queue.commit
    sizes: list[int] = []

    release = threading.Event()

    def flaky(batch: list[Submission]) -> list[object]:
        sizes.append(len(batch))
        if batch[0].message_id == "first":
            release.wait(30)  # hold the committer so that the next three share one batch
        if len(batch) > 1 or batch[0].message_id == "dup":
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
        return real(batch)  # type: ignore[return-value]

    monkeypatch.setattr(committer.queue, "commit", flaky)
    first = asyncio.ensure_future(submit(relay, envelope("first", "gp@caducee.test")))
    for _ in range(1000):  # the batch of one is being committed, and held there below
        if sizes:
            break
        await asyncio.sleep(0.01)
    others = [
        asyncio.ensure_future(submit(relay, envelope(i, "gp@caducee.test")))
        for i in ("a", "dup", "b")
    ]
    for _ in range(1000):  # all three wait behind the held batch (10 s at most)
        if committer.queue.waiting >= 3:
            break
        await asyncio.sleep(0.01)
    release.set()
    await first
    results = await asyncio.gather(*others, return_exceptions=True)
    assert max(sizes) > 1  # the three shared a batch, which failed whole
    assert [type(r).__name__ for r in results] == ["Receipt", "InvalidEnvelope", "Receipt"]
    assert await count(relay, Message) == 3


async def test_going_back_below_inline_ciphertexts_refuses_while_a_row_holds_bytes(
    relay: Relay,
) -> None:
    """Migration 0014's downgrade would drop the only copy of small messages: it refuses,
    and goes once retention has purged them."""
    await submit(relay, envelope("kept", "gp@caducee.test"))
    url = relay.service.database.url
    await relay.service.database.engine.dispose()  # no pooled connection holds the table
    with pytest.raises(RuntimeError, match="1 messages keep their ciphertext"):
        await asyncio.to_thread(downgrade_database, url, "0013")
    assert await _stored_in_row(relay, "kept") is not None  # nothing was dropped
    assert await relay.service.purge_expired(timedelta(seconds=-60)) == 1
    await relay.service.database.engine.dispose()
    await asyncio.to_thread(downgrade_database, url, "0013")
    await asyncio.to_thread(upgrade_database, url)


def test_the_setting_defaults_to_the_services_inline_limit() -> None:
    from caducee.config import load_settings
    from caducee.relay.service import INLINE_MAX_BYTES

    assert load_settings().relay_inline_max_bytes == INLINE_MAX_BYTES


async def test_a_batch_holding_an_id_recorded_earlier_answers_each_on_its_own(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch does not look its ids up first: the database's unique id refuses the retry,
    the batch is recorded again one by one, and each submission gets its own answer."""
    body = fake_enveloped()
    assert (await submit(relay, envelope("early", "gp@caducee.test"), body)).created  # type: ignore[attr-defined]
    committer = relay.service.committer
    assert committer is not None
    real, release, sizes = committer.queue.commit, threading.Event(), []

    def held_first(batch: list[Submission]) -> list[object]:
        sizes.append(len(batch))
        if batch[0].message_id == "hold":
            release.wait(30)  # the next three queue up behind it and share one batch
        return real(batch)  # type: ignore[return-value]

    monkeypatch.setattr(committer.queue, "commit", held_first)
    hold = asyncio.ensure_future(submit(relay, envelope("hold", "gp@caducee.test")))
    while not sizes:
        await asyncio.sleep(0.01)
    burst = [
        asyncio.ensure_future(submit(relay, envelope(i, "gp@caducee.test"), b))
        for i, b in (("x1", fake_enveloped()), ("early", body), ("x2", fake_enveloped()))
    ]
    while committer.queue.waiting < 3:
        await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(hold, *burst)
    assert [a.created for a in answers] == [True, True, False, True]  # type: ignore[attr-defined]
    assert sizes[:2] == [1, 3]  # the batch of three was tried whole first
    page = await relay.service.list_mailbox(relay.ids["gp"])
    assert [i.message_id for i in page.items] == ["early", "hold", "x1", "x2"]
    assert [i.sequence for i in page.items] == [1, 2, 3, 4]


async def test_a_retry_after_the_recipient_closed_replays_the_acceptance(relay: Relay) -> None:
    """The message was accepted, then its recipient's mailbox closed: a retry of the same
    submission is told it was accepted (200), not refused as for a closed mailbox."""
    from caducee.directory import DirectoryService

    body = fake_enveloped()
    first = await submit(relay, envelope("before-close", "gp@caducee.test"), body)
    await DirectoryService(relay.service.database).set_active("gp@caducee.test", False)
    again = await submit(relay, envelope("before-close", "gp@caducee.test"), body)
    assert first.created and not again.created  # type: ignore[attr-defined]
    with pytest.raises(InactiveRecipient):
        await submit(relay, envelope("after-close", "gp@caducee.test"))
