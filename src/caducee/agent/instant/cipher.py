"""The workstation's sender-key group for one case: the core's, with a rotation clock.

:class:`~caducee.instant.sender_keys.SenderKeyGroup` gives the chains, the ratchet, the HPKE
sealing, a chain sealed to this device itself (read back after a restart, as the browser's
``sealToSelf`` in ``sender_keys.js``) and new generations above those of earlier sessions.
What a desktop adds is the scheduled rotation's clock: how many messages the current chain
encrypted and when it started (:meth:`CaseCipher.rotation_due`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from caducee.instant.device_keys import DeviceKeys
from caducee.instant.errors import InstantCryptoError
from caducee.instant.group_cipher import KeyDistribution
from caducee.instant.sender_keys import SenderKeyGroup, read_header

__all__ = [
    "ROTATE_AFTER_MESSAGES",
    "ROTATE_AFTER_SECONDS",
    "CaseCipher",
    "RotationLimits",
    "clock_generation",
    "generation_of",
]

# The scheduled rotation: a chain encrypts at most this many messages, and lives at most this
# long, before the next message starts a new generation sealed afresh to every member device.
# Rotating bounds what one leaked chain key opens (500 messages, one day) without making
# every message pay for sealing to each device.
ROTATE_AFTER_MESSAGES = 500
ROTATE_AFTER_SECONDS = 24 * 3600.0


class RotationLimits:
    """When the current chain is due for its scheduled rotation (tests inject small ones)."""

    def __init__(
        self,
        messages: int = ROTATE_AFTER_MESSAGES,
        seconds: float = ROTATE_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if messages < 1 or seconds <= 0:
            raise ValueError("rotation limits must be positive")
        self.messages = messages
        self.seconds = seconds
        self.clock = clock


def generation_of(ciphertext: bytes) -> tuple[str, int] | None:
    """(sender device, generation) read from a message's or a key's header, or None."""
    try:
        header = read_header(ciphertext)
        return header.sender_device_id, header.generation
    except InstantCryptoError:  # outside bytes: no generation to learn from them
        return None


class CaseCipher(SenderKeyGroup):
    """This device's group state for one case, started at a fresh generation on first use."""

    def __init__(
        self,
        case_id: str,
        me: DeviceKeys,
        *,
        limits: RotationLimits | None = None,
    ) -> None:
        super().__init__(case_id, me)
        self.limits = limits or RotationLimits()
        self.started = False  # no chain of this session was sealed to anyone yet
        self.started_at = 0.0

    def rotation_due(self) -> bool:
        """The current chain reached its message count or its age (the scheduled rotation)."""
        if not self.started:
            return True
        age = self.limits.clock() - self.started_at
        return self.encrypted >= self.limits.messages or age >= self.limits.seconds

    def new_generation(self, drop: Iterable[str], *, at_least: int) -> list[KeyDistribution]:
        """Forget ``drop`` and start a new random chain above every generation this device
        used (and at least ``at_least``); returns it sealed to this device first, then to
        every remaining member device."""
        distributions = self.remove_members(drop, at_least=at_least)
        self.started = True
        self.started_at = self.limits.clock()
        return [self.seal_to_self(), *distributions]


def clock_generation() -> int:
    """The wall clock in milliseconds: where the browser starts its chains (``cases.js``), and
    a floor for ours, so that a device which lost track of its earlier generations (a case
    not replayed yet) still starts above them."""
    return int(time.time() * 1000)
