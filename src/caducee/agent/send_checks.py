"""The checks before a send, shared by the local pages and the outbox watcher.

:meth:`SendChecks.plan` applies the bulk-mail rules (:mod:`caducee.agent.bulk_check`, with
the sender's limits from :class:`~caducee.agent.standing.Standing`) to all the recipients of a
send, then sorts them into Caducée's own and other operators'
(:class:`~caducee.agent.external.RecipientSorter`); a refused send is not sorted (no
directory look-up for 11,000 strangers). What a person confirmed on the local pages is
written in the journal (``confirmed:<sha256>:<name>``) before the file reaches the outbox, so
the watcher does not refuse again what was deliberately sent. The texts of the reason files
(French then English) are in :mod:`caducee.agent.reasons`; the pages have theirs in their
catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caducee.agent.bulk_check import BulkAdvice, assess_send, read_facts
from caducee.agent.external import Gateway, RecipientSorter
from caducee.agent.journal import Journal
from caducee.agent.reasons import REASONS, reason_text
from caducee.agent.standing import Standing, strongest_level

__all__ = ["CONFIRMED_BULK", "REASONS", "SendChecks", "SendPlan", "reason_text"]

CONFIRMED_BULK = "bulk"


@dataclass(frozen=True)
class SendPlan:
    """A send's verdict and its recipients sorted (empty when refused)."""

    advice: BulkAdvice
    internal: tuple[str, ...] = ()
    external: tuple[str, ...] = ()


class SendChecks:
    """The bulk-mail rules and the recipients' sorting for one agent."""

    def __init__(
        self,
        directory: Gateway | None,
        journal: Journal,
        standing: Standing,
        address: str,
        *,
        retries: int | None = None,
    ) -> None:
        self.journal = journal
        self.standing = standing
        self.sorter = RecipientSorter(directory, journal, address, retries=retries)

    def plan(
        self,
        recipients: Sequence[str],
        parts: Sequence[tuple[str, bytes]],
        *,
        with_sanctions: bool = False,
    ) -> SendPlan:
        """Assess then sort; the client's errors when a recipient cannot be sorted now.

        ``with_sanctions`` asks the server for the sanctions in force (the pages do; the
        outbox leaves them to the server, which holds or refuses by itself).
        """
        sanction = None
        if with_sanctions:
            sanction = strongest_level(self.standing.sanctions() or [])
        advice = assess_send(
            len(recipients), self.standing.limits(), lambda: read_facts(parts), sanction=sanction
        )
        if advice.refused:
            return SendPlan(advice)
        split = self.sorter.sort(recipients)
        return SendPlan(advice, split.internal, split.external)

    # -- what a person confirmed ----------------------------------------------------------
    def confirm(self, digest: str, name: str) -> None:
        """The person sent an announcement-like document deliberately (local pages)."""
        self.journal.set(f"confirmed:{digest}:{name}", CONFIRMED_BULK)

    def confirmed(self, digest: str, name: str) -> bool:
        return self.journal.get(f"confirmed:{digest}:{name}") == CONFIRMED_BULK
