"""Presence in the MISS hub: who of the people sharing a case has a device connected here.

Presence says "online" or nothing (no "last seen"), and only to people who share a case. At
connect, one query (:func:`peers_of`) finds the people sharing a case with the device's
person; when a person's first device here is ready, or their last one leaves, the ready
devices of those people get a ``presence`` frame; a newcomer gets one per such person online
right after its ``ready``; people added to a case learn of each other with its ``case`` event.
Whom each person online was told about is kept both ways, so whoever heard "online" hears
"offline". Everything here is in memory and per process (the bus carries message ids only),
never stored, never evidence; the methods never await, so two devices arriving at once each
see the other.
"""

from __future__ import annotations

import json
from typing import Generic, Protocol, TypeVar

from sqlalchemy import select

from caducee.instant.models import Participant
from caducee.store import Database

__all__ = ["Presence", "peers_of", "presence_frame"]


class Listener(Protocol):
    """What presence needs of a hub connection."""

    @property
    def address(self) -> str: ...

    def push(self, frame: str) -> None: ...


C = TypeVar("C", bound=Listener)


def presence_frame(address: str, online: bool) -> str:
    return json.dumps({"type": "presence", "address": address, "online": online})


async def peers_of(database: Database, address: str) -> set[str]:
    """The people who share a case with ``address`` now: one query, at connect."""
    mine = select(Participant.case_id).where(
        Participant.address == address, Participant.removed_at.is_(None)
    )
    async with database.sessions() as session:
        people = await session.scalars(
            select(Participant.address)
            .where(Participant.case_id.in_(mine), Participant.removed_at.is_(None))
            .distinct()
        )
        return set(people) - {address}


class Presence(Generic[C]):
    """The ready connections by person, and whom each person online was told about."""

    def __init__(self) -> None:
        self.connections: dict[str, set[C]] = {}
        self.known: dict[str, set[str]] = {}

    def ready(self, address: str) -> set[C]:
        """``address``'s ready connections here (empty when offline)."""
        return self.connections.get(address, set())

    def arrived(self, connection: C, people: set[str]) -> None:
        """A ready connection, whose person shares a case with ``people``: it learns who of
        them is online; they learn that its person is, if this is its first device here.

        Synchronous (no await): two devices arriving at once each see the other."""
        address = connection.address
        first = address not in self.connections
        self.connections.setdefault(address, set()).add(connection)
        known = self.known.setdefault(address, set())
        for peer in sorted(people & self.connections.keys() - {address}):
            connection.push(presence_frame(peer, True))
            if first or peer not in known:
                self._tell(peer, presence_frame(address, True))
            known.add(peer)
            self.known[peer].add(address)

    def shared(self, people: set[str]) -> None:
        """``people`` now share a case (one was just added): those online who did not know
        of each other yet learn it."""
        online = sorted(people & self.connections.keys())
        for a in online:
            for b in online:
                if a != b and b not in self.known[a]:
                    self.known[a].add(b)
                    self._tell(a, presence_frame(b, True))

    def absent(self, connection: C) -> None:
        """A connection gone: when it was its person's last here, those told it was online
        are told it is not."""
        group = self.connections.get(connection.address)
        if group is None or connection not in group:
            return
        group.discard(connection)
        if group:
            return
        del self.connections[connection.address]
        for peer in self.known.pop(connection.address, set()):
            if peer in self.known:
                self.known[peer].discard(connection.address)
                self._tell(peer, presence_frame(connection.address, False))

    def _tell(self, address: str, frame: str) -> None:
        for connection in self.connections.get(address, ()):
            connection.push(frame)
