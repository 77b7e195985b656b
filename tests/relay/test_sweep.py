"""The orphan blob sweep, on SQLite and PostgreSQL, on a local folder and on moto's S3.

Orphans are made the way production makes them: a submission refused after its blob was
written (an inactive recipient). Referenced blobs come from a real accepted message, a
policy hold and a queued outbound mail. Blob ages are the store's own modification times,
so "old" and "fresh" blobs are written seconds apart and the sweep's clock is set between.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import caducee.relay.sweep as sweep_module
from caducee.config import load_settings
from caducee.gateway.models import OutboundMail, OutboundState
from caducee.policy.models import Hold
from caducee.relay import Envelope, InactiveRecipient
from caducee.relay.sweep import (
    MIN_GRACE,
    REFERENCES,
    start_blob_sweeper,
    sweep_orphan_blobs,
)
from caducee.store import BlobStore, open_blob_store
from caducee.store.blobs import blob_key
from caducee.store.models import Base
from tests.relay.cms_samples import fake_enveloped
from tests.relay.conftest import Relay
from tests.store.test_blobs import blob_store  # noqa: F401  (local folder and moto S3)

GRACE = timedelta(hours=1)
GAP = 2.2  # seconds between old and fresh blobs (S3 times may be whole seconds)


@dataclass
class Scene:
    referenced: str  # an accepted message's ciphertext
    held: str  # a policy hold's ciphertext
    queued: str  # a queued outbound mail's clear MIME
    orphan: str  # a refused submission's ciphertext
    sent: str  # a sent outbound mail's MIME its worker failed to delete
    sizes: dict[str, int]


def _envelope(message_id: str, to: str) -> Envelope:
    return Envelope(message_id, "gp@caducee.test", (to,), "Sun, 29 Nov 2026 08:00:00 +0100", "x")


async def _refused(relay: Relay, message_id: str, size: int = 300) -> tuple[str, int]:
    """A submission refused after its blob was stored: the orphan production makes (a
    ciphertext too big to be kept in its row: a small refused one leaves no blob at all)."""
    relay.service.inline_max = 0
    ciphertext = fake_enveloped(size)
    with pytest.raises(InactiveRecipient):
        await relay.service.submit(
            sender_mailbox_id=relay.ids["gp"],
            sender_address="gp@caducee.test",
            envelope=_envelope(message_id, "closed@caducee.test"),
            ciphertext=ciphertext,
        )
    digest = hashlib.sha256(ciphertext).hexdigest()
    assert await relay.service.blobs.exists(digest)
    return digest, len(ciphertext)


async def _scene(relay: Relay, blobs: BlobStore) -> Scene:
    relay.service.blobs = blobs
    relay.service.inline_max = 0  # every ciphertext in the blob store, as big ones are
    service, database, gp = relay.service, relay.service.database, relay.ids["gp"]
    sizes: dict[str, int] = {}
    ciphertext = fake_enveloped(400)
    await service.submit(
        sender_mailbox_id=gp,
        sender_address="gp@caducee.test",
        envelope=_envelope("sweep-kept-1", "other@caducee.test"),
        ciphertext=ciphertext,
    )
    referenced = hashlib.sha256(ciphertext).hexdigest()
    sizes[referenced] = len(ciphertext)
    held_bytes = fake_enveloped(500)
    held = await blobs.put(held_bytes)
    queued = await blobs.put(b"clear MIME 1")
    sent = await blobs.put(b"clear MIME 2")
    now = datetime.now(UTC)
    async with database.transaction() as session:
        session.add(
            Hold(
                message_id="sweep-held-1",
                sender_mailbox_id=gp,
                sender="gp@caducee.test",
                recipients=["other@caducee.test"],
                envelope_date="Sun, 29 Nov 2026 08:00:00 +0100",
                subject="x",
                size=len(held_bytes),
                ciphertext_sha256=held,
                reason="bulk",
                detail="synthetic",
                status="held",
                created_at=now,
            )
        )
        for message_id, digest, state in (
            ("sweep-out-1", queued, OutboundState.QUEUED),
            ("sweep-out-2", sent, OutboundState.SENT),
        ):
            session.add(
                OutboundMail(
                    message_id=message_id,
                    sender="gp@caducee.test",
                    sender_mailbox_id=gp,
                    domain="ch-exemple.mssante.fr",
                    recipients=["dr@ch-exemple.mssante.fr"],
                    content_sha256=digest,
                    size=12,
                    state=state.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    orphan, orphan_size = await _refused(relay, "sweep-refused-1")
    sizes.update({held: len(held_bytes), queued: 12, sent: 12, orphan: orphan_size})
    return Scene(referenced, held, queued, orphan, sent, sizes)


def _between(split: datetime) -> Callable[[], datetime]:
    """A clock putting the cutoff (now − grace) between old blobs and ``split``."""
    return lambda: split + GRACE - timedelta(seconds=GAP / 2)


async def _present(blobs: BlobStore, *digests: str) -> list[bool]:
    return [await blobs.exists(d) for d in digests]


async def test_old_orphans_go_referenced_held_queued_and_fresh_stay(
    relay: Relay,
    blob_store: BlobStore,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene = await _scene(relay, blob_store)
    await asyncio.sleep(GAP)
    split = datetime.now(UTC)
    fresh, _ = await _refused(relay, "sweep-refused-2")  # an in-flight-aged orphan
    database = relay.service.database
    clock = _between(split)
    kept = (scene.referenced, scene.held, scene.queued, fresh)

    dry = await sweep_orphan_blobs(database, blob_store, grace=GRACE, now=clock)
    assert (dry.scanned, dry.fresh, dry.referenced, dry.orphans, dry.deleted) == (6, 1, 3, 2, 0)
    assert dry.orphan_bytes == scene.sizes[scene.orphan] + scene.sizes[scene.sent]
    assert not dry.applied
    assert await _present(blob_store, *kept, scene.orphan, scene.sent) == [True] * 6

    caplog.set_level("INFO", logger="caducee")
    done = await sweep_orphan_blobs(database, blob_store, grace=GRACE, apply=True, now=clock)
    assert (done.orphans, done.deleted, done.deleted_bytes) == (2, 2, dry.orphan_bytes)
    assert await _present(blob_store, scene.orphan, scene.sent) == [False, False]
    assert await _present(blob_store, *kept) == [True] * 4
    assert f"sha256={scene.orphan}" in caplog.text  # digests in the logs, never content
    assert "clear MIME" not in caplog.text
    # The accepted message is still readable.
    _, body = await relay.service.fetch(relay.ids["other"], "sweep-kept-1")
    assert len(body) == scene.sizes[scene.referenced]

    again = await sweep_orphan_blobs(database, blob_store, grace=GRACE, apply=True, now=clock)
    assert (again.scanned, again.orphans, again.deleted) == (4, 0, 0)  # idempotent


async def test_a_crash_mid_sweep_loses_nothing_referenced(
    relay: Relay,
    blob_store: BlobStore,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = await _scene(relay, blob_store)
    orphans = {scene.orphan, scene.sent}
    for n in range(4):
        orphans.add((await _refused(relay, f"sweep-crash-{n}", 200 + n))[0])
    later = datetime.now(UTC) + GRACE + timedelta(minutes=5)
    database = relay.service.database
    real_delete = blob_store.delete
    deleted: list[str] = []

    async def dying_delete(digest: str) -> None:
        if len(deleted) == 3:
            raise asyncio.CancelledError  # the process dies here (kill -9, shutdown)
        await real_delete(digest)
        deleted.append(digest)

    monkeypatch.setattr(blob_store, "delete", dying_delete)
    with pytest.raises(asyncio.CancelledError):
        await sweep_orphan_blobs(database, blob_store, grace=GRACE, apply=True, now=lambda: later)
    monkeypatch.undo()
    kept = (scene.referenced, scene.held, scene.queued)
    assert await _present(blob_store, *kept) == [True] * 3
    assert set(deleted) < orphans and len(deleted) == 3
    # The next run finishes the job, still sparing every referenced blob.
    report = await sweep_orphan_blobs(
        database, blob_store, grace=GRACE, apply=True, now=lambda: later
    )
    assert report.deleted == len(orphans) - 3
    assert await _present(blob_store, *kept) == [True] * 3
    assert await _present(blob_store, *orphans) == [False] * len(orphans)


async def test_an_orphan_written_again_during_the_sweep_is_kept(
    relay: Relay,
    blob_store: BlobStore,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client retrying the very same ciphertext after the listing refreshes its time."""
    relay.service.blobs = blob_store
    orphan, _ = await _refused(relay, "sweep-retry-1")
    data = await blob_store.get(orphan)
    await asyncio.sleep(GAP)
    clock = _between(datetime.now(UTC))
    real = sweep_module.referenced_digests

    async def retry_arrives(database: Any, digests: Any) -> set[str]:
        if orphan in digests:  # after the listing: the retry's blob, not yet committed
            await blob_store.put(data)
        return await real(database, digests)

    monkeypatch.setattr(sweep_module, "referenced_digests", retry_arrives)
    report = await sweep_orphan_blobs(
        relay.service.database, blob_store, grace=GRACE, apply=True, now=clock
    )
    assert (report.orphans, report.deleted) == (1, 0)
    assert await blob_store.exists(orphan)


async def test_a_grace_too_short_is_refused(relay: Relay) -> None:
    orphan, _ = await _refused(relay, "sweep-short-1")
    for grace in (timedelta(0), MIN_GRACE - timedelta(seconds=1)):
        with pytest.raises(ValueError, match="grace period"):
            await sweep_orphan_blobs(
                relay.service.database, relay.service.blobs, grace=grace, apply=True
            )
    assert await relay.service.blobs.exists(orphan)


async def test_objects_that_are_not_blobs_are_left_alone(relay: Relay, tmp_path: Path) -> None:
    stray = tmp_path / "blobs" / "sha256" / "notes.txt"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("not a blob")
    old = time.time() - 7200
    os.utime(stray, (old, old))
    report = await sweep_orphan_blobs(relay.service.database, relay.service.blobs, apply=True)
    assert (report.foreign, report.deleted) == (1, 0) and stray.exists()


async def test_the_server_sweeps_periodically(relay: Relay, tmp_path: Path) -> None:
    """``blob_sweep_interval_seconds``: the sweeper runs on its own, off when unset."""
    database, blobs = relay.service.database, relay.service.blobs
    assert start_blob_sweeper(database, blobs, load_settings()) is None  # off by default
    orphan, _ = await _refused(relay, "sweep-periodic-1")
    fresh, _ = await _refused(relay, "sweep-periodic-2")
    path = tmp_path / "blobs" / blob_key(orphan)
    old = time.time() - 7200
    os.utime(path, (old, old))  # a local blob two hours old
    settings = load_settings(blob_sweep_interval_seconds=0.05)
    assert settings.blob_sweep_grace_seconds == 3600
    stop = start_blob_sweeper(database, blobs, settings)
    assert stop is not None
    try:
        for _ in range(200):
            if not path.exists():
                break
            await asyncio.sleep(0.05)
    finally:
        await stop()
    assert not path.exists()
    assert await blobs.exists(fresh)


def test_sweep_settings_are_checked() -> None:
    from pydantic import ValidationError

    for bad in ({"blob_sweep_grace_seconds": 10}, {"blob_sweep_interval_seconds": 0}):
        with pytest.raises(ValidationError):
            load_settings(**bad)


def test_every_blob_reference_column_is_checked() -> None:
    """A new table naming blobs must join ``REFERENCES``, or the sweep would delete them."""
    import importlib
    import pkgutil

    import caducee

    for module in pkgutil.walk_packages(caducee.__path__, "caducee."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)
    naming = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name in ("ciphertext_sha256", "content_sha256")
    }
    checked = {f"{c.class_.__tablename__}.{c.key}" for c, _ in REFERENCES}
    assert naming - INLINE == checked


# Digest columns of rows that hold their ciphertext themselves (not in the blob store).
INLINE = {"instant_message.ciphertext_sha256"}


async def test_the_server_app_runs_the_sweeper(migrated_url: str, tmp_path: Path) -> None:
    from caducee.server import create_app

    settings = load_settings(
        data_dir=tmp_path / "data", database_url=migrated_url, blob_sweep_interval_seconds=0.05
    )
    blobs = open_blob_store(settings.resolved_blob_url)
    orphan, fresh = await blobs.put(b"orphan ciphertext"), await blobs.put(b"fresh ciphertext")
    path = Path(settings.resolved_blob_url.removeprefix("file://")) / blob_key(orphan)
    old = time.time() - 7200
    os.utime(path, (old, old))
    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        for _ in range(200):
            if not path.exists():
                break
            await asyncio.sleep(0.05)
    assert not path.exists() and await blobs.exists(fresh)


async def test_retention_purge_keeps_bytes_a_hold_still_names(
    relay: Relay,
    blob_store: BlobStore,  # noqa: F811
) -> None:
    """``purge_expired`` deletes an expired message's blob only when nothing else names it."""
    scene = await _scene(relay, blob_store)
    database = relay.service.database
    ciphertext = fake_enveloped(450)
    digest = hashlib.sha256(ciphertext).hexdigest()
    await relay.service.submit(
        sender_mailbox_id=relay.ids["gp"],
        sender_address="gp@caducee.test",
        envelope=_envelope("retention-shared-1", "other@caducee.test"),
        ciphertext=ciphertext,
    )
    async with database.transaction() as session:  # the same bytes, held for moderation
        session.add(
            Hold(
                message_id="retention-held-1",
                sender_mailbox_id=relay.ids["gp"],
                sender="gp@caducee.test",
                recipients=["other@caducee.test"],
                envelope_date="Sun, 29 Nov 2026 08:00:00 +0100",
                subject="x",
                size=len(ciphertext),
                ciphertext_sha256=digest,
                reason="bulk",
                detail="synthetic",
                status="held",
                created_at=datetime.now(UTC),
            )
        )
    purged = await relay.service.purge_expired(timedelta(seconds=-60))  # everything expired
    assert purged == 2  # the two accepted messages
    assert await _present(blob_store, digest, scene.held) == [True, True]  # named by holds
    assert await _present(blob_store, scene.referenced) == [False]  # named by nobody now


async def test_a_refused_holds_bytes_are_swept(
    relay: Relay,
    blob_store: BlobStore,  # noqa: F811
) -> None:
    """The refusal deletes its blob; if the process died between the two, the sweep does."""
    relay.service.blobs = blob_store
    database, gp = relay.service.database, relay.ids["gp"]
    refused_bytes, held_bytes = fake_enveloped(300), fake_enveloped(301)
    refused, held = await blob_store.put(refused_bytes), await blob_store.put(held_bytes)
    async with database.transaction() as session:
        for message_id, digest, status in (
            ("sweep-refused-hold", refused, "refused"),
            ("sweep-still-held", held, "held"),
        ):
            session.add(
                Hold(
                    message_id=message_id,
                    sender_mailbox_id=gp,
                    sender="gp@caducee.test",
                    recipients=["other@caducee.test"],
                    envelope_date="Sun, 29 Nov 2026 08:00:00 +0100",
                    subject="x",
                    size=300,
                    ciphertext_sha256=digest,
                    reason="bulk",
                    detail="synthetic",
                    status=status,
                    created_at=datetime.now(UTC),
                )
            )
    await asyncio.sleep(GAP)
    clock = _between(datetime.now(UTC))
    done = await sweep_orphan_blobs(database, blob_store, grace=GRACE, apply=True, now=clock)
    assert done.deleted == 1
    assert await _present(blob_store, refused, held) == [False, True]
