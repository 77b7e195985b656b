"""C2SP signed-note / tlog-checkpoint, against the golang.org/x/mod/sumdb/note vector."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.ledger.checkpoint import (
    Checkpoint,
    NoteVerifierKey,
    format_verifier_key,
    parse_checkpoint,
    parse_signed_note,
    parse_verifier_key,
    sign_checkpoint,
    verify_checkpoint,
)
from caducee.ledger.errors import (
    CheckpointSignatureInvalid,
    MalformedCheckpoint,
    MalformedKey,
    WrongLog,
)
from caducee.ledger.merkle import EMPTY_ROOT

from .conftest import LOG_NAME

# golang.org/x/mod/sumdb/note, note.go package documentation (see VECTORS.md).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = GO_TEXT + "\n— PeterNeumann " + GO_SIG + "\n"


def go_private_key() -> Ed25519PrivateKey:
    material = GO_SKEY.split("+", 4)[4]
    raw = base64.b64decode(material)
    assert raw[0] == 0x01
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_go_verifier_key_round_trips() -> None:
    key = parse_verifier_key(GO_VKEY)
    assert key.name == "PeterNeumann"
    assert key.key_id.hex() == "c74f20a3"
    assert format_verifier_key(key) == GO_VKEY
    assert key.public_key.public_bytes_raw() == go_private_key().public_key().public_bytes_raw()


def test_go_note_signature_is_reproduced_byte_for_byte() -> None:
    key = parse_verifier_key(GO_VKEY)
    blob = key.key_id + go_private_key().sign(GO_TEXT.encode())
    assert base64.b64encode(blob).decode() == GO_SIG
    note = parse_signed_note(GO_NOTE)
    assert note.text == GO_TEXT
    assert note.signatures[0].name == "PeterNeumann"
    assert note.signatures[0].key_id == key.key_id


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong ID
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper hex
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # short
        "PeterNeumann+c74f20a3+AhpcMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWARpc2QcUPDh",  # type 2
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
    ],
)
def test_malformed_verifier_keys(bad: str) -> None:
    with pytest.raises(MalformedKey):
        parse_verifier_key(bad)


def checkpoint(size: int = 3, root: bytes = EMPTY_ROOT, origin: str = LOG_NAME) -> Checkpoint:
    return Checkpoint(origin, size, root)


def test_sign_and_verify_checkpoint(log_key: Ed25519PrivateKey) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    note = sign_checkpoint(checkpoint(), log_key, LOG_NAME)
    assert note.startswith(f"{LOG_NAME}\n3\n{base64.b64encode(EMPTY_ROOT).decode()}\n\n— ")
    assert verify_checkpoint(note, key) == checkpoint()
    assert verify_checkpoint(note.encode(), parse_verifier_key(format_verifier_key(key)))


def test_extension_lines_are_kept(log_key: Ed25519PrivateKey) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    cp = Checkpoint(LOG_NAME, 7, EMPTY_ROOT, ("Timestamp: 1700000000",))
    assert verify_checkpoint(sign_checkpoint(cp, log_key, LOG_NAME), key) == cp


def test_unknown_signatures_ignored_cosignature_kept(
    log_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    note = sign_checkpoint(checkpoint(), log_key, LOG_NAME)
    witness = sign_checkpoint(checkpoint(), other_key, "witness.example/w1").split("\n")[-2]
    cosigned = note + witness + "\n"
    assert verify_checkpoint(cosigned, key) == checkpoint()
    assert len(parse_signed_note(cosigned).signatures) == 2


def test_another_key_same_name_is_refused(
    log_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    forged = sign_checkpoint(checkpoint(), other_key, LOG_NAME)
    with pytest.raises(CheckpointSignatureInvalid, match="not signed by"):
        verify_checkpoint(forged, key)


def test_altered_body_is_refused(log_key: Ed25519PrivateKey) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    note = sign_checkpoint(checkpoint(), log_key, LOG_NAME)
    with pytest.raises(CheckpointSignatureInvalid, match="does not verify"):
        verify_checkpoint(note.replace("\n3\n", "\n4\n"), key)


def test_other_origin_is_wrong_log(log_key: Ed25519PrivateKey) -> None:
    key = NoteVerifierKey.from_public_key(LOG_NAME, log_key.public_key())
    note = sign_checkpoint(checkpoint(origin="other.example/log"), log_key, LOG_NAME)
    with pytest.raises(WrongLog):
        verify_checkpoint(note, key)
    assert verify_checkpoint(note, key, origin="other.example/log").origin == "other.example/log"


@pytest.mark.parametrize(
    "body",
    [
        "log\n3\n",
        "log\n03\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n",
        "log\n-1\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n",
        "log\n99999999999999999999\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n",
        "log\n3\n" + base64.b64encode(EMPTY_ROOT[:31]).decode() + "\n",
        "log\n3\n" + base64.b64encode(EMPTY_ROOT).decode().rstrip("=") + "\n",
        "\n3\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n",
        "log\n3\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n\n",
        "log\n3\n" + base64.b64encode(EMPTY_ROOT).decode(),
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        parse_checkpoint(body)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n— PeterNeumann\n",
        GO_TEXT + "\n- PeterNeumann " + GO_SIG + "\n",
        GO_TEXT + "\n— PeterNeumann " + GO_SIG,
        GO_TEXT + "\n— PeterNeumann AAAA\n",
        GO_TEXT + "\n— PeterNeumann " + GO_SIG + " extra\n",
        GO_TEXT.replace("\n", "\r\n", 1) + "\n— PeterNeumann " + GO_SIG + "\n",
        GO_TEXT + "\n" + "— PeterNeumann " + GO_SIG + "\n" * 2,
        GO_TEXT + "\n" + ("— PeterNeumann " + GO_SIG + "\n") * 65,
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        parse_signed_note(note)


def test_non_utf8_and_oversized_notes() -> None:
    with pytest.raises(MalformedCheckpoint):
        parse_signed_note(b"\xff\n\n")
    with pytest.raises(MalformedCheckpoint):
        parse_signed_note(b"a" * 70000)


def test_key_names_are_validated(log_key: Ed25519PrivateKey) -> None:
    for bad in ["", "a b", "a+b"]:
        with pytest.raises(MalformedKey):
            NoteVerifierKey.from_public_key(bad, log_key.public_key())
