"""Random and mutated DER / BER / MIME fed to every parser: only CryptoError may escape."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.crypto._asn1 import to_der
from caducee.crypto.algorithms import ContentEncryption
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import sign_data
from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.crypto.smime import build_smime, open_smime, sign_smime, verify_smime_signed

from .conftest import FakeValidator, SyntheticPKI, _build_pki, inner_message

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def samples(pki: SyntheticPKI) -> dict[str, bytes]:
    """Valid inputs of every kind (BER ones come from openssl -stream in the interop tests)."""
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    e = pki["sender_ec"]
    inner = inner_message(e.email, r.email, "x\n")
    return {
        "signed": sign_data(b"fuzz", e.cert, e.key),
        "detached": sign_data(b"fuzz", s.cert, s.key, detached=True),
        "cbc": envelope(b"fuzz", [r.cert]),
        "gcm": envelope(b"fuzz", [r.cert], encryption=ContentEncryption.AES256_GCM),
        "smime": build_smime(inner, e.cert, e.key, [r.cert]),
        "smime-signed": sign_smime(inner, e.cert, e.key),
    }


def _parsers(pki: SyntheticPKI, validator: FakeValidator) -> list[Callable[[bytes], object]]:
    r = pki["rcpt1_rsa"]
    return [
        verify_signed_data,
        lambda d: verify_signed_data(d, detached_content=b"fuzz"),
        lambda d: decrypt_enveloped(d, r.cert, r.key),
        to_der,
        lambda d: open_smime(d, r.cert, r.key, validator),
        lambda d: verify_smime_signed(d, validator),
    ]


def _only_typed_errors(parsers: list[Callable[[bytes], object]], data: bytes) -> None:
    for parse in parsers:
        with contextlib.suppress(CryptoError):  # anything else fails the test
            parse(data)


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0x80, 0xFF, 0x30, 0xA0, 0x24, 0x04]))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "dup":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 40))]
    return bytes(data)


@pytest.fixture(scope="module")
def parsers(pki: SyntheticPKI, validator: FakeValidator) -> list[Callable[[bytes], object]]:
    return _parsers(pki, validator)


@SETTINGS
@given(data=st.binary(max_size=600))
def test_random_bytes(parsers: list[Callable[[bytes], object]], data: bytes) -> None:
    _only_typed_errors(parsers, data)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["signed", "detached", "cbc", "gcm"]))
def test_mutated_der(
    parsers: list[Callable[[bytes], object]],
    samples: dict[str, bytes],
    data: st.DataObject,
    kind: str,
) -> None:
    _only_typed_errors(parsers[:4], data.draw(mutated(samples[kind])))


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["smime", "smime-signed"]))
def test_mutated_mime(
    parsers: list[Callable[[bytes], object]],
    samples: dict[str, bytes],
    data: st.DataObject,
    kind: str,
) -> None:
    _only_typed_errors(parsers[4:], data.draw(mutated(samples[kind])))


@SETTINGS
@given(data=st.data())
def test_mutated_der_inside_mime(
    parsers: list[Callable[[bytes], object]], samples: dict[str, bytes], data: st.DataObject
) -> None:
    head, body = samples["smime"].split(b"\r\n\r\n", 1)
    der = data.draw(mutated(base64.b64decode(body)))
    _only_typed_errors(parsers[4:5], head + b"\r\n\r\n" + base64.encodebytes(der))


def test_ber_from_another_pki_is_typed(tmp_path: Path, pki: SyntheticPKI) -> None:
    """A message for someone else's certificate: NoRecipientForKey, not a crash."""
    other = _build_pki(tmp_path)
    der = envelope(b"x", [other["rcpt1_rsa"].cert])
    with pytest.raises(CryptoError):
        decrypt_enveloped(der, pki["rcpt1_rsa"].cert, pki["rcpt1_rsa"].key)
