"""HPKE sanity: both suites round-trip, a wrong suite or info fails with a typed error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.instant._hpke import HpkeKeyPair, Kem, load_public_key, seal
from caducee.instant.errors import (
    InstantCryptoError,
    InstantDecryptionFailed,
    MalformedInstantData,
    UnsupportedSuite,
)


@pytest.mark.parametrize("kem", list(Kem))
def test_seal_open_round_trip(kem: Kem) -> None:
    pair = HpkeKeyPair.generate(kem)
    sealed = seal(kem, pair.public_bytes(), b"chain key", info=b"case-1/device-b")
    assert pair.open(sealed, info=b"case-1/device-b") == b"chain key"
    assert b"chain key" not in sealed


@pytest.mark.parametrize("kem", list(Kem))
def test_private_bytes_round_trip(kem: Kem) -> None:
    pair = HpkeKeyPair.generate(kem)
    again = HpkeKeyPair.from_private_bytes(kem, pair.private_bytes())
    assert again.public_bytes() == pair.public_bytes()
    assert again.open(seal(kem, pair.public_bytes(), b"x", b"i"), b"i") == b"x"


def test_hybrid_is_the_default_and_its_encapsulation_is_larger() -> None:
    pair = HpkeKeyPair.generate()
    assert pair.kem is Kem.MLKEM768_X25519
    assert len(pair.public_bytes()) == 1184 + 32
    hybrid = seal(Kem.MLKEM768_X25519, pair.public_bytes(), b"", b"")
    classic = seal(Kem.X25519, HpkeKeyPair.generate(Kem.X25519).public_bytes(), b"", b"")
    assert len(hybrid) - len(classic) == 1088  # the ML-KEM-768 ciphertext


def test_wrong_info_fails_cleanly() -> None:
    pair = HpkeKeyPair.generate()
    sealed = seal(pair.kem, pair.public_bytes(), b"k", info=b"case-1/device-b")
    with pytest.raises(InstantDecryptionFailed):
        pair.open(sealed, info=b"case-2/device-b")


def test_wrong_suite_fails_cleanly() -> None:
    """Sealed to an X25519 key, opened by a hybrid key pair (and the reverse): typed error."""
    classic = HpkeKeyPair.generate(Kem.X25519)
    hybrid = HpkeKeyPair.generate(Kem.MLKEM768_X25519)
    to_classic = seal(Kem.X25519, classic.public_bytes(), b"k", b"i")
    to_hybrid = seal(Kem.MLKEM768_X25519, hybrid.public_bytes(), b"k", b"i")
    with pytest.raises(InstantDecryptionFailed):
        hybrid.open(to_classic, b"i")
    with pytest.raises(InstantDecryptionFailed):
        classic.open(to_hybrid, b"i")
    # The X25519 half of a hybrid key is not a key of the X25519 suite either.
    with pytest.raises(InstantDecryptionFailed):
        HpkeKeyPair.from_private_bytes(Kem.X25519, hybrid.private_bytes()[64:]).open(
            to_hybrid, b"i"
        )


def test_unknown_kem_id_is_unsupported() -> None:
    with pytest.raises(UnsupportedSuite):
        Kem.from_id(0x0010)


@pytest.mark.parametrize("kem", list(Kem))
def test_public_key_of_the_wrong_size(kem: Kem) -> None:
    with pytest.raises(MalformedInstantData):
        load_public_key(kem, b"\x01" * 31)


@given(st.binary(max_size=1300), st.sampled_from(list(Kem)))
def test_open_of_arbitrary_bytes_is_a_typed_error(data: bytes, kem: Kem) -> None:
    pair = _PAIRS[kem]
    with pytest.raises(InstantCryptoError):
        pair.open(data, b"i")


_PAIRS = {kem: HpkeKeyPair.generate(kem) for kem in Kem}
