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
