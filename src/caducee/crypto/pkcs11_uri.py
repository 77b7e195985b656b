"""``pkcs11:`` URIs (RFC 7512): which module, token and object a key lives on.

``parse_pkcs11_uri("pkcs11:token=CPS;object=auth;type=private?pin-source=file:/run/pin")``.
Values are percent-decoded (RFC 7512 §2.3); ``id`` stays bytes, the rest are UTF-8 text.
Vendor attributes (``x-...``) are ignored; unknown standard ones and duplicates are errors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote_to_bytes

from caducee.crypto.errors import MalformedMessage

__all__ = ["OBJECT_TYPES", "PKCS11URI", "parse_pkcs11_uri"]

SCHEME: Final = "pkcs11:"
OBJECT_TYPES: Final = frozenset({"public", "private", "cert", "secret-key", "data"})

# RFC 7512 §2.3: pk11-res-avail (path) and pk11-qres-avail (query), left unescaped.
_PATH_SAFE: Final = ":[]@!$'()*+,="
_QUERY_SAFE: Final = _PATH_SAFE + "/?|"

# URI attribute name -> dataclass field, in the order ``to_uri`` writes them.
_PATH_ATTRS: Final = {
    "token": "token",
    "manufacturer": "manufacturer",
    "model": "model",
    "serial": "serial",
    "library-description": "library_description",
    "library-manufacturer": "library_manufacturer",
    "library-version": "library_version",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "slot-id": "slot_id",
    "object": "object",
    "id": "id",
    "type": "type",
}
_QUERY_ATTRS: Final = {
    "pin-source": "pin_source",
    "pin-value": "pin_value",
    "module-name": "module_name",
    "module-path": "module_path",
}


@dataclass(frozen=True)
class PKCS11URI:
    """The attributes of an RFC 7512 URI; ``None`` means "not given" (matches anything)."""

    token: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    library_description: str | None = None
    library_manufacturer: str | None = None
    library_version: str | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    slot_id: int | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    pin_source: str | None = None
    pin_value: str | None = dataclasses.field(default=None, repr=False)
    module_name: str | None = None
    module_path: str | None = None

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in OBJECT_TYPES:
            raise MalformedMessage(f"pkcs11 URI: unknown object type {self.type!r}")
        if self.slot_id is not None and self.slot_id < 0:
            raise MalformedMessage("pkcs11 URI: slot-id must be a non-negative integer")

    def to_uri(self, *, include_pin: bool = False) -> str:
        """The URI text (RFC 7512 §2.3); ``pin-value`` only if ``include_pin``."""
        path: list[str] = []
        for name, field in _PATH_ATTRS.items():
            value = getattr(self, field)
            if value is None:
                continue
            if isinstance(value, bytes):
                encoded = "".join(f"%{b:02X}" for b in value)
            else:
                encoded = quote(str(value), safe=_PATH_SAFE)
            path.append(f"{name}={encoded}")
        query: list[str] = []
        for name, field in _QUERY_ATTRS.items():
            value = getattr(self, field)
            if value is None or (name == "pin-value" and not include_pin):
                continue
            query.append(f"{name}={quote(value, safe=_QUERY_SAFE)}")
        text = SCHEME + ";".join(path)
        return text + ("?" + "&".join(query) if query else "")

    def __str__(self) -> str:
        return self.to_uri()


def _decode_text(name: str, raw: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage(f"pkcs11 URI: {name} is not UTF-8") from None


def _split(part: str, separator: str, where: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not part:
        return pairs
    for item in part.split(separator):
        name, equals, raw = item.partition("=")
        if not equals or not name:
            raise MalformedMessage(f"pkcs11 URI: {where} attribute {item!r} is not name=value")
        pairs.append((name.lower(), raw))
    return pairs


def _check_raw(raw: str, safe: str, name: str) -> None:
    """Reject characters RFC 7512 requires to be percent-encoded."""
    for index, char in enumerate(raw):
        if char == "%":
            pair = raw[index + 1 : index + 3]
            if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                raise MalformedMessage(f"pkcs11 URI: {name} has a bad percent-escape")
        elif not (char.isascii() and (char.isalnum() or char in "-._~" + safe)):
            raise MalformedMessage(f"pkcs11 URI: {name} has an unencoded {char!r}")


def parse_pkcs11_uri(text: str) -> PKCS11URI:
    """Parse an RFC 7512 URI, or raise ``MalformedMessage`` saying what is wrong."""
    if text[: len(SCHEME)].lower() != SCHEME:
        raise MalformedMessage("not a pkcs11: URI")
    path, _, query = text[len(SCHEME) :].partition("?")
    values: dict[str, Any] = {}  # text attributes, checked by the dataclass
    seen: set[str] = set()
    object_id: bytes | None = None
    slot_id: int | None = None
    for table, pairs, safe in (
        (_PATH_ATTRS, _split(path, ";", "path"), _PATH_SAFE),
        (_QUERY_ATTRS, _split(query, "&", "query"), _QUERY_SAFE),
    ):
        for name, raw in pairs:
            if name.startswith("x-"):
                continue  # vendor-specific attribute (RFC 7512 §2.3)
            field = table.get(name)
            if field is None:
                raise MalformedMessage(f"pkcs11 URI: unknown attribute {name!r}")
            if field in seen:
                raise MalformedMessage(f"pkcs11 URI: attribute {name!r} given twice")
            seen.add(field)
            _check_raw(raw, safe, name)
            if field == "id":
                object_id = unquote_to_bytes(raw)
            elif field == "slot_id":
                digits = _decode_text(name, raw)
                if not digits.isascii() or not digits.isdigit():
                    raise MalformedMessage("pkcs11 URI: slot-id must be a decimal integer")
                slot_id = int(digits)
            else:
                values[field] = _decode_text(name, raw)
    return PKCS11URI(id=object_id, slot_id=slot_id, **values)
