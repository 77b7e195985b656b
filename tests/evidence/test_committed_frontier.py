"""``CommittedFrontier``: only what a writer saw commit is remembered, for one size only."""

from __future__ import annotations

from caducee.evidence.tree import CommittedFrontier

NODES = {(1, 0): b"\x01" * 32, (0, 2): b"\x02" * 32}


def test_nothing_is_known_before_a_commit() -> None:
    remembered = CommittedFrontier()
    assert remembered.known(3) is None
    remembered.stage(3, NODES)
    assert remembered.known(3) is None  # staged in a transaction that may still fail
    remembered.commit()
    assert remembered.known(3) == NODES and remembered.hits == 1


def test_another_size_is_not_served() -> None:
    remembered = CommittedFrontier()
    remembered.stage(3, NODES)
    remembered.commit()
    assert remembered.known(4) is None and remembered.known(2) is None
    assert remembered.hits == 0


def test_a_failed_transaction_keeps_the_last_committed_frontier() -> None:
    remembered = CommittedFrontier()
    remembered.stage(3, NODES)
    remembered.commit()
    remembered.stage(5, {(2, 0): b"\x03" * 32})
    remembered.forget()
    remembered.commit()  # a later commit without a new stage changes nothing
    assert remembered.known(5) is None and remembered.known(3) == NODES
