"""The evidence signing child process: the same signatures as in-process, and a fallback to
signing here whenever the child is gone, late or wrong (evidence never waits on it)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.evidence import EvidenceLog, LogIdentity, check_log
from caducee.evidence.signing_process import SigningProcess
from caducee.store import Database
from tests.evidence.conftest import fill
from tests.evidence.samples import identity_key


@pytest.fixture(scope="module")
def shared() -> Iterator[SigningProcess]:
    """One child for the property test's many examples."""
    process = SigningProcess(identity_key())
    try:
        yield process
    finally:
        process.close()


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=40))
def test_the_child_signs_exactly_as_this_process_does(
    shared: SigningProcess, messages: list[bytes]
) -> None:
    """Ed25519 is deterministic: byte-equal signatures, in order, for any batch (an empty
    message, or one alone, included); small batches never start the child."""
    key = identity_key()
    assert shared.sign_many(messages) == [key.sign(m) for m in messages]
    assert not shared.in_process
    if len(messages) >= shared.smallest_batch:
        assert shared.child_pid is not None


def test_small_batches_are_signed_here_without_a_child() -> None:
    process = SigningProcess(identity_key(), smallest_batch=4)
    try:
        assert len(process.sign_many([b"a", b"b", b"c"])) == 3
        assert process.child_pid is None
    finally:
        process.close()


def test_a_killed_child_is_replaced_by_signing_here(caplog: pytest.LogCaptureFixture) -> None:
    key = identity_key()
    process = SigningProcess(key)
    try:
        first = [b"one", b"two", b"three", b"four"]
        assert process.sign_many(first) == [key.sign(m) for m in first]
        pid = process.child_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        messages = [f"after {i}".encode() for i in range(10)]
        with caplog.at_level(logging.WARNING, logger="caducee.evidence.signing_process"):
            assert process.sign_many(messages) == [key.sign(m) for m in messages]
        assert process.in_process and process.child_pid is None
        assert "signing in the server process" in caplog.text
        assert process.sign_many(messages) == [key.sign(m) for m in messages]
    finally:
        process.close()


def _stand_in_child(tmp_path: Path, body: str) -> list[str]:
    """A broken child, written for the test (the real one cannot be made to misbehave)."""
    script = tmp_path / "child.py"
    script.write_text(
        "import struct, sys, time\n"
        "src, out = sys.stdin.buffer, sys.stdout.buffer\n"
        "src.read(struct.unpack('>I', src.read(4))[0])  # the key\n"
        "count = struct.unpack('>I', src.read(4))[0]\n"
        "for _ in range(count):\n"
        "    src.read(struct.unpack('>I', src.read(4))[0])\n" + body
    )
    return [sys.executable, str(script)]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("out.write(bytes(64) * count); out.flush()\n", "does not verify"),
        ("out.write(b'x' * 10); out.flush()\n", "ended"),
        ("time.sleep(30)\n", "in time"),
    ],
    ids=["wrong signatures", "short answer", "no answer"],
)
def test_a_child_out_of_step_is_caught_and_the_batch_signed_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: str, why: str
) -> None:
    key = identity_key()
    process = SigningProcess(key, command=_stand_in_child(tmp_path, body), timeout=1.0)
    messages = [f"record {i}".encode() for i in range(8)]
    try:
        with caplog.at_level(logging.WARNING, logger="caducee.evidence.signing_process"):
            assert process.sign_many(messages) == [key.sign(m) for m in messages]
        assert process.in_process
        assert why in caplog.text
    finally:
        process.close()


def test_a_child_that_stopped_reading_does_not_block_a_large_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stopped child reads nothing: a request larger than the pipe's 64 KiB buffer would
    block its write for good. The write has the answer's deadline, then the batch is signed
    here."""
    key = identity_key()
    process = SigningProcess(key, timeout=0.5)
    try:
        process.sign_many([b"warm"] * 4)
        pid = process.child_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        messages = [f"{i:0300d}".encode() for i in range(1000)]  # about 300 KB
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="caducee.evidence.signing_process"):
            assert process.sign_many(messages) == [key.sign(m) for m in messages]
        assert time.monotonic() - started < 10  # the deadline (0.5 s + 1 s), then signing here
        assert process.in_process and process.child_pid is None
        assert "did not read its request in time" in caplog.text
        assert not Path(f"/proc/{pid}").exists()  # a stopped child is killed and reaped too
    finally:
        process.close()


def test_the_key_goes_through_the_pipe_not_the_command_line() -> None:
    key = identity_key()
    process = SigningProcess(key)
    try:
        process.sign_many([b"a"] * 8)
        pid = process.child_pid
        assert pid is not None
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        secret = key.private_bytes_raw()
        for text in (command_line, environment):
            assert secret not in text and secret.hex().encode() not in text
    finally:
        process.close()


def test_close_ends_the_child_and_later_batches_are_signed_here() -> None:
    key = identity_key()
    process = SigningProcess(key)
    process.sign_many([b"x"] * 8)
    pid = process.child_pid
    assert pid is not None
    process.close()
    assert process.child_pid is None
    assert not Path(f"/proc/{pid}").exists()  # ended, and reaped
    assert process.sign_many([b"y"] * 8) == [key.sign(b"y")] * 8


async def test_a_log_signed_by_the_child_checks_whole(
    database: Database, identity: LogIdentity
) -> None:
    """Records signed in the child are stored, proved and checked like any others."""
    process = SigningProcess(identity.private_key)
    try:
        log = EvidenceLog(database, identity, signer=process.sign_many)
        await fill(log, 37)
        assert process.child_pid is not None  # the batch went to the child
        report = await check_log(database, identity.verifier_key)  # raises on a bad signature
        assert report.tree_size == 37
    finally:
        process.close()
