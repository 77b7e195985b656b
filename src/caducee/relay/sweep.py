"""The orphan blob sweep: delete stored ciphertexts that no table refers to any more.

``RelayService.submit`` writes the blob *before* the transaction that records the message
(durable before "accepted"); a submission refused after that point (unknown recipient,
policy gate, a reused message id) or cut by a crash leaves a blob no row names. The sweep:

1. lists the blobs last written before ``now - grace`` (younger ones are never touched: an
   in-flight submission, blob written and transaction not yet committed, is young);
2. asks the database which of them a row still refers to (``REFERENCES``: relay messages,
   policy holds not refused, outbound mail still queued);
3. for each other one, re-reads its modification time (the same bytes uploaded again, a
   client retry, refresh it: blobs are content-addressed) and deletes it if still old.

Each deletion stands alone, so a crash mid-sweep leaves only orphans for the next run; a
second run finds nothing to do. Logs carry digests and counts, never content.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute

from caducee.background import BackgroundLoop
from caducee.gateway.models import OutboundMail, OutboundState
from caducee.policy.models import Hold
from caducee.relay.models import Message
from caducee.store import BlobStore, Database, StoreError
from caducee.store.models import utcnow

__all__ = [
    "DEFAULT_GRACE",
    "MIN_GRACE",
    "REFERENCES",
    "BlobSweeper",
    "SweepReport",
    "referenced_digests",
    "start_blob_sweeper",
    "sweep_orphan_blobs",
]

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=1)
MIN_GRACE = timedelta(minutes=1)  # far above a submission's blob-to-commit time
BATCH = 500  # digests per reference query (well under SQLite's 32766 parameters)

# Every column that names a blob, with the rows that still need it.
REFERENCES: tuple[tuple[InstrumentedAttribute[str], ColumnElement[bool] | None], ...] = (
    (Message.ciphertext_sha256, None),
    # held, releasing or released: kept; a refused hold's bytes are deleted at the refusal
    (Hold.ciphertext_sha256, Hold.status != "refused"),
    (OutboundMail.content_sha256, OutboundMail.state == OutboundState.QUEUED.value),
)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep saw and did (``deleted`` stays 0 on a dry run)."""

    scanned: int = 0
    scanned_bytes: int = 0
    fresh: int = 0  # younger than the grace period
    referenced: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    foreign: int = 0  # objects under the prefix that are not blobs: left alone
    applied: bool = False


@dataclass
class _Tally:
    scanned: int = 0
    scanned_bytes: int = 0
    fresh: int = 0
    referenced: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    foreign: int = 0


async def referenced_digests(database: Database, digests: Sequence[str]) -> set[str]:
    """Those of ``digests`` that a row still names (see ``REFERENCES``)."""
    found: set[str] = set()
    async with database.sessions() as session:
        for column, condition in REFERENCES:
            query = select(column).where(column.in_(digests))
            if condition is not None:
                query = query.where(condition)
            found.update(await session.scalars(query.distinct()))
    return found


async def _still_old(blobs: BlobStore, digest: str, cutoff: datetime) -> bool:
    """Re-read the blob's time just before deleting it (a retried upload refreshes it)."""
    modified = await blobs.modified(digest)
    return modified is not None and modified < cutoff


async def sweep_orphan_blobs(
    database: Database,
    blobs: BlobStore,
    *,
    grace: timedelta = DEFAULT_GRACE,
    apply: bool = False,
    now: Callable[[], datetime] = utcnow,
) -> SweepReport:
    """Find (and with ``apply``, delete) blobs older than ``grace`` that no row names."""
    if grace < MIN_GRACE:
        raise ValueError(f"the grace period must be at least {MIN_GRACE.total_seconds():.0f} s")
    await referenced_digests(database, [])  # the schema is there, or fail before touching blobs
    cutoff = now() - grace
    tally = _Tally()
    pending: dict[str, int] = {}
    async for chunk in blobs.entries(chunk_size=BATCH):
        for entry in chunk:
            if entry.digest is None:
                tally.foreign += 1
                continue
            tally.scanned += 1
            tally.scanned_bytes += entry.size
            if entry.modified >= cutoff:
                tally.fresh += 1
                continue
            pending[entry.digest] = entry.size
            if len(pending) >= BATCH:
                await _settle(database, blobs, pending, cutoff, apply, tally)
                pending = {}
    if pending:
        await _settle(database, blobs, pending, cutoff, apply, tally)
    report = SweepReport(**vars(tally), applied=apply)
    log.info(
        "blob sweep (%s): %d scanned, %d fresh, %d referenced, %d orphan(s) of %d bytes, "
        "%d deleted",
        "apply" if apply else "dry run",
        report.scanned,
        report.fresh,
        report.referenced,
        report.orphans,
        report.orphan_bytes,
        report.deleted,
    )
    return report


async def _settle(
    database: Database,
    blobs: BlobStore,
    sizes: dict[str, int],
    cutoff: datetime,
    apply: bool,
    tally: _Tally,
) -> None:
    """Reference-check one batch of old blobs, then delete the orphans among them."""
    referenced = await referenced_digests(database, sorted(sizes))
    tally.referenced += len(referenced)
    for digest, size in sorted(sizes.items()):
        if digest in referenced:
            continue
        tally.orphans += 1
        tally.orphan_bytes += size
        if not apply:
            log.info("orphan blob sha256=%s (%d bytes) would be deleted", digest, size)
            continue
        if not await _still_old(blobs, digest, cutoff):
            log.info("orphan blob sha256=%s was written again: kept", digest)
            continue
        await blobs.delete(digest)
        tally.deleted += 1
        tally.deleted_bytes += size
        log.info("orphan blob sha256=%s (%d bytes) deleted", digest, size)


class BlobSweeper:
    """Run the sweep every ``interval`` on the running loop (a failed pass is retried)."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        *,
        interval: timedelta,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        if grace < MIN_GRACE:
            raise ValueError(f"the grace period must be at least {MIN_GRACE.total_seconds():.0f} s")
        self.database = database
        self.blobs = blobs
        self.interval = interval
        self.grace = grace
        self.last: SweepReport | None = None
        self._loop = BackgroundLoop("blob-sweeper")

    async def _run(self) -> None:
        while await self._loop.pause(self.interval.total_seconds()):
            try:
                self.last = await sweep_orphan_blobs(
                    self.database, self.blobs, grace=self.grace, apply=True
                )
            except (StoreError, SQLAlchemyError, OSError):
                log.exception("blob sweep failed; next pass in %s", self.interval)

    def start(self) -> None:
        self._loop.start(self._run)

    async def stop(self) -> None:
        await self._loop.stop()


def start_blob_sweeper(
    database: Database, blobs: BlobStore, settings: Any
) -> Callable[[], Awaitable[None]] | None:
    """Start the periodic sweep when ``settings.blob_sweep_interval_seconds`` is set (with
    ``blob_sweep_grace_seconds``, default one hour); return its stopper, else ``None``."""
    interval = getattr(settings, "blob_sweep_interval_seconds", None)
    if not interval:
        return None
    grace = getattr(settings, "blob_sweep_grace_seconds", None) or DEFAULT_GRACE.total_seconds()
    sweeper = BlobSweeper(
        database, blobs, interval=timedelta(seconds=interval), grace=timedelta(seconds=grace)
    )
    sweeper.start()
    log.info("blob sweep every %.0f s (grace %.0f s)", interval, grace)
    return sweeper.stop
