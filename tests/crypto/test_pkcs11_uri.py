"""RFC 7512 ``pkcs11:`` URIs: the RFC's examples, errors, and round trips (hypothesis)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.crypto.errors import MalformedMessage
from caducee.crypto.pkcs11_uri import OBJECT_TYPES, PKCS11URI, parse_pkcs11_uri


def test_rfc7512_examples() -> None:
    """Examples from RFC 7512 §3."""
    uri = parse_pkcs11_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
        "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;"
        "type=cert;id=%69%95%3E%5C%F4%BE%2D%D3%75%3F%15%07?pin-source=file:/etc/token"
    )
    assert uri.token == "The Software PKCS#11 Softtoken"
    assert uri.manufacturer == "Snake Oil, Inc."
    assert uri.model == "1.0"
    assert uri.object == "my-certificate"
    assert uri.type == "cert"
    assert uri.id == bytes.fromhex("69953e5cf4be2dd3753f1507")
    assert uri.pin_source == "file:/etc/token"
    odd = parse_pkcs11_uri("pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1")
    assert odd.token == "Name with a small A with acute: á"
    assert parse_pkcs11_uri("pkcs11:") == PKCS11URI()
    lib = parse_pkcs11_uri(
        "pkcs11:slot-description=Sun%20Metaslot;library-manufacturer=Snake%20Oil,%20Inc."
        "?module-path=/usr/lib/libsofthsm2.so&x-vendor=1"
    )
    assert lib.slot_description == "Sun Metaslot"
    assert lib.module_path == "/usr/lib/libsofthsm2.so"


def test_softhsm_shapes() -> None:
    uri = parse_pkcs11_uri(
        "PKCS11:token=CPS-TEST;object=cps-auth;type=private;serial=abc;slot-id=7;id=%01"
        "?pin-value=123456&module-path=/usr/lib/softhsm/libsofthsm2.so"
    )
    assert (uri.token, uri.object, uri.type, uri.slot_id, uri.id) == (
        "CPS-TEST",
        "cps-auth",
        "private",
        7,
        b"\x01",
    )
    assert uri.pin_value == "123456"
    assert "123456" not in repr(uri)
    assert "pin-value" not in uri.to_uri()
    assert "pin-value=123456" in uri.to_uri(include_pin=True)


@pytest.mark.parametrize(
    "text",
    [
        "http://x",
        "pkcs11:token",
        "pkcs11:=x",
        "pkcs11:token=a;token=b",
        "pkcs11:color=blue",
        "pkcs11:type=key",
        "pkcs11:slot-id=-1",
        "pkcs11:slot-id=x",
        "pkcs11:token=%zz",
        "pkcs11:token=%FF",
        "pkcs11:token=a b",
        "pkcs11:token=a/b",
        "pkcs11:?pin-value=1&pin-value=2",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_pkcs11_uri(text)


_text = st.none() | st.text(max_size=20)
uris = st.builds(
    PKCS11URI,
    token=_text,
    manufacturer=_text,
    model=_text,
    serial=_text,
    slot_description=_text,
    slot_id=st.none() | st.integers(min_value=0, max_value=2**64),
    object=_text,
    id=st.none() | st.binary(max_size=20),
    type=st.none() | st.sampled_from(sorted(OBJECT_TYPES)),
    pin_source=_text,
    pin_value=_text,
    module_path=_text,
)


@given(uris)
def test_round_trip(uri: PKCS11URI) -> None:
    assert parse_pkcs11_uri(uri.to_uri(include_pin=True)) == uri


@given(st.text(max_size=60))
def test_parse_never_leaks_other_errors(tail: str) -> None:
    with contextlib.suppress(MalformedMessage):
        parse_pkcs11_uri("pkcs11:" + tail)
