"""The agent's watch over the evidence log: a log that only grows passes; a rewritten,
forked, shrunk or re-signed one raises an alarm that stays visible.

The server here is an in-memory stand-in (httpx.MockTransport serving checkpoints and
proofs made by the pure ledger code), so the test can make the log lie on purpose; the
real endpoints are exercised by the end-to-end tests, whose agents check the log at sync.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.agent.client import ServerClient
from caducee.agent.ledger_watch import (
    ALARM_FILE,
    CHECKPOINT_FILE,
    LedgerAlarm,
    LedgerWatch,
    read_alarm,
)
from caducee.ledger import Checkpoint, InMemoryTree, NoteVerifierKey, sign_checkpoint
from caducee.ledger.checkpoint import format_verifier_key
from caducee.ledger.merkle import consistency_proof

ORIGIN = "caducee.test/caducee-log"


@dataclass
class FakeLog:
    """A log the test controls: it can grow honestly, or be swapped for another history."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    tree: InMemoryTree = field(default_factory=InMemoryTree)
    shown_size: int | None = None  # None: the whole tree

    def grow(self, count: int, tag: str = "record") -> None:
        for number in range(count):
            self.tree.append(f"{tag}-{self.tree.size}-{number}".encode())

    def note(self) -> str:
        size = self.tree.size if self.shown_size is None else self.shown_size
        checkpoint = Checkpoint(ORIGIN, size, self.tree.root(size))
        return sign_checkpoint(checkpoint, self.key, ORIGIN)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/ledger/key":
            verifier = NoteVerifierKey.from_public_key(ORIGIN, self.key.public_key())
            return httpx.Response(200, text=format_verifier_key(verifier))
        if request.url.path == "/api/v1/ledger/checkpoint":
            return httpx.Response(200, text=self.note())
        if request.url.path == "/api/v1/ledger/consistency":
            first = int(request.url.params["first"])
            second = int(request.url.params["second"])
            proof = consistency_proof(self.tree, first, second)
            encoded = [base64.b64encode(h).decode() for h in proof]
            return httpx.Response(200, json={"first": first, "second": second, "proof": encoded})
        return httpx.Response(404)


def _watch(folder: Path, log: FakeLog) -> LedgerWatch:
    client = ServerClient("http://server.test", transport=httpx.MockTransport(log.handler))
    return LedgerWatch(folder, client)


def test_a_log_that_only_grows_is_accepted_each_time(tmp_path: Path) -> None:
    log = FakeLog()
    log.grow(5)
    watch = _watch(tmp_path, log)
    assert watch.check().size == 5
    for added in (1, 7, 64):
        log.grow(added)
        assert watch.check().size == log.tree.size
    assert read_alarm(tmp_path) is None


def test_a_rewritten_history_raises_an_alarm_and_keeps_the_old_checkpoint(
    tmp_path: Path,
) -> None:
    honest = FakeLog()
    honest.grow(10)
    watch = _watch(tmp_path, honest)
    watch.check()
    kept = (tmp_path / CHECKPOINT_FILE).read_text()
    # The operator rewrites record 3 and re-signs, with the same key, a bigger tree.
    forged = FakeLog(key=honest.key)
    forged.grow(3, "record")
    forged.tree.append(b"a record that was changed")
    forged.grow(12, "later")
    with pytest.raises(LedgerAlarm):
        _watch(tmp_path, forged).check()
    assert (tmp_path / CHECKPOINT_FILE).read_text() == kept
    alarm = read_alarm(tmp_path)
    assert (alarm is not None and "ledger-consistency" in alarm) or "ledger-" in (alarm or "")


@pytest.mark.parametrize("lie", ["same-size-other-root", "shrunk", "other-key"])
def test_every_kind_of_lie_is_an_alarm(tmp_path: Path, lie: str) -> None:
    honest = FakeLog()
    honest.grow(20)
    _watch(tmp_path, honest).check()
    if lie == "same-size-other-root":
        liar = FakeLog(key=honest.key)
        liar.grow(20, "other")
    elif lie == "shrunk":
        liar = FakeLog(key=honest.key, tree=honest.tree, shown_size=12)
    else:
        liar = FakeLog()  # another key altogether
        liar.grow(25)
    with pytest.raises(LedgerAlarm):
        _watch(tmp_path, liar).check()
    assert (tmp_path / ALARM_FILE).exists()


def test_the_key_pinned_first_is_the_one_that_counts(tmp_path: Path) -> None:
    first = FakeLog()
    first.grow(2)
    _watch(tmp_path, first).check()
    impostor = FakeLog()  # a server that now presents another key from the start
    impostor.grow(2)
    with pytest.raises(LedgerAlarm):
        _watch(tmp_path, impostor).check()


def test_the_receiver_keeps_receiving_when_the_log_is_down_or_lies(tmp_path: Path) -> None:
    from caducee.agent.incoming import Receiver

    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route")

    client = ServerClient(
        "http://server.test", transport=httpx.MockTransport(down), retries=0, backoff=0
    )
    receiver = Receiver.__new__(Receiver)  # only the ledger part is exercised here
    receiver.ledger = LedgerWatch(tmp_path, client)
    receiver.check_ledger()  # no exception: network trouble waits for the next round
    assert read_alarm(tmp_path) is None
