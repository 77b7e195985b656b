"""Decoding what practice software writes: BOMs, UTF-8, Latin-1/1252, MacRoman, newlines."""

import codecs

import pytest

from caducee.formats.errors import FormatError, UnknownEncoding
from caducee.formats.text import decode_text, normalise_newlines, to_text

FRENCH = "Hémoglobine glyquée : résultat contrôlé à 37 °C, µg/l, prélèvement reçu.\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (FRENCH.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + FRENCH.encode("utf-8"), "utf-8-sig"),
        (FRENCH.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"), "utf-16"),
        (FRENCH.encode("iso-8859-1"), "cp1252"),
        (FRENCH.encode("cp1252"), "cp1252"),
        (FRENCH.encode("mac_roman"), "mac_roman"),
    ],
)
def test_each_encoding_gives_the_french_text(data: bytes, encoding: str) -> None:
    decoded = decode_text(data)
    assert decoded.text == FRENCH
    assert decoded.encoding == encoding


def test_cp1252_specific_characters() -> None:
    text = "Cœur : coût 12 € — « bien »\n"
    assert decode_text(text.encode("cp1252")).text == text


def test_bytes_undefined_in_cp1252_fall_back_to_macroman() -> None:
    # 0x8D and 0x90 are undefined in Windows-1252: MacRoman explains them (ç, ê).
    assert decode_text(b"Gar\x8don \x90tre\n").text == "Garçon être\n"


@pytest.mark.parametrize("nl", ["\r\n", "\r", "\n"])
def test_newlines_are_normalised(nl: str) -> None:
    assert decode_text(f"a{nl}b{nl}".encode()).text == "a\nb\n"


def test_mixed_newlines_and_dos_eof() -> None:
    assert normalise_newlines("a\r\nb\rc\nd\x1a") == "a\nb\nc\nd"


def test_utf16_without_bom_is_refused() -> None:
    with pytest.raises(UnknownEncoding) as info:
        decode_text(FRENCH.encode("utf-16-le"))
    assert info.value.field == "encoding"
    assert info.value.line is None


@pytest.mark.parametrize("data", [b"\x00\x01\x02", bytes(range(32)), b"ok\x07bell"])
def test_control_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(UnknownEncoding):
        decode_text(data)


def test_broken_utf16_after_bom_is_refused() -> None:
    with pytest.raises(FormatError):
        decode_text(codecs.BOM_UTF16_LE + b"\x00\xd8")  # lone surrogate


def test_to_text_accepts_str_and_drops_bom() -> None:
    assert to_text("\ufeffa\r\nb") == "a\nb"
    assert to_text(b"a\rb") == "a\nb"


def test_error_message_is_bilingual_and_carries_no_content() -> None:
    with pytest.raises(UnknownEncoding) as info:
        decode_text(b"SECRET\x00NAME")
    assert "SECRET" not in str(info.value)
    assert "/" in info.value.reason


def test_ambiguous_single_byte_prefers_windows_1252() -> None:
    # 0xA1 is '¡' in Windows-1252 and '°' in MacRoman: too little evidence to leave 1252.
    assert decode_text(b"Temp\xa1\n").encoding == "cp1252"
