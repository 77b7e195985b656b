"""The relay's only look at a body: an encrypted CMS ContentInfo (RFC 5652 §3, RFC 5083)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.relay import NotSMIME, check_encrypted_cms
from tests.relay.cms_samples import fake_enveloped, fake_signed


def test_enveloped_and_auth_enveloped_data_pass() -> None:
    assert check_encrypted_cms(fake_enveloped()) == "enveloped_data"
    assert check_encrypted_cms(fake_enveloped(auth=True)) == "authenticated_enveloped_data"


@pytest.mark.parametrize(
    "body",
    [
        fake_signed(),  # valid CMS, but in clear
        fake_enveloped() + b"\x00",  # trailing bytes
        fake_enveloped()[:-5],  # truncated
        b"",
        b"\x30\x00",
        b"Content-Type: application/pkcs7-mime\r\n\r\nMIIB",  # MIME text, not DER
    ],
)
def test_everything_else_is_refused(body: bytes) -> None:
    with pytest.raises(NotSMIME):
        check_encrypted_cms(body)


@given(st.binary(max_size=512))
def test_garbage_only_ever_raises_not_smime(body: bytes) -> None:
    with contextlib.suppress(NotSMIME):
        check_encrypted_cms(body)


def _slow(body: bytes) -> str | None:
    """The reference answer: asn1crypto alone."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(body, strict=True)
        name = info["content_type"].native
        info["content"]["version"].native  # noqa: B018
    except Exception:
        return None
    return str(name)


def _fast(body: bytes) -> str | None:
    from caducee.crypto.cms_peek import peek_content_type
    from caducee.crypto.errors import MalformedMessage

    try:
        return peek_content_type(body)
    except MalformedMessage:
        return None


@given(
    st.sampled_from([fake_enveloped(64), fake_enveloped(64, auth=True), fake_signed()]),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3),
    st.integers(0, 8),
)
def test_the_fast_header_reader_agrees_with_asn1crypto(
    body: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(body[: len(body) - cut])
    for position, value in flips:
        if position < len(mutated):
            mutated[position] = value
    assert _fast(bytes(mutated)) == _slow(bytes(mutated))
