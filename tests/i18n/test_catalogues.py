"""Every message exists in French and English, and negotiation prefers French."""

from __future__ import annotations

import string

import pytest

from caducee.i18n import CATALOGUES, negotiate, translator


def test_catalogues_have_the_same_ids_and_placeholders() -> None:
    french, english = CATALOGUES["fr"], CATALOGUES["en"]
    assert set(french) == set(english)
    for key in french:
        fields_fr = {f for _, f, _, _ in string.Formatter().parse(french[key]) if f}
        fields_en = {f for _, f, _, _ in string.Formatter().parse(english[key]) if f}
        assert fields_fr == fields_en, key


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        (None, None, "fr"),
        ("en-GB,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", None, "fr"),
        ("de-DE,de;q=0.9", None, "fr"),
        ("de-DE,en-US;q=0.5", None, "en"),
        ("en-US", "fr", "fr"),
        ("fr", "xx", "fr"),
        ("***,;;", None, "fr"),
    ],
)
def test_negotiation(header: str | None, explicit: str | None, expected: str) -> None:
    assert negotiate(header, explicit) == expected


def test_translator_formats_values() -> None:
    assert "disque plein" in translator("fr")("status.not_ready", reason="disque plein")
    assert translator("en")("status.title") == "Service status"
