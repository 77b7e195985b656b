"""``_mime.Headers`` answers as ``email`` (compat32) does, on plain and on odd header blocks.

The fast reader handles the plain shape and hands everything else to ``email.parser``; the
answers must be the same either way, which is what these properties check.
"""

from __future__ import annotations

import base64
import email.policy
from email.parser import BytesParser
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.crypto._mime import Headers, addresses, crlf, decode, head_of, split
from caducee.crypto.errors import CryptoError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = ("Content-Type", "content-type", "From", "To", "Content-Transfer-Encoding", "X-A")
PARAMS = ("boundary", "smime-type", "name", "protocol", "micalg", "charset", "x")

_token = st.text("abcXYZ019-._+/=;\"'\\ *<>()", min_size=0, max_size=12)
_value = st.one_of(
    _token,
    st.builds(lambda v: f'"{v}"', _token),
    st.text(st.characters(min_codepoint=1, max_codepoint=0x17F), max_size=12),
)


@st.composite
def content_types(draw: st.DrawFn) -> str:
    ctype = draw(
        st.sampled_from(
            ["multipart/signed", "application/pkcs7-mime", "Text/Plain", "text", "a/b/c", " x/y "]
        )
    )
    for _ in range(draw(st.integers(0, 4))):
        sep = draw(st.sampled_from(["; ", ";", " ; ", ";\t", ";;", " "]))
        name = draw(st.sampled_from([*PARAMS, "BOUNDARY", "name*", "name*0", ""]))
        eq = draw(st.sampled_from(["=", " = ", "", "=="]))
        ctype += f"{sep}{name}{eq}{draw(_value)}"
    return ctype


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from([*NAMES, "Bad Name", "", "From "]))
        value = draw(st.one_of(content_types(), _value)) if "ype" in name else draw(_value)
        colon = draw(st.sampled_from([": ", ":", ":\t", ":  "]))
        lines.append(f"{name}{colon}{value}")
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from([" folded", "\tfolded", "x", ""])))
    eol = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return eol.join(lines).encode("utf-8", "surrogateescape")


def _reference(head: bytes) -> email.message.Message:
    return BytesParser(policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n", True)


def _same(head: bytes) -> None:
    ours, ref = Headers(head), _reference(head)
    assert ours.get_content_type() == ref.get_content_type()
    for param in (*PARAMS, "BOUNDARY"):
        try:
            expected = ref.get_param(param)
        except Exception:  # email fails on some RFC 2231 forms; we give a typed error
            with pytest.raises(CryptoError):
                ours.get_param(param)
            continue
        assert ours.get_param(param) == expected, param
    for name in NAMES:
        assert ours.get_all(name) == [str(v) for v in ref.get_all(name, [])], name
        assert ours.get(name) == (None if ref.get(name) is None else str(ref.get(name)))


@SETTINGS
@given(head=header_blocks())
def test_headers_agree_with_email(head: bytes) -> None:
    _same(head)


@SETTINGS
@given(ctype=content_types())
def test_content_type_agrees_with_email(ctype: str) -> None:
    _same(f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n".encode("utf-8", "surrogateescape"))


def test_plain_shapes_we_and_openssl_write() -> None:
    for head in (
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        b'micalg=sha-256; boundary="caducee-signed-0a1b"',
        b'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
        b"Content-Transfer-Encoding: base64",
        b'Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; '
        b'micalg="sha-256"; boundary="----9F3A"\nMIME-Version: 1.0',
    ):
        _same(head)
        assert Headers(head)._message is None  # read by the fast path


def test_split_blank_line_and_no_blank_line() -> None:
    headers, body = split(b"\r\nbody only")
    assert body == b"body only" and headers.get_content_type() == "text/plain"
    headers, body = split(b"Content-Type: a/b\n")
    assert body == b"" and headers.get_content_type() == "a/b"


@SETTINGS
@given(
    value=st.one_of(
        st.from_regex(r"[a-z0-9._+-]{1,8}@[a-z0-9-]{1,8}(\.[a-z0-9-]{1,5}){0,2}", fullmatch=True),
        st.text('ab.@<>" ,;:()\\-_+', max_size=20),
    )
)
def test_addresses_agree_with_getaddresses(value: str) -> None:
    assert addresses([value]) == [a for _, a in getaddresses([value]) if a]


@SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=40).map(base64.encodebytes),
        st.text("AQ/+=\r\n \t*", max_size=24).map(str.encode),
    )
)
def test_base64_as_strict_as_b64decode_validate(body: bytes) -> None:
    """The S/MIME part decoding accepts exactly what ``b64decode(validate=True)`` accepts."""
    headers = Headers(b"Content-Transfer-Encoding: base64")
    try:
        expected = base64.b64decode(body.translate(None, b" \t\r\n"), validate=True)
    except ValueError:
        with pytest.raises(CryptoError):
            decode(headers, body)
        return
    assert decode(headers, body) == expected


@SETTINGS
@given(head=header_blocks(), sep=st.sampled_from(["\n\n", "\r\n\r\n", "\n\r\n", ""]))
def test_head_of_cuts_where_split_does(head: bytes, sep: str) -> None:
    source = head + sep.encode() + b"body\nline\r\n\nmore"
    whole, _ = split(crlf(source))
    cut, _ = split(crlf(head_of(source)))
    for name in NAMES:
        assert whole.get_all(name) == cut.get_all(name)
