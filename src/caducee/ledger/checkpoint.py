"""C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note`` envelopes, Ed25519 (type 0x01).

Note: text ending in ``\\n``, a blank line, then lines ``— <name> base64(key ID || sig)``.
Key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]. Verifier key string:
``<name>+<hex key ID>+base64(0x01 || public key)``.
"""

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caducee.ledger.errors import (
    CheckpointSignatureInvalid,
    MalformedCheckpoint,
    MalformedKey,
    WrongLog,
)
from caducee.ledger.merkle import HASH_SIZE

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteSignature",
    "NoteVerifierKey",
    "SignedNote",
    "format_verifier_key",
    "note_key_id",
    "parse_checkpoint",
    "parse_signed_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "verify_checkpoint",
]

ED25519 = 0x01  # signed-note signature type for Ed25519
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 64 * 1024
_DASH = "— "  # U+2014 EM DASH, U+0020
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _b64(text: str, error: type[Exception], what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


def note_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """signed-note: SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]."""
    data = name.encode("utf-8") + b"\n" + bytes([ED25519]) + _raw(public_key)
    return hashlib.sha256(data).digest()[:4]


@dataclass(frozen=True)
class NoteVerifierKey:
    """A trusted note key: name, key ID and Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> "NoteVerifierKey":
        if not _valid_name(name):
            raise MalformedKey(f"key name {name!r} is empty or holds a space or '+'")
        return cls(name, note_key_id(name, public_key), public_key)


def format_verifier_key(key: NoteVerifierKey) -> str:
    """``<name>+<8 hex key ID>+base64(0x01 || public key)``."""
    material = base64.b64encode(bytes([ED25519]) + _raw(key.public_key)).decode("ascii")
    return f"{key.name}+{key.key_id.hex()}+{material}"


def parse_verifier_key(text: str) -> NoteVerifierKey:
    """Parse a verifier key string; the key ID must match the name and key."""
    name, plus, rest = text.partition("+")
    key_hex, plus2, material = rest.partition("+")
    if not plus or not plus2 or not _valid_name(name):
        raise MalformedKey("a verifier key is <name>+<hex key ID>+<base64 key>")
    if not re.fullmatch(r"[0-9a-f]{8}", key_hex):
        raise MalformedKey("the key ID of a verifier key must be 8 lowercase hex digits")
    raw = _b64(material, MalformedKey, "the verifier key material")
    if len(raw) != 33 or raw[0] != ED25519:
        raise MalformedKey("only Ed25519 (type 0x01, 32-byte) verifier keys are supported")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    key = NoteVerifierKey.from_public_key(name, public_key)
    if key.key_id.hex() != key_hex:
        raise MalformedKey("the key ID of the verifier key does not match its name and key")
    return key


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]


def parse_signed_note(note: str | bytes) -> SignedNote:
    """Split a signed note into its text and signature lines (nothing is verified)."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise MalformedCheckpoint(f"the note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCheckpoint("the note is not UTF-8") from exc
    if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise MalformedCheckpoint(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(note) or any(0xD800 <= ord(c) <= 0xDFFF for c in note):
        raise MalformedCheckpoint("the note holds a control character or a lone surrogate")
    # 1. The text ends at the last blank line; signatures follow, each ending in a newline.
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise MalformedCheckpoint("the note has no blank line before its signatures")
    text, lines = note[: cut + 1], note[cut + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedCheckpoint(f"the note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        # 2. "— <name> base64(4-byte key ID || signature)".
        parts = line.removeprefix(_DASH).split(" ")
        if not line.startswith(_DASH) or len(parts) != 2 or not _valid_name(parts[0]):
            raise MalformedCheckpoint("a signature line is not '— <name> <base64>'")
        blob = _b64(parts[1], MalformedCheckpoint, "a note signature")
        if len(blob) < 5:
            raise MalformedCheckpoint("a note signature is shorter than its key ID")
        signatures.append(NoteSignature(parts[0], blob[:4], blob[4:]))
    return SignedNote(text, tuple(signatures))


@dataclass(frozen=True)
class Checkpoint:
    """tlog-checkpoint: origin, tree size, RFC 9162 root hash, optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(f"{line}\n" for line in (self.origin, self.size, root, *self.extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (the note text, already verified)."""
    if not text.endswith("\n"):
        raise MalformedCheckpoint("the checkpoint does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint("a checkpoint has an origin, a size and a root hash")
    origin, size, root, *extensions = lines
    if not origin or origin != origin.strip():
        raise MalformedCheckpoint("the checkpoint origin is empty or padded")
    if not _SIZE.fullmatch(size) or int(size) >= 2**63:
        raise MalformedCheckpoint(f"tree size {size!r} is not a canonical decimal number")
    root_hash = _b64(root, MalformedCheckpoint, "the root hash")
    if len(root_hash) != HASH_SIZE:
        raise MalformedCheckpoint(f"the root hash is not {HASH_SIZE} bytes")
    if any(not line for line in extensions):
        raise MalformedCheckpoint("a checkpoint extension line is empty")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey, name: str) -> str:
    """A signed note of the checkpoint, signed by ``key`` under ``name``."""
    text = checkpoint.to_text()
    if parse_checkpoint(text) != checkpoint:
        raise MalformedCheckpoint("this checkpoint has no faithful text form")
    key_id = NoteVerifierKey.from_public_key(name, key.public_key()).key_id
    sig = base64.b64encode(key_id + key.sign(text.encode("utf-8"))).decode("ascii")
    return f"{text}\n{_DASH}{name} {sig}\n"


def verify_checkpoint(
    note: str | bytes, key: NoteVerifierKey, *, origin: str | None = None
) -> Checkpoint:
    """Verify the log's signature, then the origin (default: the key's name).

    No signature by ``key``: :class:`WrongLog` if the note claims another origin (the text is
    only used to name the error), else :class:`CheckpointSignatureInvalid`.
    """
    signed = parse_signed_note(note)
    # signed-note: ignore unknown keys; a known key's signature MUST verify.
    verified = False
    for s in signed.signatures:
        if s.name != key.name or not hmac.compare_digest(s.key_id, key.key_id):
            continue
        try:
            key.public_key.verify(s.signature, signed.text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointSignatureInvalid(
                f"the signature of {key.name!r} on the checkpoint does not verify"
            ) from None
        verified = True
    expected = key.name if origin is None else origin
    if not verified:
        # Unverified text only names the error: another log's checkpoint is WrongLog.
        claimed = signed.text.partition("\n")[0]
        if claimed != expected:
            raise WrongLog(f"the checkpoint claims log {claimed!r}, not {expected!r}")
        raise CheckpointSignatureInvalid(f"the checkpoint is not signed by {key.name!r}")
    checkpoint = parse_checkpoint(signed.text)
    if checkpoint.origin != expected:
        raise WrongLog(f"the checkpoint is of log {checkpoint.origin!r}, not {expected!r}")
    return checkpoint
