"""Known-answer tests of the ratchet's KDF steps, recomputed independently with hmac/hashlib.

The expected values come from a hand-written RFC 5869 HKDF over ``hmac`` and ``hashlib``,
not from ``cryptography``, so a change in either side's derivation shows up here.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caducee.instant import _ratchet
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.sender_keys import SenderKeyGroup

CHAIN_0 = bytes(range(32))


def _hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, i = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        okm += block
        i += 1
    return okm[:length]


def test_chain_step_is_hmac_of_0x02() -> None:
    expected = hmac.new(CHAIN_0, b"\x02", hashlib.sha256).digest()
    assert _ratchet.next_chain_key(CHAIN_0) == expected


def test_message_seed_is_hmac_of_0x01() -> None:
    assert _ratchet.message_seed(CHAIN_0) == hmac.new(CHAIN_0, b"\x01", hashlib.sha256).digest()


def test_message_key_and_nonce_are_hkdf_of_the_seed() -> None:
    seed = hmac.new(CHAIN_0, b"\x01", hashlib.sha256).digest()
    okm = _hkdf_sha256(seed, b"\x00" * 32, b"caducee-miss-v1 message key", 44)
    key = _ratchet.message_key(CHAIN_0, 0)
    assert (key.key, key.nonce, key.counter) == (okm[:32], okm[32:], 0)


def test_three_steps_along_the_chain() -> None:
    chain = CHAIN_0
    for counter in range(3):
        seed = hmac.new(chain, b"\x01", hashlib.sha256).digest()
        okm = _hkdf_sha256(seed, b"\x00" * 32, b"caducee-miss-v1 message key", 44)
        assert _ratchet.message_key(chain, counter).key == okm[:32]
        chain = hmac.new(chain, b"\x02", hashlib.sha256).digest()
    assert (
        _ratchet.next_chain_key(_ratchet.next_chain_key(_ratchet.next_chain_key(CHAIN_0))) == chain
    )


def test_hand_written_hkdf_matches_rfc5869_case_1() -> None:
    """The oracle itself is checked against RFC 5869 appendix A.1."""
    okm = _hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_pinned_vector_for_other_implementations() -> None:
    """Chain key 00..1f: pinned values a browser implementation must reproduce.

    Cross-checked by the independent oracle in the tests above; pinned here so that a change
    of derivation cannot slip through unnoticed.
    """
    assert _ratchet.next_chain_key(CHAIN_0).hex() == (
        "4304c22c84a53755ab08ead8d97a8d429be5efa480682d7ad1da27f73e1fbe1d"
    )
    assert _ratchet.message_seed(CHAIN_0).hex() == (
        "9b4c8120a4823a95f47cde17a244f4507244ee6e3957d1fab9fa29b44d3829b7"
    )
    key = _ratchet.message_key(CHAIN_0, 0)
    assert key.key.hex() == "d559192d4d7e2bd9126732162fa6138c6817a8f7dab082cfe16aec59de58d85c"
    assert key.nonce.hex() == "11419f44eb225999c89df25f"


def test_message_wire_format_and_ciphertext_known_answer() -> None:
    """A whole message from chain key 00..1f, its header and AEAD rebuilt by hand.

    The header and field framing are written here with ``struct``; the AES-256-GCM key and
    nonce come from the hand-written HKDF; so the test pins the wire format a browser
    implementation must produce byte for byte; the Ed25519 signature over it is checked
    with the device's public key.
    """
    me = DeviceKeys.generate("alice-phone", "alice@synthetic.caducee.test")
    group = SenderKeyGroup("case-0001", me)
    group._own.chain_key = CHAIN_0
    message = group.encrypt(b"bonjour")

    def f(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    header = (
        b"caducee-miss-v1 message"
        + f(b"case-0001")
        + f(b"alice-phone")
        + struct.pack(">Q", 0)
        + struct.pack(">Q", 0)
    )
    seed = hmac.new(CHAIN_0, b"\x01", hashlib.sha256).digest()
    okm = _hkdf_sha256(seed, b"\x00" * 32, b"caducee-miss-v1 message key", 44)
    ciphertext = AESGCM(okm[:32]).encrypt(okm[32:], b"bonjour", header)
    signed = f(header) + f(ciphertext)
    assert message[: len(signed)] == signed
    assert message[len(signed) :][:4] == struct.pack(">I", 64)
    assert me.public().verify(message[len(signed) + 4 :], signed)
