"""How fast this host's CPU is today, printed beside a bench's figures.

The same 2-core machine kind has run on hosts about twice apart in speed per core (a
pure-Python loop, an Ed25519 signature). The ratios against a peer measured in the same run
stay comparable; absolute rates do not. These two figures say which kind of host a run had.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ed25519

__all__ = ["host_speed"]


def _best_of(runs: int, work: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def host_speed() -> str:
    """One line: a 1 M-iteration Python loop (ms) and an Ed25519 signature (µs), best of 5."""

    def loop() -> None:
        total = 0
        for number in range(1_000_000):
            total += number

    key = ed25519.Ed25519PrivateKey.generate()

    def sign() -> None:
        for _ in range(200):
            key.sign(b"calibration" * 50)

    python_ms = _best_of(5, loop) * 1e3
    sign_us = _best_of(5, sign) / 200 * 1e6
    return (
        f"host: Python loop of 1 M {python_ms:.0f} ms, Ed25519 signature {sign_us:.0f} µs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    print(host_speed())
