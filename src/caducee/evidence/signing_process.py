"""Ed25519 signatures in a child process, so that they do not hold the server's GIL.

The relay signs two evidence records per message. A signature by ``cryptography`` holds
the GIL (about 50 µs each on this project's two-core test machine), and the server, one
process, is bound by its GIL near a thousand messages a second. :class:`SigningProcess` has
a child process (:mod:`caducee.evidence.signing_child`) sign on the other core instead:
under ``bench/bench_relay.py``'s load the server's CPU per message fell by 10-25 %.

Ed25519 signatures are deterministic (RFC 8032 §5.1.6): the child's are the very bytes this
process would make. The last of each answer is checked with the public key, so a child out
of step is caught. On any failure (the child gone, late, or wrong) it is stopped,
a warning logged, and this process signs from then on: evidence never waits on the child.
"""

from __future__ import annotations

import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

__all__ = ["CHILD_SCRIPT", "SigningProcess"]

log = logging.getLogger(__name__)

CHILD_SCRIPT = Path(__file__).with_name("signing_child.py")
SIGNATURE_SIZE = 64
_LENGTH = struct.Struct(">I")


class SigningFailed(Exception):
    """The child did not answer, or answered wrong (the caller signs in-process)."""


class SigningProcess:
    """Signs batches of messages with ``key`` in a child process, started at first use.

    Batches of fewer than ``smallest_batch`` messages are signed here: a round trip to the
    child costs more than a signature or two. ``command`` replaces the child (tests give a
    broken one); ``timeout`` bounds the wait for an answer, plus a millisecond a message.
    """

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        smallest_batch: int = 4,
        command: Sequence[str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.key = key
        self.smallest_batch = smallest_batch
        self.command = list(command) if command else [sys.executable, "-I", str(CHILD_SCRIPT)]
        self.timeout = timeout
        self.in_process = False  # set for good after a failure, or by close()
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one request at a time on the pipes

    @property
    def child_pid(self) -> int | None:
        """The running child's process id, if one runs (tests, diagnostics)."""
        return self._child.pid if self._child is not None else None

    def sign_many(self, messages: Sequence[bytes]) -> list[bytes]:
        """One signature per message, in order."""
        if len(messages) >= self.smallest_batch and not self.in_process:
            with self._lock:
                if not self.in_process:
                    try:
                        return self._ask_child(messages)
                    except (OSError, ValueError, SigningFailed) as exc:
                        self._give_up(exc)
        return [self.key.sign(message) for message in messages]

    def close(self) -> None:
        """End the child (at the end of its input it exits); later batches are signed here."""
        with self._lock:
            self.in_process = True
            child, self._child = self._child, None
        if child is None:
            return
        try:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    def _ask_child(self, messages: Sequence[bytes]) -> list[bytes]:
        child = self._child or self._start()
        assert child.stdin is not None and child.stdout is not None
        frames = [_LENGTH.pack(len(messages))]
        for message in messages:
            frames += (_LENGTH.pack(len(message)), message)
        deadline = time.monotonic() + self.timeout + len(messages) / 1000
        # The request, too, has the deadline: a child that stopped reading (stopped, or
        # stuck) would otherwise block this write for good once the pipe's 64 KiB are full.
        _write_all(child.stdin.fileno(), b"".join(frames), deadline)
        answer = _read_exactly(child.stdout.fileno(), SIGNATURE_SIZE * len(messages), deadline)
        signatures = [answer[i : i + SIGNATURE_SIZE] for i in range(0, len(answer), SIGNATURE_SIZE)]
        try:  # the last: a child out of step (a message skipped or answered twice) fails it
            self.key.public_key().verify(signatures[-1], messages[-1])
        except InvalidSignature:
            raise SigningFailed("a signature from the child does not verify") from None
        return signatures

    def _start(self) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C at the server's terminal is the server's to handle
        # (it may still sign while it stops); the child ends when its input does.
        child = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,  # requests are written whole, by _write_all, with a deadline
        )
        self._child = child
        assert child.stdin is not None
        os.set_blocking(child.stdin.fileno(), False)
        der = self.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        frame = _LENGTH.pack(len(der)) + der  # through the pipe: never argv or env
        _write_all(child.stdin.fileno(), frame, time.monotonic() + self.timeout)
        log.info("evidence signing process %d started", child.pid)
        return child

    def _give_up(self, reason: BaseException) -> None:
        """Stop the child and sign here from now on (called with the lock held)."""
        self.in_process = True
        log.warning(
            "evidence signing process failed (%s: %s): signing in the server process",
            type(reason).__name__,
            reason,
        )
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    """All of ``data`` to the non-blocking ``fd`` before ``deadline``, or ``SigningFailed``."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([], [fd], [], left)[1]:
            raise SigningFailed("the child did not read its request in time")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # writable by select, full again by the write: wait more
            continue


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes from ``fd`` before ``deadline``, or ``SigningFailed``."""
    chunks: list[bytes] = []
    missing = size
    while missing:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise SigningFailed("the child did not answer in time")
        chunk = os.read(fd, missing)
        if not chunk:
            raise SigningFailed("the child ended")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
