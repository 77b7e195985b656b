"""The workstation's sender-key group for one case: the core's, plus what a desktop needs.

:class:`~caducee.instant.sender_keys.SenderKeyGroup` gives the chains, the ratchet and the
HPKE sealing. A desktop client also needs three things the core does not offer yet:

- **a fresh generation per session.** The core starts every group at generation 0; a client
  that restarts and starts again at 0 would reuse a (generation, counter) its receivers
  already hold, and they would refuse the new key as stale. Like the browser (``cases.js``,
  which starts at ``Date.now()``), each new chain starts above every generation this device
  used before in the case (:meth:`CaseCipher.new_generation` ``at_least``);
- **keys sealed to itself.** Each new chain is also sealed to this very device
  (``recipient_device_id`` = its own id), so that after a restart, replaying the case from
  sequence 1, the device reads its own earlier messages (:meth:`CaseCipher.seal_to_self`,
  and :meth:`CaseCipher.receive_key` taking such a key in). The browser does the same, with
  the same signed distribution (``app/own_keys.js``);
- **the scheduled rotation's clock**: how many messages the current chain encrypted and when
  it started (:meth:`CaseCipher.rotation_due`).

These reach into the group's private state (``_own``, ``_chains``, ``_seal_to``) in this
one subclass; the report of this work proposes the same as options of the core
(``SenderKeyGroup(..., own_chain=...)`` as ``sender_keys.js`` has, ``seal_to_self()``, and
``receive_key`` accepting a key sealed by and to this device), after which this module
shrinks to the rotation clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from caducee.instant import _ratchet, _wire
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.errors import InstantCryptoError, InstantSignatureInvalid, NotAMember
from caducee.instant.group_cipher import KeyDistribution
from caducee.instant.sender_keys import (
    GENERATIONS_KEPT,
    MESSAGE_MAGIC,
    SenderKeyGroup,
    _OwnChain,
    _ReceiverChain,
    _split_signed,
    parse_distribution_header,
    parse_message_header,
)

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
        raw_header = _split_signed(ciphertext, "ciphertext")[0]
        if raw_header.startswith(MESSAGE_MAGIC):
            header = parse_message_header(raw_header)
            return header.sender_device_id, header.generation
        key = parse_distribution_header(raw_header)
        return key.sender_device_id, key.generation
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
        self.highest_own_key = -1  # the highest generation of a key this device sealed itself

    @property
    def device_id(self) -> str:
        return self._me.device_id

    @property
    def encrypted(self) -> int:
        """How many messages the current chain encrypted."""
        return self._own.counter

    def rotation_due(self) -> bool:
        """The current chain reached its message count or its age (the scheduled rotation)."""
        if not self.started:
            return True
        age = self.limits.clock() - self.started_at
        return self._own.counter >= self.limits.messages or age >= self.limits.seconds

    def new_generation(self, drop: Iterable[str], *, at_least: int) -> list[KeyDistribution]:
        """Forget ``drop``, start a new random chain at a generation above the current one, above
        every key this device sealed to itself before, and at least ``at_least``; returns it
        sealed to this device first, then to every remaining member device (the core's
        :meth:`remove_members`, which rotates to generation + 1)."""
        target = max(at_least, self._own.generation + 1, self.highest_own_key + 1)
        # remove_members() starts generation + 1 with a new random key: place it at target.
        self._own = _OwnChain(target - 1, self._own.chain_key, self._own.counter)
        distributions = self.remove_members(drop)
        assert self._own.generation == target
        self.started = True
        self.started_at = self.limits.clock()
        return [self.seal_to_self(), *distributions]

    def seal_to_self(self) -> KeyDistribution:
        """The current chain sealed to this device (read back after a restart)."""
        return self._seal_to(self._me.public())

    def receive_key(self, payload: bytes) -> None:
        """Take in a sender key: another member's (the core), or one this device sealed to
        itself in an earlier session (checked with its own signing key, opened with its own
        HPKE key; a stale one never winds a chain back)."""
        raw_header, sealed, signed, signature = _split_signed(payload, "sender key")
        header = parse_distribution_header(raw_header)
        me = self._me.device_id
        if header.sender_device_id != me:
            super().receive_key(payload)
            return
        if header.case_id != self.case_id or header.recipient_device_id != me:
            raise NotAMember("this sender key is for another case or another device")
        if not self._me.public().verify(signature, signed):
            raise InstantSignatureInvalid("the sender key is not signed by this device")
        secret = _wire.Reader(self._me.open(sealed, raw_header), "sender key")
        chain_key = secret.field(exact=_ratchet.CHAIN_KEY_SIZE)
        counter = secret.integer()
        secret.end()
        self.highest_own_key = max(self.highest_own_key, header.generation)
        chains = self._chains.setdefault(me, {})
        known = chains.get(header.generation)
        if known is not None and known.next_counter >= counter:
            return
        chains[header.generation] = _ReceiverChain(
            header.generation, chain_key, counter, forgotten_below=counter
        )
        for old in sorted(chains)[:-GENERATIONS_KEPT]:
            del chains[old]


def clock_generation() -> int:
    """The wall clock in milliseconds: where the browser starts its chains (``cases.js``), and
    a floor for ours, so that a device which lost track of its earlier generations (a case
    not replayed yet) still starts above them."""
    return int(time.time() * 1000)
