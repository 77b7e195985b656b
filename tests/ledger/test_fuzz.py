"""Random and mutated inputs: only a LedgerError may escape, and nothing verifies by accident.

A mutated receipt either raises a :class:`LedgerError` or verifies to exactly what the
original said (a few bytes, such as the unsigned ``digestAlgorithms`` of a CMS token, carry
no meaning).
"""

import contextlib
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.ledger.checkpoint import (
    NoteVerifierKey,
    parse_signed_note,
    parse_verifier_key,
    verify_checkpoint,
)
from caducee.ledger.errors import LedgerError
from caducee.ledger.receipt import VerifiedReceipt, parse_receipt, verify_receipt
from caducee.ledger.timestamp import token_from_response, verify_timestamp

from .conftest import LOG_NAME
from .test_receipt import Log
from .tsa import TSA

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def world(
    log_key: Ed25519PrivateKey, tsa: TSA
) -> tuple[bytes, NoteVerifierKey, TSA, VerifiedReceipt]:
    receipt = Log(log_key).receipt(6, tsa).to_bytes()
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    return receipt, key, tsa, verify_receipt(receipt, log_key=key, tsa_roots=[tsa.root])


def _check(data: bytes, world) -> None:  # type: ignore[no-untyped-def]
    _, key, tsa, original = world
    try:
        verified = verify_receipt(data, log_key=key, tsa_roots=[tsa.root])
    except LedgerError:
        return
    assert verified.record == original.record
    assert verified.leaf_index == original.leaf_index
    assert verified.checkpoint == original.checkpoint
    assert verified.timestamp is not None and original.timestamp is not None
    assert verified.timestamp.hashed_message == original.timestamp.hashed_message


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(world, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _check(data, world)


@FUZZ
@given(st.data())
def test_mutated_receipts(world, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    receipt = bytearray(world[0])
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(receipt) - 1))
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "byte"]))
        if op == "flip":
            receipt[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "delete":
            del receipt[i]
        elif op == "insert":
            receipt.insert(i, data.draw(st.integers(0, 255)))
        else:
            receipt[i] = data.draw(st.sampled_from(b'"{}[],:0\\ \n'))
    _check(bytes(receipt), world)


@FUZZ
@given(st.data())
def test_mutated_checkpoints(world, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    _, key, _, _ = world
    note = parse_receipt(world[0]).checkpoint
    chars = list(note)
    i = data.draw(st.integers(0, len(chars) - 1))
    chars[i] = data.draw(st.characters())
    mutated = "".join(chars)
    try:
        cp = verify_checkpoint(mutated, key)
    except LedgerError:
        return
    assert cp == world[3].checkpoint  # only a signature-line change that keeps ours valid


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_random_notes_and_keys(text: str | bytes) -> None:
    for call in (
        lambda: parse_signed_note(text),
        lambda: parse_verifier_key(text if isinstance(text, str) else text.decode("latin-1")),
    ):
        with contextlib.suppress(LedgerError):
            call()


@FUZZ
@given(st.binary(max_size=600))
def test_random_tokens(world, data: bytes) -> None:  # type: ignore[no-untyped-def]
    tsa: TSA = world[2]
    with pytest.raises(LedgerError):
        verify_timestamp(data, hashlib.sha256(data).digest(), roots=[tsa.root])
    with contextlib.suppress(LedgerError):
        token_from_response(data)


@FUZZ
@given(st.data())
def test_mutated_tokens(world, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    receipt = parse_receipt(world[0])
    assert receipt.timestamp is not None
    token = bytearray(receipt.timestamp)
    i = data.draw(st.integers(0, len(token) - 1))
    token[i] ^= 1 << data.draw(st.integers(0, 7))
    digest = world[3].timestamp.hashed_message
    try:
        info = verify_timestamp(bytes(token), digest, roots=[world[2].root])
    except LedgerError:
        return
    assert info.gen_time == world[3].timestamp.gen_time
