"""The ``GroupCipher`` interface: what a case's encryption must offer, whatever is behind it.

Sender keys (:mod:`.sender_keys`) implement it today (mypy checks that they do); MLS
(RFC 9420) can replace them once a maintained implementation exists for Python and the
browser. What the clients call beyond this interface is sender keys' own and would change
with MLS: sealing a chain to the device itself (``seal_to_self``: own messages readable
after a restart), starting a new generation on a schedule, and rotating above a given
generation (``remove_members(at_least=)``); MLS has its own answers (epochs, commits).
Everything passed in and out is bytes ready for the server, which stores them without being
able to read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from caducee.instant.device_keys import DevicePublicKeys


@dataclass(frozen=True)
class DecryptedMessage:
    """A message that decrypted and whose sender signature checked."""

    case_id: str
    sender_device_id: str
    sender_address: str
    generation: int
    counter: int
    plaintext: bytes


@dataclass(frozen=True)
class KeyDistribution:
    """Key material for one recipient device, sealed to it; the server routes it by device id."""

    recipient_device_id: str
    payload: bytes


class GroupCipher(Protocol):
    """One device's view of one case's encryption."""

    case_id: str

    def member_device_ids(self) -> frozenset[str]: ...

    def add_members(self, devices: Iterable[DevicePublicKeys]) -> list[KeyDistribution]:
        """Let verified devices read what this device sends in its current generation: from
        that generation's start (the case's recent history), and from now on."""
        ...

    def remove_members(self, device_ids: Iterable[str]) -> list[KeyDistribution]:
        """Drop devices and rotate, so that they cannot read anything sent afterwards."""
        ...

    def receive_key(self, payload: bytes) -> None:
        """Take in key material another member sealed to this device."""
        ...

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, message: bytes) -> DecryptedMessage: ...
