"""The relay's submission gate: sanctions, the recipient cap and the two token buckets.

:class:`BulkGate` is registered as ``state.extras["submission_gate"]``: the relay calls it
for each new submission once the ciphertext is durable, before recording it. A message over
a limit is held (:class:`~caducee.relay.errors.SubmissionHeld`, answered 202 with the reason
and the charter's link); a blocked sender is refused. :meth:`BulkGate.record_contacts` is a
commit hook: it remembers, in the relay's transaction, whom each sender has written to, so
first contacts can be told from the sender's usual correspondents.

Buckets and caches live in this process (the embedded server is one process); a sender's
profile, limits and sanction are re-read after ``cache_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from caducee.policy.bulk import HoldReason, Limits, SenderBuckets, Traffic, Verdict, assess
from caducee.policy.limits import LimitService
from caducee.policy.models import Contact, Hold
from caducee.policy.moderation import HoldStatus, ModerationService
from caducee.policy.sanctions import SanctionLevel, SanctionService, SenderBlocked, strongest
from caducee.relay import Envelope
from caducee.relay.errors import SubmissionHeld
from caducee.relay.hooks import Accepted
from caducee.store import Database
from caducee.store.models import utcnow

__all__ = ["BulkGate"]

log = logging.getLogger(__name__)
MAX_SENDERS_CACHED = 10_000


@dataclass
class _Sender:
    limits: Limits
    buckets: SenderBuckets
    sanction: SanctionLevel | None
    contacts: set[str]
    loaded_at: float
    has_holds: bool = False  # only then can a submission be the retry of a held one
    stale: bool = field(default=False)


class BulkGate:
    """The submission gate and the contacts commit hook of one server process."""

    def __init__(
        self,
        database: Database,
        moderation: ModerationService,
        *,
        charter_url: str,
        now: Callable[[], datetime] = utcnow,
        cache_seconds: float = 5.0,
    ) -> None:
        self.database = database
        self.moderation = moderation
        self.charter_url = charter_url
        self.now = now
        self.cache_seconds = cache_seconds
        self._senders: OrderedDict[int, _Sender] = OrderedDict()
        self._loading: dict[int, asyncio.Task[_Sender]] = {}

    def forget(self, mailbox_id: int | None = None) -> None:
        """Re-read limits and sanctions (of one sender, or all) at the next submission."""
        for key in [mailbox_id] if mailbox_id is not None else list(self._senders):
            if key in self._senders:
                self._senders[key].stale = True

    async def _sender(self, mailbox_id: int, now: float) -> _Sender:
        cached = self._senders.get(mailbox_id)
        if cached is not None and not cached.stale and now - cached.loaded_at < self.cache_seconds:
            self._senders.move_to_end(mailbox_id)
            return cached
        # One load per sender at a time: a lab's concurrent submissions share it.
        loading = self._loading.get(mailbox_id)
        if loading is None:
            loading = asyncio.get_running_loop().create_task(self._load(mailbox_id, now))
            self._loading[mailbox_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(mailbox_id, None))
        return await asyncio.shield(loading)

    async def _load(self, mailbox_id: int, now: float) -> _Sender:
        cached = self._senders.get(mailbox_id)
        _, limits = await LimitService(self.database).for_sender(mailbox_id)
        sanction = strongest(await SanctionService(self.database).of(mailbox_id))
        async with self.database.sessions() as session:
            holds = await session.scalar(
                select(Hold.id).where(Hold.sender_mailbox_id == mailbox_id).limit(1)
            )
            if cached is None:
                contacts = set(
                    await session.scalars(
                        select(Contact.recipient).where(Contact.sender_mailbox_id == mailbox_id)
                    )
                )
        if cached is None:
            cached = _Sender(limits, SenderBuckets.full(limits, now), sanction, contacts, now)
        else:
            cached.limits, cached.sanction, cached.loaded_at = limits, sanction, now
            cached.buckets.follow(limits)
            cached.stale = False
        cached.has_holds = holds is not None
        self._senders[mailbox_id] = cached
        self._senders.move_to_end(mailbox_id)
        while len(self._senders) > MAX_SENDERS_CACHED:
            self._senders.popitem(last=False)
        return cached

    async def __call__(
        self, sender_mailbox_id: int, envelope: Envelope, ciphertext_sha256: str, size: int
    ) -> None:
        now = self.now().timestamp()
        sender = await self._sender(sender_mailbox_id, now)
        if sender.has_holds:  # no database read on the common path
            earlier = await self.moderation.find(envelope.message_id)
            if earlier is not None and earlier.sender_mailbox_id == sender_mailbox_id:
                if earlier.status in (HoldStatus.RELEASED, HoldStatus.RELEASING):
                    return  # a retry of a released message: the relay answers it as a replay
                raise self._held(earlier.id, earlier.detail, earlier.status)
        if sender.sanction is SanctionLevel.BLOCK:
            raise SenderBlocked(
                "your mailbox is blocked from sending after reports of misuse: "
                f"see the charter at {self.charter_url} and contact the support"
            )
        if sender.sanction is SanctionLevel.HOLD:
            verdict = Verdict(
                HoldReason.SANCTION, "every message of this mailbox is checked by a moderator"
            )
        else:
            new = sum(1 for r in envelope.recipients if r not in sender.contacts)
            verdict = assess(
                Traffic(len(envelope.recipients), new), sender.limits, sender.buckets, now
            )
        if verdict.reason is None:
            return
        held = await self.moderation.hold(
            sender_mailbox_id=sender_mailbox_id,
            envelope=envelope,
            ciphertext_sha256=ciphertext_sha256,
            size=size,
            reason=verdict.reason.value,
            detail=verdict.detail,
        )
        sender.has_holds = True
        raise self._held(held.id, held.detail, held.status)

    def _held(self, hold_id: int, detail: str, status: str) -> SubmissionHeld:
        if status == HoldStatus.REFUSED:
            message = f"refused by a moderator ({detail}); see the charter of good use"
        else:
            message = (
                f"held for a moderator: {detail}. The charter of good use forbids bulk "
                "mail (announcements, invitations, questionnaires sent to many)"
            )
        return SubmissionHeld(message, hold_id=str(hold_id), charter_url=self.charter_url)

    # -- the commit hook ------------------------------------------------------------------

    def record_contacts(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        """Remember new (sender, recipient) pairs, in the relay's transaction."""
        rows = []
        for fact in accepted:
            if fact.external_origin is not None:
                continue
            cached = self._senders.get(fact.sender_mailbox_id)
            for address, _ in fact.recipients:
                if cached is not None and address in cached.contacts:
                    continue
                rows.append(
                    {
                        "sender_mailbox_id": fact.sender_mailbox_id,
                        "recipient": address,
                        "first_at": fact.accepted_at,
                    }
                )
                if cached is not None:
                    cached.contacts.add(address)
        if not rows:
            return
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(Contact).on_conflict_do_nothing(), rows)
