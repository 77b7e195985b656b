"""The hub's WebSocket frames from clients: parsed strictly, refused with one error type.

    {"type": "hello", "device": "<device id>", "cursors": {"<case id>": <sequence>, ...},
     "token": "<access token>"}            (token optional when the Authorization header has it)
    {"type": "ping"}
    {"type": "typing", "case_id": "<case id>"}   (its person is typing there; nothing of what)

Anything else (not JSON, unknown type or member, a wrong type, too big) raises
:class:`MalformedInstantData` and nothing else, so a bad client never crashes the hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from caducee.instant.errors import MalformedInstantData

__all__ = ["MAX_CURSORS", "MAX_FRAME", "Hello", "Ping", "Typing", "parse_client_frame"]

MAX_FRAME = 64 * 1024
MAX_CURSORS = 1000
MAX_ID = 128
MAX_SEQUENCE = 2**31 - 1


@dataclass(frozen=True)
class Hello:
    device_id: str
    cursors: dict[str, int] = field(default_factory=dict)
    token: str | None = None


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Typing:
    """Someone is typing in a case: the case only, never a word of the text."""

    case_id: str


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise MalformedInstantData(f"{what} : identifiant invalide / {what}: bad identifier")
    if not value.isprintable():
        raise MalformedInstantData(f"{what} : caractères invalides / {what}: bad characters")
    return value


def _cursors(value: object) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > MAX_CURSORS:
        raise MalformedInstantData("cursors : objet attendu / cursors: expected a small object")
    cursors: dict[str, int] = {}
    for case_id, sequence in value.items():
        ok = isinstance(sequence, int) and not isinstance(sequence, bool)
        if not ok or not 0 <= sequence <= MAX_SEQUENCE:
            raise MalformedInstantData("cursors : numéro invalide / cursors: bad sequence")
        cursors[_identifier(case_id, "case")] = sequence
    return cursors


def parse_client_frame(text: object) -> Hello | Ping | Typing:
    """One frame a client sent, or :class:`MalformedInstantData`."""
    if not isinstance(text, str) or len(text) > MAX_FRAME:
        raise MalformedInstantData("trame : texte attendu / frame: expected a small text")
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedInstantData("trame : JSON invalide / frame: not JSON") from None
    if not isinstance(data, dict):
        raise MalformedInstantData("trame : objet attendu / frame: expected an object")
    kind = data.get("type")
    if kind == "ping" and set(data) == {"type"}:
        return Ping()
    if kind == "typing" and set(data) == {"type", "case_id"}:
        return Typing(_identifier(data["case_id"], "case"))
    if kind == "hello" and {"type", "device"} <= set(data) <= {
        "type",
        "device",
        "cursors",
        "token",
    }:
        token = data.get("token")
        if token is not None and (not isinstance(token, str) or not 0 < len(token) <= 512):
            raise MalformedInstantData("token : texte attendu / token: expected text")
        return Hello(
            _identifier(data["device"], "device"), _cursors(data.get("cursors", {})), token
        )
    raise MalformedInstantData("trame inconnue / unknown frame")
