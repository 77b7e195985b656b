"""Sender keys: the :class:`GroupCipher` of a case until MLS replaces it.

Each member device owns a chain (generation, chain key, counter). Every message key comes
from the hash ratchet in :mod:`._ratchet`; used keys are forgotten at once (forward
secrecy). A message is AES-256-GCM with the header (case id, sender device, generation,
counter) as associated data, then signed with the sender device's Ed25519 key. A chain is
handed to each member device sealed with HPKE, the ``info`` binding the case, the sender, the
recipient device and the generation. Removing a member rotates the chain (new generation, new
random key, sealed to the remaining devices only), so the removed device cannot read what
follows. Receivers keep at most ``max_skip`` keys of skipped counters, so a late message still
decrypts within that window while a replayed one is refused.

History for newcomers: a chain is always sealed as it stood at the start of its generation
(chain key and counter 0), not at its current counter, so a device added to the case reads
everything its sender said in the current generation (the case's recent history: chains
rotate on every removal and on a schedule, which bounds what a newcomer, or a leaked device,
reads). The price: the sender keeps its generation's first chain key until it rotates. The
wire is unchanged (the sealed secret always carried a chain key and its counter). A receiver
that already holds a generation and is given it from an earlier counter keeps what it has and
adds the message keys of the earlier counters as skipped keys (within ``max_skip``): the
messages it already read stay refused as replays.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caducee.instant import _hpke, _ratchet, _wire
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys
from caducee.instant.errors import (
    InstantDecryptionFailed,
    InstantSignatureInvalid,
    MalformedInstantData,
    MessageOutOfWindow,
    NotAMember,
    ReplayedMessage,
    UnknownSenderKey,
    UnsupportedSuite,
)
from caducee.instant.group_cipher import DecryptedMessage, KeyDistribution

if TYPE_CHECKING:
    from caducee.instant.group_cipher import GroupCipher

MESSAGE_MAGIC = b"caducee-miss-v1 message"
DISTRIBUTION_MAGIC = b"caducee-miss-v1 sender-key"
DEFAULT_MAX_SKIP = 1000
GENERATIONS_KEPT = 2


@dataclass
class _OwnChain:
    generation: int
    chain_key: bytes
    counter: int = 0
    start_key: bytes = b""  # the chain key at ``start_counter``: what is sealed
    start_counter: int = 0

    def __post_init__(self) -> None:
        if not self.start_key:
            self.start_key, self.start_counter = self.chain_key, self.counter


@dataclass
class _ReceiverChain:
    generation: int
    chain_key: bytes
    next_counter: int
    skipped: OrderedDict[int, _ratchet.MessageKey] = field(default_factory=OrderedDict)
    forgotten_below: int = 0
    starts_at: int = 0  # the first counter this device was given the chain at


@dataclass(frozen=True)
class MessageHeader:
    case_id: str
    sender_device_id: str
    generation: int
    counter: int

    def encode(self) -> bytes:
        return MESSAGE_MAGIC + b"".join(
            [
                _wire.text(self.case_id),
                _wire.text(self.sender_device_id),
                _wire.integer(self.generation),
                _wire.integer(self.counter),
            ]
        )


@dataclass(frozen=True)
class DistributionHeader:
    case_id: str
    sender_device_id: str
    recipient_device_id: str
    generation: int
    kem: _hpke.Kem

    def encode(self) -> bytes:
        return DISTRIBUTION_MAGIC + b"".join(
            [
                _wire.text(self.case_id),
                _wire.text(self.sender_device_id),
                _wire.text(self.recipient_device_id),
                _wire.integer(self.generation),
                _wire.integer(self.kem.value),
            ]
        )


def _split_signed(data: bytes, what: str) -> tuple[bytes, bytes, bytes, bytes]:
    """(header, payload, signed bytes, signature) of ``field(header) field(payload) field(sig)``."""
    reader = _wire.Reader(data, what)
    header = reader.field()
    payload = reader.field()
    signed = reader.consumed()
    signature = reader.field(exact=64)
    reader.end()
    return header, payload, signed, signature


def parse_message_header(raw: bytes) -> MessageHeader:
    if not raw.startswith(MESSAGE_MAGIC):
        raise MalformedInstantData("message: not a Caducée MISS message")
    reader = _wire.Reader(raw[len(MESSAGE_MAGIC) :], "message header")
    header = MessageHeader(reader.text(), reader.text(), reader.integer(), reader.integer())
    reader.end()
    return header


def parse_distribution_header(raw: bytes) -> DistributionHeader:
    if not raw.startswith(DISTRIBUTION_MAGIC):
        raise MalformedInstantData("sender key: not a Caducée MISS sender key")
    reader = _wire.Reader(raw[len(DISTRIBUTION_MAGIC) :], "sender key header")
    header = DistributionHeader(
        reader.text(),
        reader.text(),
        reader.text(),
        reader.integer(),
        _hpke.Kem.from_id(reader.integer()),
    )
    reader.end()
    return header


def read_header(data: bytes) -> MessageHeader | DistributionHeader:
    """The clear header of a message or a sender key, its signature not checked: what a
    client may learn before decrypting (which device, which generation)."""
    raw = _split_signed(data, "ciphertext")[0]
    if raw.startswith(MESSAGE_MAGIC):
        return parse_message_header(raw)
    return parse_distribution_header(raw)


class SenderKeyGroup:
    """One device's sender-key state for one case. Not thread-safe: one owner at a time."""

    def __init__(
        self,
        case_id: str,
        me: DeviceKeys,
        members: Iterable[DevicePublicKeys] = (),
        *,
        max_skip: int = DEFAULT_MAX_SKIP,
        generation: int = 0,
    ) -> None:
        """``members`` must already be verified (:func:`.device_keys.verify_device_statement`).

        A client that restarts starts its chain above every generation it used before in the
        case (the browser uses the clock in milliseconds): receivers refuse a key that would
        reuse a (generation, counter) they hold.
        """
        self.case_id = case_id
        self._me = me
        self._members: dict[str, DevicePublicKeys] = {me.device_id: me.public()}
        self._members.update((d.device_id, d) for d in members)
        self._max_skip = max_skip
        self._own = _OwnChain(generation, os.urandom(_ratchet.CHAIN_KEY_SIZE))
        self._chains: dict[str, dict[int, _ReceiverChain]] = {}
        self._highest_own_key = -1

    @property
    def device_id(self) -> str:
        return self._me.device_id

    @property
    def generation(self) -> int:
        return self._own.generation

    @property
    def encrypted(self) -> int:
        """How many messages the current chain encrypted (for a scheduled rotation)."""
        return self._own.counter

    @property
    def highest_own_key(self) -> int:
        """The highest generation of a key this device sealed to itself and took back, or -1."""
        return self._highest_own_key

    def member_device_ids(self) -> frozenset[str]:
        return frozenset(self._members)

    # -- membership -------------------------------------------------------------------------

    def _seal_to(self, device: DevicePublicKeys) -> KeyDistribution:
        header = DistributionHeader(
            self.case_id, self._me.device_id, device.device_id, self._own.generation, device.kem
        ).encode()
        # The generation's start, not the current counter: a new device reads its history.
        secret = _wire.field(self._own.start_key) + _wire.integer(self._own.start_counter)
        sealed = _hpke.seal(device.kem, device.hpke_public, secret, info=header)
        signed = _wire.fields(header, sealed)
        return KeyDistribution(device.device_id, signed + _wire.field(self._me.sign(signed)))

    def _distribute(self, device_ids: Iterable[str]) -> list[KeyDistribution]:
        return [
            self._seal_to(self._members[d])
            for d in sorted(set(device_ids))
            if d != self._me.device_id
        ]

    def add_members(self, devices: Iterable[DevicePublicKeys]) -> list[KeyDistribution]:
        added = list(devices)
        self._members.update((d.device_id, d) for d in added)
        return self._distribute(d.device_id for d in added)

    def remove_members(
        self, device_ids: Iterable[str], *, at_least: int = 0
    ) -> list[KeyDistribution]:
        """Forget ``device_ids`` and start a new random chain, at the next generation or at
        ``at_least`` (above the generations of an earlier session), sealed to who remains."""
        for device_id in device_ids:
            if device_id == self._me.device_id:
                raise NotAMember("a device cannot remove itself from its own group state")
            self._members.pop(device_id, None)
            self._chains.pop(device_id, None)
        generation = max(self._own.generation + 1, self._highest_own_key + 1, at_least)
        self._own = _OwnChain(generation, os.urandom(_ratchet.CHAIN_KEY_SIZE))
        return self._distribute(self._members)

    def seal_to_self(self) -> KeyDistribution:
        """The current chain sealed to this very device: posted like any key, it lets the
        device read its own messages again after a restart (:meth:`receive_key` takes it)."""
        return self._seal_to(self._me.public())

    def distributions(self) -> list[KeyDistribution]:
        """Our current chain sealed to every other member (e.g. after a scheduled rotation)."""
        return self._distribute(self._members)

    def rotate(self) -> list[KeyDistribution]:
        """A new generation for the same members (the scheduled rotation)."""
        return self.remove_members(())

    def receive_key(self, payload: bytes) -> None:
        raw_header, sealed, signed, signature = _split_signed(payload, "sender key")
        header = parse_distribution_header(raw_header)
        if header.case_id != self.case_id or header.recipient_device_id != self._me.device_id:
            raise NotAMember("this sender key is for another case or another device")
        # This device is a member of its own group: it takes back what it sealed to itself.
        sender = self._members.get(header.sender_device_id)
        if sender is None:
            raise NotAMember("this sender key comes from a device that is not a member of the case")
        if not sender.verify(signature, signed):
            raise InstantSignatureInvalid("the sender key is not signed by its sender device")
        if header.kem is not self._me.hpke_key.kem:
            raise UnsupportedSuite(
                "the sender key is sealed with another HPKE suite than this device's"
            )
        secret = _wire.Reader(self._me.open(sealed, raw_header), "sender key")
        chain_key = secret.field(exact=_ratchet.CHAIN_KEY_SIZE)
        counter = secret.integer()
        secret.end()
        if header.sender_device_id == self._me.device_id:
            self._highest_own_key = max(self._highest_own_key, header.generation)
        chains = self._chains.setdefault(header.sender_device_id, {})
        known = chains.get(header.generation)
        if known is not None and counter < known.starts_at:
            self._extend_back(known, chain_key, counter)
            return
        if known is not None and known.next_counter >= counter:
            return  # a replayed or stale distribution never winds a chain back
        chains[header.generation] = _ReceiverChain(
            header.generation, chain_key, counter, forgotten_below=counter, starts_at=counter
        )
        for old in sorted(chains)[:-GENERATIONS_KEPT]:
            del chains[old]

    def _extend_back(self, chain: _ReceiverChain, chain_key: bytes, counter: int) -> None:
        """Take the keys of counters ``[counter, chain.starts_at)`` from a chain given from an
        earlier counter, as skipped keys: what was read stays read (replays stay refused).

        No check that both keys are of one chain: a key of another chain opens nothing."""
        earlier: OrderedDict[int, _ratchet.MessageKey] = OrderedDict()
        for n in range(counter, chain.starts_at):
            if chain.starts_at - n <= self._max_skip:  # older ones would be dropped at once
                earlier[n] = _ratchet.message_key(chain_key, n)
            chain_key = _ratchet.next_chain_key(chain_key)
        chain.skipped = OrderedDict([*earlier.items(), *chain.skipped.items()])
        chain.forgotten_below = min(chain.forgotten_below, min(earlier, default=counter))
        chain.starts_at = counter
        while len(chain.skipped) > self._max_skip:
            oldest, _ = chain.skipped.popitem(last=False)
            chain.forgotten_below = max(chain.forgotten_below, oldest + 1)

    # -- messages ---------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes) -> bytes:
        own = self._own
        key = _ratchet.message_key(own.chain_key, own.counter)
        header = MessageHeader(
            self.case_id, self._me.device_id, own.generation, own.counter
        ).encode()
        own.chain_key = _ratchet.next_chain_key(own.chain_key)
        own.counter += 1
        ciphertext = AESGCM(key.key).encrypt(key.nonce, plaintext, header)
        signed = _wire.fields(header, ciphertext)
        return signed + _wire.field(self._me.sign(signed))

    def _key_for(
        self, chain: _ReceiverChain, counter: int
    ) -> tuple[_ratchet.MessageKey, list[_ratchet.MessageKey], bytes]:
        """The key for ``counter``, the keys skipped to reach it, and the chain key after it."""
        if counter in chain.skipped:
            return chain.skipped[counter], [], chain.chain_key
        if counter < chain.next_counter:
            if counter < chain.forgotten_below:
                raise MessageOutOfWindow("this message is older than the keys this device keeps")
            raise ReplayedMessage(f"message counter {counter} was already received")
        if counter - chain.next_counter > self._max_skip:
            raise MessageOutOfWindow("this message is too far ahead of the last one received")
        chain_key = chain.chain_key
        skipped = []
        for n in range(chain.next_counter, counter):
            skipped.append(_ratchet.message_key(chain_key, n))
            chain_key = _ratchet.next_chain_key(chain_key)
        return _ratchet.message_key(chain_key, counter), skipped, _ratchet.next_chain_key(chain_key)

    def decrypt(self, message: bytes) -> DecryptedMessage:
        raw_header, ciphertext, signed, signature = _split_signed(message, "message")
        header = parse_message_header(raw_header)
        if header.case_id != self.case_id:
            raise NotAMember("this message belongs to a case this device is not in")
        sender = self._members.get(header.sender_device_id)
        if sender is None:
            raise NotAMember("this message comes from a device that is not a member of the case")
        if not sender.verify(signature, signed):
            raise InstantSignatureInvalid("the message is not signed by its sender device")
        chain = self._chains.get(header.sender_device_id, {}).get(header.generation)
        if chain is None:
            raise UnknownSenderKey("no sender key received for this device and generation")
        key, skipped, next_chain = self._key_for(chain, header.counter)
        try:
            plaintext = AESGCM(key.key).decrypt(key.nonce, ciphertext, raw_header)
        except InvalidTag:
            raise InstantDecryptionFailed("the message does not decrypt") from None
        if header.counter in chain.skipped:
            del chain.skipped[header.counter]
        else:
            for k in skipped:
                chain.skipped[k.counter] = k
            chain.chain_key = next_chain
            chain.next_counter = header.counter + 1
            while len(chain.skipped) > self._max_skip:
                oldest, _ = chain.skipped.popitem(last=False)
                chain.forgotten_below = max(chain.forgotten_below, oldest + 1)
        return DecryptedMessage(
            self.case_id,
            header.sender_device_id,
            sender.address,
            header.generation,
            header.counter,
            plaintext,
        )


if TYPE_CHECKING:

    def _is_a_group_cipher(group: SenderKeyGroup) -> GroupCipher:
        """Never run: mypy proves here that sender keys offer the whole ``GroupCipher``."""
        return group
