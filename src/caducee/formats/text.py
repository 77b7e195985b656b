"""Decode text written by practice software and normalise its line endings.

Order of trust: a byte-order mark (UTF-8, UTF-16 LE/BE); strict UTF-8; then the single-byte
encodings French software uses (Windows-1252, ISO-8859-1, MacRoman), scored by how plausible
the French text they give is. Bytes with NUL or other control characters that no encoding
explains raise ``UnknownEncoding`` (e.g. UTF-16 without a BOM).
"""

import codecs
import re
from dataclasses import dataclass

from caducee.formats.errors import UnknownEncoding

__all__ = ["DecodedText", "decode_text", "normalise_newlines", "to_text"]

#: Control characters other than tab, newlines, form feed and DOS end-of-file (0x1A).
_BAD_CONTROLS_RE = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f-\x9f]")
_NON_ASCII_RE = re.compile("[^\x00-\x7f]")

#: Non-ASCII characters that are common in French text (lab reports included).
_FRENCH = frozenset("àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ°µ€«»’ §²³±·½¼×÷")
#: Upper-case accented letters: plausible alone, implausible inside a lower-case word.
_UPPER_ACCENTED = frozenset("ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ")

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SINGLE_BYTE = ("cp1252", "iso-8859-1", "mac_roman")
#: How much more plausible a later candidate must be to beat Windows-1252 (the common case).
_MARGIN = 6


@dataclass(frozen=True)
class DecodedText:
    """Text with ``\\n`` line endings, and the encoding that explained the bytes."""

    text: str
    encoding: str
    bom: bool = False


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF; a trailing DOS end-of-file mark is dropped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")


def _has_bad_controls(text: str) -> bool:
    return _BAD_CONTROLS_RE.search(text) is not None


def _score(text: str) -> tuple[int, bool]:
    """Higher is more plausible French: common accented letters gain, oddities lose.

    The flag says the text has no oddity at all (no later candidate could do better).
    """
    score, perfect = 0, True
    for match in _NON_ASCII_RE.finditer(text):
        ch = match.group()
        if ch in _FRENCH:
            score += 2
            start = match.start()
            if ch in _UPPER_ACCENTED and start and text[start - 1].islower():
                score -= 5
                perfect = False
        else:
            score -= 3
            perfect = False
    return score, perfect


def decode_text(data: bytes) -> DecodedText:
    """Decode ``data`` (see the module docstring); raise ``UnknownEncoding`` if nothing fits."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnknownEncoding(
                    "Texte illisible après la marque d'ordre des octets / "
                    "text unreadable after its byte-order mark",
                    field="encoding",
                ) from exc
            text = text.removeprefix("\ufeff")
            if _has_bad_controls(text):
                raise UnknownEncoding(
                    "Caractères de contrôle inattendus / unexpected control characters",
                    field="encoding",
                )
            return DecodedText(normalise_newlines(text), encoding, bom=True)
    if b"\x00" in data:
        raise UnknownEncoding(
            "Octets nuls sans marque d'ordre (UTF-16 sans BOM ?) / "
            "NUL bytes without a byte-order mark (UTF-16 without BOM?)",
            field="encoding",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if not _has_bad_controls(text):
            return DecodedText(normalise_newlines(text), "utf-8")
        raise UnknownEncoding(
            "Caractères de contrôle inattendus / unexpected control characters",
            field="encoding",
        )
    best: tuple[int, str, str] | None = None
    for encoding in _SINGLE_BYTE:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _has_bad_controls(text):
            continue
        score, perfect = _score(text)
        if best is None or score > best[0] + _MARGIN:
            best = (score, encoding, text)
        if perfect and best[1] == encoding:
            break
    if best is None:
        raise UnknownEncoding(
            "Aucun encodage connu n'explique ces octets / no known encoding explains these bytes",
            field="encoding",
        )
    return DecodedText(normalise_newlines(best[2]), best[1])


def to_text(data: bytes | str) -> str:
    """``str`` input gets its newlines normalised; ``bytes`` input is decoded first."""
    if isinstance(data, str):
        return normalise_newlines(data.removeprefix("\ufeff"))
    return decode_text(data).text
