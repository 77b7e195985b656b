"""What other parts may plug into the relay: commit hooks and a submission gate.

A *commit hook* runs inside the group commit's transaction, in its worker thread, with the
batch's accepted submissions: what it writes commits or rolls back with them (the network's
figures are counted there, never by scanning messages). A *submission gate* sees each
submission after its ciphertext is durable and before it is recorded, and may hold it for
moderation by raising :class:`~caducee.relay.errors.SubmissionHeld`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

if TYPE_CHECKING:
    from caducee.relay.service import Envelope

__all__ = ["Accepted", "CommitHook", "SubmissionGate"]


@dataclass(frozen=True)
class Accepted:
    """A submission the current transaction records: ids, sizes and digests only."""

    message_id: str
    sender_mailbox_id: int
    sender: str
    recipients: tuple[tuple[str, int], ...]  # (address, mailbox id)
    size: int
    ciphertext_sha256: str
    accepted_at: datetime
    external_origin: str | None = None  # the sending domain, for mail from another operator


CommitHook = Callable[[Connection, Sequence[Accepted]], None]


class SubmissionGate(Protocol):
    """Called once per new submission; raise ``SubmissionHeld`` to hold it."""

    async def __call__(
        self, sender_mailbox_id: int, envelope: Envelope, ciphertext_sha256: str, size: int
    ) -> None: ...
