"""What a MISS message says, once decrypted: one small JSON object per message.

Only clients ever see these (the server stores ciphertexts). The browser app
(``static/instant/app/payloads.js``) and the Python client share this one format, and the
vectors in ``tests/vectors/instant/payloads.json`` prove they read it alike. Every payload
is a UTF-8 JSON object with a ``type``:

- ``patient``: ``{"patient": {"ins", "name", "birth_date"}, "stay"?}``, the first message
  of a case: the patient's identity travels only here, encrypted;
- ``text``: ``{"text", "reply_to"?}``;
- ``edit``: ``{"target", "text"}``, a new text for one of the sender's own messages;
- ``deletion``: ``{"target"}``, shown as "deleted by X at T", never a silent removal;
- ``photo`` and ``file``: ``{"name", "media_type", "data" (base64), "caption"?,
  "reply_to"?}``; a photo also says ``"blurred": true`` when the sender blurred part of it
  before encryption;
- ``read``: ``{"upTo": sequence}``; ``ack``: ``{}`` ("I'm handling it").

``target`` and ``reply_to`` are message ids of the same case. Bytes that are not such an
object (an older client's plain text) read as text, so nothing is ever unreadable for its
form alone; an object that claims a known type but lacks what it needs raises
:class:`MalformedInstantData`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from caducee.instant.errors import MalformedInstantData

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "Acknowledgement",
    "Attachment",
    "Deletion",
    "Edit",
    "PatientCard",
    "Payload",
    "Read",
    "Text",
    "decode_payload",
    "encode_payload",
]

# A photo or a file rides inside one message (its base64 within the JSON, encrypted, must fit
# the server's 3 MiB of ciphertext); bigger documents go by Caducée mail.
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class PatientCard:
    ins: str
    name: str
    birth_date: str
    stay: str | None = None


@dataclass(frozen=True)
class Text:
    text: str
    reply_to: str | None = None


@dataclass(frozen=True)
class Edit:
    target: str
    text: str


@dataclass(frozen=True)
class Deletion:
    target: str


@dataclass(frozen=True)
class Attachment:
    kind: str  # "photo" or "file"
    name: str
    media_type: str
    data: bytes
    caption: str | None = None
    reply_to: str | None = None
    blurred: bool = False


@dataclass(frozen=True)
class Read:
    up_to: int


@dataclass(frozen=True)
class Acknowledgement:
    pass


Payload = PatientCard | Text | Edit | Deletion | Attachment | Read | Acknowledgement


def encode_payload(payload: Payload) -> bytes:
    """The UTF-8 JSON a client encrypts for ``payload``."""
    return json.dumps(_to_json(payload), ensure_ascii=False, separators=(",", ":")).encode()


def decode_payload(plaintext: bytes) -> Payload:
    """What a decrypted message says; plain bytes that are not a payload read as text."""
    try:
        value = json.loads(plaintext.decode())
    except (UnicodeDecodeError, ValueError):
        return Text(plaintext.decode(errors="replace"))
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return Text(plaintext.decode())
    return _from_json(value)


def _to_json(payload: Payload) -> dict[str, Any]:
    match payload:
        case PatientCard(ins, name, birth_date, stay):
            card: dict[str, Any] = {"ins": ins, "name": name, "birth_date": birth_date}
            return _without_none({"type": "patient", "patient": card, "stay": stay})
        case Text(text, reply_to):
            return _without_none({"type": "text", "text": text, "reply_to": reply_to})
        case Edit(target, text):
            return {"type": "edit", "target": target, "text": text}
        case Deletion(target):
            return {"type": "deletion", "target": target}
        case Attachment():
            out: dict[str, Any] = {
                "type": payload.kind,
                "name": payload.name,
                "media_type": payload.media_type,
                "data": base64.b64encode(payload.data).decode(),
                "caption": payload.caption,
                "reply_to": payload.reply_to,
            }
            if payload.kind == "photo":
                out["blurred"] = payload.blurred
            return _without_none(out)
        case Read(up_to):
            return {"type": "read", "upTo": up_to}
        case Acknowledgement():
            return {"type": "ack"}
    raise TypeError(f"not a payload: {payload!r}")  # pragma: no cover - exhaustive above


def _from_json(value: dict[str, Any]) -> Payload:
    kind = value["type"]
    if kind == "patient":
        card = value.get("patient")
        if not isinstance(card, dict):
            raise MalformedInstantData("patient sans identité / patient card without identity")
        return PatientCard(
            _text(card, "ins", optional=True) or "",
            _text(card, "name"),
            _text(card, "birth_date", optional=True) or "",
            _text(value, "stay", optional=True),
        )
    if kind == "text":
        return Text(_text(value, "text"), _text(value, "reply_to", optional=True))
    if kind == "edit":
        return Edit(_text(value, "target"), _text(value, "text"))
    if kind == "deletion":
        return Deletion(_text(value, "target"))
    if kind in ("photo", "file"):
        return _attachment(kind, value)
    if kind == "read":
        up_to = value.get("upTo")
        if not isinstance(up_to, int) or isinstance(up_to, bool) or up_to < 0:
            raise MalformedInstantData("accusé de lecture invalide / invalid read receipt")
        return Read(up_to)
    if kind == "ack":
        return Acknowledgement()
    # A type from a newer client: shown as text rather than lost.
    return Text(json.dumps(value, ensure_ascii=False))


def _attachment(kind: str, value: dict[str, Any]) -> Attachment:
    encoded = _text(value, "data")
    if len(encoded) > (MAX_ATTACHMENT_BYTES * 4) // 3 + 4:
        raise MalformedInstantData("pièce jointe trop grande / attachment too large")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedInstantData("pièce jointe illisible / attachment not base64") from None
    blurred = value.get("blurred")
    if blurred is None:  # absent or null: not said to be blurred (as payloads.js reads it)
        blurred = False
    if not isinstance(blurred, bool):
        raise MalformedInstantData("champ blurred invalide / invalid blurred flag")
    return Attachment(
        kind,
        _text(value, "name"),
        _text(value, "media_type"),
        data,
        _text(value, "caption", optional=True),
        _text(value, "reply_to", optional=True),
        blurred,
    )


def _text(value: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    found = value.get(key)
    if found is None and optional:
        return None
    if not isinstance(found, str) or (not found and not optional):
        raise MalformedInstantData(f"champ {key} manquant ou invalide / {key} missing or invalid")
    return found


def _without_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}
