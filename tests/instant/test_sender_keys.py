"""Sender-key GroupCipher: round trips, removal rotation, replay, reordering, bad input."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.instant import _ratchet, _wire
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.errors import (
    InstantCryptoError,
    InstantDecryptionFailed,
    InstantSignatureInvalid,
    MessageOutOfWindow,
    NotAMember,
    ReplayedMessage,
    UnknownSenderKey,
)
from caducee.instant.group_cipher import GroupCipher
from caducee.instant.sender_keys import SenderKeyGroup, _split_signed

from .conftest import deliver_all, make_group

CASE = "case-0001"


def test_sender_key_group_is_a_group_cipher() -> None:
    group: GroupCipher = make_group(CASE, ["alice"])["alice"]
    assert group.member_device_ids() == frozenset({"alice-phone"})


def test_three_members_round_trip() -> None:
    g = make_group(CASE, ["alice", "bob", "carol"])
    for sender in g:
        message = g[sender].encrypt(f"bonjour de {sender}".encode())
        assert b"bonjour" not in message
        for reader in g:
            if reader != sender:
                out = g[reader].decrypt(message)
                assert out.plaintext == f"bonjour de {sender}".encode()
                assert out.sender_device_id == f"{sender}-phone"
                assert out.sender_address == f"{sender}@synthetic.caducee.test"
                assert (out.case_id, out.generation, out.counter) == (CASE, 0, 0)


def test_x25519_fallback_device_in_a_hybrid_group() -> None:
    """A device without ML-KEM gets its sender keys sealed with the X25519 suite."""
    g = make_group(CASE, ["alice", "bob"], kems={"bob": Kem.X25519})
    assert g["bob"].decrypt(g["alice"].encrypt(b"ok")).plaintext == b"ok"
    assert g["alice"].decrypt(g["bob"].encrypt(b"ok aussi")).plaintext == b"ok aussi"


def test_removed_member_cannot_read_after_rotation() -> None:
    g = make_group(CASE, ["alice", "bob", "carol"])
    before = g["alice"].encrypt(b"avant")
    assert g["carol"].decrypt(before).plaintext == b"avant"
    # Everyone who stays removes carol and rotates; the new keys go to alice and bob only.
    rotations = {n: g[n].remove_members(["carol-phone"]) for n in ("alice", "bob")}
    assert all(
        d.recipient_device_id != "carol-phone" for batch in rotations.values() for d in batch
    )
    deliver_all({n: g[n] for n in ("alice", "bob")}, rotations)
    after = g["alice"].encrypt(b"apres")
    assert g["bob"].decrypt(after).generation == 1
    with pytest.raises(UnknownSenderKey):
        g["carol"].decrypt(after)
    # Even handed the rotation sealed to bob, carol cannot open it.
    for sealed in rotations["alice"]:
        with pytest.raises(InstantCryptoError):
            g["carol"].receive_key(sealed.payload)
    # And bob refuses what carol still sends.
    with pytest.raises(NotAMember):
        g["bob"].decrypt(g["carol"].encrypt(b"je suis partie"))


def test_new_member_reads_the_current_generation_from_its_start() -> None:
    g = make_group(CASE, ["alice", "bob"])
    old = [g["alice"].encrypt(b"la carte"), g["alice"].encrypt(b"la question")]
    dave = DeviceKeys.generate("dave-phone", "dave@synthetic.caducee.test")
    dave_group = SenderKeyGroup(CASE, dave, [g["alice"]._me.public(), g["bob"]._me.public()])
    for d in g["alice"].add_members([dave.public()]):
        dave_group.receive_key(d.payload)
    new = g["alice"].encrypt(b"bienvenue")
    assert dave_group.decrypt(new).plaintext == b"bienvenue"
    assert [dave_group.decrypt(m).plaintext for m in old] == [b"la carte", b"la question"]
    for m in (*old, new):  # each one once
        with pytest.raises(ReplayedMessage):
            dave_group.decrypt(m)


def test_a_newcomer_after_a_rotation_reads_only_the_new_generation() -> None:
    g = make_group(CASE, ["alice", "bob"])
    before = g["alice"].encrypt(b"generation zero")
    deliver_all(g, {"alice": g["alice"].rotate()})
    after = g["alice"].encrypt(b"generation un")
    dave = DeviceKeys.generate("dave-phone", "dave@synthetic.caducee.test")
    dave_group = SenderKeyGroup(CASE, dave, [g["alice"]._me.public()])
    for d in g["alice"].add_members([dave.public()]):
        dave_group.receive_key(d.payload)
    assert dave_group.decrypt(after).plaintext == b"generation un"
    with pytest.raises(UnknownSenderKey):
        dave_group.decrypt(before)


def test_a_chain_given_again_from_an_earlier_counter_adds_the_earlier_keys_only() -> None:
    """A receiver given the chain at counter 2 (an older client) and then from its start reads
    counters 0 and 1 too, while what it already read stays refused as a replay."""
    g = make_group(CASE, ["alice"])
    alice = g["alice"]
    sent = [alice.encrypt(f"message {n}".encode()) for n in range(4)]
    bob = DeviceKeys.generate("bob-phone", "bob@synthetic.caducee.test")
    bob_group = SenderKeyGroup(CASE, bob, [alice._me.public()])
    alice.add_members([bob.public()])
    start = alice._own.start_key
    # the chain as it stood at counter 2, sealed as an older client sealed it
    chain_key = start
    for _ in range(2):
        chain_key = _ratchet.next_chain_key(chain_key)
    alice._own.start_key, alice._own.start_counter = chain_key, 2
    bob_group.receive_key(alice._seal_to(bob.public()).payload)
    assert bob_group.decrypt(sent[2]).plaintext == b"message 2"
    with pytest.raises(MessageOutOfWindow):
        bob_group.decrypt(sent[0])
    alice._own.start_key, alice._own.start_counter = start, 0
    bob_group.receive_key(alice._seal_to(bob.public()).payload)
    assert [bob_group.decrypt(sent[n]).plaintext for n in (1, 0, 3)] == [
        b"message 1",
        b"message 0",
        b"message 3",
    ]
    for n in range(4):
        with pytest.raises(ReplayedMessage):
            bob_group.decrypt(sent[n])


def test_a_chain_given_from_far_earlier_keeps_only_the_window() -> None:
    g = make_group(CASE, ["alice"])
    alice = g["alice"]
    start = alice._own.start_key
    sent = [alice.encrypt(b"m") for _ in range(6)]
    bob = DeviceKeys.generate("bob-phone", "bob@synthetic.caducee.test")
    bob_group = SenderKeyGroup(CASE, bob, [alice._me.public()], max_skip=2)
    alice.add_members([bob.public()])
    chain_key = start
    for _ in range(5):
        chain_key = _ratchet.next_chain_key(chain_key)
    alice._own.start_key, alice._own.start_counter = chain_key, 5
    bob_group.receive_key(alice._seal_to(bob.public()).payload)
    alice._own.start_key, alice._own.start_counter = start, 0
    bob_group.receive_key(alice._seal_to(bob.public()).payload)
    assert bob_group.decrypt(sent[4]).plaintext == b"m"
    assert bob_group.decrypt(sent[3]).plaintext == b"m"
    with pytest.raises(MessageOutOfWindow):
        bob_group.decrypt(sent[2])


def test_replay_is_refused() -> None:
    g = make_group(CASE, ["alice", "bob"])
    message = g["alice"].encrypt(b"une fois")
    g["bob"].decrypt(message)
    with pytest.raises(ReplayedMessage):
        g["bob"].decrypt(message)


def test_late_message_within_the_window_decrypts_once() -> None:
    g = make_group(CASE, ["alice", "bob"])
    messages = [g["alice"].encrypt(f"m{i}".encode()) for i in range(6)]
    order = [5, 0, 3, 1, 4, 2]
    assert [g["bob"].decrypt(messages[i]).plaintext for i in order] == [
        f"m{i}".encode() for i in order
    ]
    for i in order:
        with pytest.raises(ReplayedMessage):
            g["bob"].decrypt(messages[i])


def test_skipped_keys_are_bounded() -> None:
    g = make_group(CASE, ["alice", "bob"], max_skip=3)
    messages = [g["alice"].encrypt(b".") for _ in range(10)]
    with pytest.raises(MessageOutOfWindow):
        g["bob"].decrypt(messages[4])  # four keys to skip, three allowed
    g["bob"].decrypt(messages[3])  # skips 0, 1, 2
    g["bob"].decrypt(messages[7])  # skips 4, 5, 6: the keys of 0, 1, 2 are dropped
    for dropped in (0, 1, 2):
        with pytest.raises(MessageOutOfWindow):
            g["bob"].decrypt(messages[dropped])
    assert g["bob"].decrypt(messages[5]).counter == 5
    chain = g["bob"]._chains["alice-phone"][0]
    assert len(chain.skipped) <= 3


def test_used_keys_are_forgotten() -> None:
    """Forward secrecy: after decryption the receiver holds no key for that counter any more."""
    g = make_group(CASE, ["alice", "bob"])
    first, second = g["alice"].encrypt(b"1"), g["alice"].encrypt(b"2")
    g["bob"].decrypt(second)
    chain = g["bob"]._chains["alice-phone"][0]
    assert set(chain.skipped) == {0}
    g["bob"].decrypt(first)
    assert chain.skipped == {} and chain.next_counter == 2


def test_message_for_another_case_is_refused() -> None:
    g = make_group(CASE, ["alice", "bob"])
    other = make_group("case-0002", ["alice", "bob"])
    with pytest.raises(NotAMember):
        g["bob"].decrypt(other["alice"].encrypt(b"ailleurs"))


def test_sender_key_for_another_device_is_refused() -> None:
    g = make_group(CASE, ["alice", "bob", "carol"])
    to_bob = next(d for d in g["alice"].distributions() if d.recipient_device_id == "bob-phone")
    with pytest.raises(NotAMember):
        g["carol"].receive_key(to_bob.payload)


def test_replayed_distribution_does_not_wind_the_chain_back() -> None:
    g = make_group(CASE, ["alice", "bob"])
    old_key = next(d for d in g["alice"].distributions() if d.recipient_device_id == "bob-phone")
    message = g["alice"].encrypt(b"une fois")
    g["bob"].decrypt(message)
    g["bob"].receive_key(old_key.payload)
    with pytest.raises(ReplayedMessage):
        g["bob"].decrypt(message)


def test_message_signed_by_another_member_is_refused() -> None:
    """Carol, who holds alice's sender key, cannot forge a message in alice's name."""
    g = make_group(CASE, ["alice", "bob", "carol"])
    genuine = g["alice"].encrypt(b"vrai")
    header_and_ct = genuine[: -(4 + 64)]
    forged = header_and_ct + _wire.field(g["carol"]._me.sign(header_and_ct))
    with pytest.raises(InstantSignatureInvalid):
        g["bob"].decrypt(forged)
    assert g["bob"].decrypt(genuine).plaintext == b"vrai"


@functools.cache
def _pair() -> tuple[SenderKeyGroup, SenderKeyGroup, bytes, bytes]:
    g = make_group(CASE, ["alice", "bob"], kems={"bob": Kem.X25519})
    to_bob = next(d for d in g["alice"].distributions() if d.recipient_device_id == "bob-phone")
    return g["alice"], g["bob"], g["alice"].encrypt(b"resultat: normal"), to_bob.payload


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_tampering_with_any_byte_of_a_message_is_refused(data: st.DataObject) -> None:
    _, bob, message, _ = _pair()
    position = data.draw(st.integers(0, len(message) - 1))
    tampered = bytearray(message)
    tampered[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(InstantCryptoError):
        bob.decrypt(bytes(tampered))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_tampering_with_any_byte_of_a_sender_key_is_refused(data: st.DataObject) -> None:
    _, bob, _, sealed = _pair()
    position = data.draw(st.integers(0, len(sealed) - 1))
    tampered = bytearray(sealed)
    tampered[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(InstantCryptoError):
        bob.receive_key(bytes(tampered))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    _, bob, _, _ = _pair()
    with pytest.raises(InstantCryptoError):
        bob.decrypt(data)
    with pytest.raises(InstantCryptoError):
        bob.receive_key(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_truncated_or_extended_input_raises_only_typed_errors(data: st.DataObject) -> None:
    _, bob, message, sealed = _pair()
    for blob, use in ((message, bob.decrypt), (sealed, bob.receive_key)):
        cut = data.draw(st.integers(0, len(blob) - 1))
        with pytest.raises(InstantCryptoError):
            use(blob[:cut])
        with pytest.raises(InstantCryptoError):
            use(blob + data.draw(st.binary(min_size=1, max_size=8)))


def test_aead_failure_is_typed_even_with_a_valid_signature() -> None:
    """A sender who signs garbage ciphertext (a buggy client) gets a decryption error, typed."""
    g = make_group(CASE, ["alice", "bob"])
    genuine = g["alice"].encrypt(b"x")
    header, ciphertext, _, _ = _split_signed(genuine, "message")
    signed = _wire.fields(header, bytes(len(ciphertext)))
    with pytest.raises(InstantDecryptionFailed):
        g["bob"].decrypt(signed + _wire.field(g["alice"]._me.sign(signed)))


def test_scheduled_rotation_starts_a_new_generation_for_the_same_members() -> None:
    g = make_group(CASE, ["alice", "bob"])
    before = g["alice"].encrypt(b"gen 0")
    rotation = g["alice"].rotate()
    assert [d.recipient_device_id for d in rotation] == ["bob-phone"]
    deliver_all(g, {"alice": rotation})
    after = g["alice"].encrypt(b"gen 1")
    assert g["bob"].decrypt(after).generation == 1
    # A message of the previous generation delivered late still reads.
    assert g["bob"].decrypt(before).plaintext == b"gen 0"


def test_only_the_last_two_generations_are_kept() -> None:
    g = make_group(CASE, ["alice", "bob"])
    oldest = g["alice"].encrypt(b"gen 0")
    for _ in range(2):
        deliver_all(g, {"alice": g["alice"].rotate()})
    assert sorted(g["bob"]._chains["alice-phone"]) == [1, 2]
    with pytest.raises(UnknownSenderKey):
        g["bob"].decrypt(oldest)


def test_a_device_reads_its_own_messages_after_a_restart_from_the_key_it_sealed_to_itself() -> None:
    me = DeviceKeys.generate("me-desk", "me@synthetic.caducee.test", kem=Kem.X25519)
    before = SenderKeyGroup(CASE, me, generation=7)
    own_key = before.seal_to_self()
    assert own_key.recipient_device_id == "me-desk"
    sent = [before.encrypt(f"note {n}".encode()) for n in range(3)]

    after = SenderKeyGroup(CASE, me)  # a restart: nothing of the earlier session in memory
    with pytest.raises(UnknownSenderKey):
        after.decrypt(sent[0])
    after.receive_key(own_key.payload)
    assert [after.decrypt(m).plaintext for m in sent] == [b"note 0", b"note 1", b"note 2"]
    assert after.highest_own_key == 7
    # The restarted device's next chain starts above the one it took back.
    after.rotate()
    assert after.generation == 8 and after.device_id == "me-desk"
    after.remove_members((), at_least=1000)
    assert after.generation == 1000


def test_a_key_sealed_to_itself_by_another_device_is_refused() -> None:
    me = DeviceKeys.generate("me-desk", "me@synthetic.caducee.test", kem=Kem.X25519)
    other = DeviceKeys.generate("other", "me@synthetic.caducee.test", kem=Kem.X25519)
    theirs = SenderKeyGroup(CASE, other, [me.public()]).seal_to_self()
    with pytest.raises(NotAMember):
        SenderKeyGroup(CASE, me, [other.public()]).receive_key(theirs.payload)


def test_the_encrypted_count_drives_a_scheduled_rotation() -> None:
    g = make_group(CASE, ["alice"])["alice"]
    assert g.encrypted == 0
    g.encrypt(b"a")
    g.encrypt(b"b")
    assert g.encrypted == 2
    g.rotate()
    assert g.encrypted == 0


def test_a_device_cannot_remove_itself() -> None:
    g = make_group(CASE, ["alice"])
    with pytest.raises(NotAMember):
        g["alice"].remove_members(["alice-phone"])


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(12)), st.lists(st.integers(0, 11), max_size=6))
def test_any_delivery_order_with_duplicates_reads_each_message_exactly_once(
    order: list[int], duplicates: list[int]
) -> None:
    """Within the window, order does not matter and every second delivery is refused."""
    g = make_group(CASE, ["alice", "bob"], kems={"alice": Kem.X25519, "bob": Kem.X25519})
    messages = [g["alice"].encrypt(f"m{i}".encode()) for i in range(12)]
    read = []
    for i in list(order) + duplicates:
        try:
            read.append(g["bob"].decrypt(messages[i]).plaintext)
        except ReplayedMessage:
            continue
    assert sorted(read) == sorted(f"m{i}".encode() for i in range(12))
