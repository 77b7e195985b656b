"""The charter's digest: one spelling of a text, one digest (what a manager signs)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from caducee.policy.charter import charter_digest, normalise_charter


def test_digest_is_sha256_of_the_normalised_utf8() -> None:
    text = "Charte de bon usage\r\nPas de messages en nombre.  \r\n"
    expected = hashlib.sha256(b"Charte de bon usage\nPas de messages en nombre.\n").hexdigest()
    assert charter_digest(text) == expected


def test_composed_and_decomposed_accents_sign_the_same() -> None:
    assert charter_digest("d\u00e9ontologie") == charter_digest("de\u0301ontologie")


@given(st.text(max_size=300))
def test_normalising_is_idempotent(text: str) -> None:
    once = normalise_charter(text)
    assert normalise_charter(once) == once
    assert charter_digest(once) == charter_digest(text)
