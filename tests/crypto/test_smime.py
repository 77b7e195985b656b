"""RFC 8551 sign-then-encrypt messages: build, open, signed-only, sender checks, tampering."""

from __future__ import annotations

import base64
import email
import email.policy
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from caducee.crypto.algorithms import ContentEncryption, KeyTransport
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import sign_data
from caducee.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    KeySourceError,
    MalformedMessage,
    NoRecipientForKey,
    SenderMismatch,
    TokenAbsent,
    UntrustedCertificate,
)
from caducee.crypto.smime import (
    NEUTRAL_SUBJECT,
    build_smime,
    open_smime,
    sign_smime,
    verify_smime_signed,
)

from .conftest import FakeValidator, SyntheticPKI, flip, inner_message


def _payload(message: bytes) -> bytes:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    data = parsed.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def _with_payload(message: bytes, der: bytes) -> bytes:
    head = message.split(b"\r\n\r\n", 1)[0]
    return head + b"\r\n\r\n" + base64.encodebytes(der).replace(b"\n", b"\r\n")


@pytest.mark.parametrize("sender", ["sender_rsa", "sender_ec"])
@pytest.mark.parametrize("encryption", [ContentEncryption.AES256_CBC, ContentEncryption.AES256_GCM])
def test_round_trip(
    pki: SyntheticPKI, validator: FakeValidator, sender: str, encryption: ContentEncryption
) -> None:
    s, r1, r2 = pki[sender], pki["rcpt1_rsa"], pki["rcpt2_rsa"]
    inner = inner_message(s.email, r1.email)
    out = build_smime(inner, s.cert, s.key, [r1.cert, r2.cert], encryption=encryption)
    outer = email.message_from_bytes(out, policy=email.policy.default)
    assert outer["Subject"] == NEUTRAL_SUBJECT
    assert outer.get_content_type() == "application/pkcs7-mime"
    assert outer.get_param("smime-type") == (
        "authEnveloped-data" if encryption.is_aead else "enveloped-data"
    )
    assert b"FICTIF" not in out and outer["From"].addresses[0].addr_spec == s.email
    for r in (r1, r2):
        opened = open_smime(out, r.cert, r.key, validator)
        assert opened.sender == s.email
        assert opened.signer_certificate == s.cert
        assert opened.message["Subject"] == "Résultats de M. FICTIF"
        assert opened.message.get_content() == "Bonjour,\nrésultats joints.\n"
        assert opened.content == inner.replace(b"\n", b"\r\n")
        assert opened.chain.certificate == s.cert
        assert opened.protected_headers


def test_not_for_me(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s = pki["sender_rsa"]
    out = build_smime(inner_message(s.email, "x@y.test"), s.cert, s.key, [pki["rcpt1_rsa"].cert])
    with pytest.raises(NoRecipientForKey):
        open_smime(out, pki["rcpt2_rsa"].cert, pki["rcpt2_rsa"].key, validator)


def test_inner_from_must_be_signer(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    forged = inner_message(r.email, r.email)  # claims to come from rcpt1, signed by sender
    out = build_smime(forged, s.cert, s.key, [r.cert])
    with pytest.raises(SenderMismatch):
        open_smime(out, r.cert, r.key, validator)


def test_from_compare_is_case_insensitive(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    out = build_smime(inner_message(s.email.upper(), r.email), s.cert, s.key, [r.cert])
    assert open_smime(out, r.cert, r.key, validator).sender == s.email


def test_two_from_addresses_refused(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    inner = inner_message(s.email, r.email).replace(b"From: ", b"From: a@b.test, ", 1)
    with pytest.raises(SenderMismatch):
        open_smime(build_smime(inner, s.cert, s.key, [r.cert]), r.cert, r.key, validator)


def test_validator_is_asked(pki: SyntheticPKI) -> None:
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    out = build_smime(inner_message(s.email, r.email), s.cert, s.key, [r.cert])
    with pytest.raises(UntrustedCertificate):
        open_smime(out, r.cert, r.key, FakeValidator(s.cert))  # wrong trust anchor


def test_signed_only_multipart(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s = pki["sender_ec"]
    signed = sign_smime(inner_message(s.email, "a@b.test"), s.cert, s.key)
    assert b"multipart/signed" in signed and b"micalg=sha-256" in signed
    opened = verify_smime_signed(signed, validator)
    assert opened.sender == s.email
    assert opened.message["To"].addresses[0].addr_spec == "a@b.test"


def test_signed_only_opaque(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s = pki["sender_rsa"]
    entity = b"Content-Type: text/plain\r\n\r\nopaque body\r\n"
    der = sign_data(entity, s.cert, s.key)
    message = (
        f"From: {s.email}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(der)
    opened = verify_smime_signed(message, validator)
    assert opened.sender == s.email and opened.content == entity


def test_signed_only_with_wrong_outer_from(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s = pki["sender_rsa"]
    der = sign_data(b"Content-Type: text/plain\r\n\r\nx\r\n", s.cert, s.key)
    message = (
        b"From: someone@else.test\r\nContent-Type: application/pkcs7-mime; "
        b"smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(der)
    )
    with pytest.raises(SenderMismatch):
        verify_smime_signed(message, validator)


def test_plain_message_refused(pki: SyntheticPKI, validator: FakeValidator) -> None:
    plain = inner_message("a@b.test", "c@d.test")
    with pytest.raises(MalformedMessage):
        open_smime(plain, pki["rcpt1_rsa"].cert, pki["rcpt1_rsa"].key, validator)
    with pytest.raises(MalformedMessage):
        verify_smime_signed(plain, validator)


def test_signed_entity_every_flipped_byte(pki: SyntheticPKI, validator: FakeValidator) -> None:
    """Every byte of the signed part of a multipart/signed message is covered."""
    s = pki["sender_ec"]
    signed = sign_smime(inner_message(s.email, "a@b.test", "ok\n"), s.cert, s.key)
    start = signed.index(b"Content-Type: message/rfc822")
    end = signed.index(b"\r\n--", start)
    for position in range(start, end):
        with pytest.raises(CryptoError):
            verify_smime_signed(flip(signed, position, 0x01), validator)


def _flipped_positions(size: int) -> list[int]:
    rng = random.Random(8551)
    return sorted(set(rng.sample(range(size), 150)) | set(range(size - 64, size)))


def test_gcm_enveloped_flipped_bytes(pki: SyntheticPKI, validator: FakeValidator) -> None:
    """AuthEnvelopedData: every flip (sampled positions) is a typed error."""
    s, r = pki["sender_ec"], pki["rcpt1_rsa"]
    out = build_smime(
        inner_message(s.email, r.email, "court\n"),
        s.cert,
        s.key,
        [r.cert],
        encryption=ContentEncryption.AES256_GCM,
    )
    der = _payload(out)
    for position in _flipped_positions(len(der)):
        for mask in (0x01, 0x80):
            with pytest.raises(CryptoError):
                open_smime(_with_payload(out, flip(der, position, mask)), r.cert, r.key, validator)


def test_cbc_enveloped_flipped_bytes(pki: SyntheticPKI, validator: FakeValidator) -> None:
    """EnvelopedData (AES-CBC): a flip is a typed error, or changes nothing that is delivered.

    CBC has no integrity (RFC 5652 §6); a flip that garbles only the unsigned MIME framing
    (the multipart preamble, the signature part's headers) is harmless: the content and the
    signer delivered are the original ones. Any change to the signed content is caught.
    """
    s, r = pki["sender_ec"], pki["rcpt1_rsa"]
    out = build_smime(inner_message(s.email, r.email, "court\n"), s.cert, s.key, [r.cert])
    original = open_smime(out, r.cert, r.key, validator)
    der = _payload(out)
    harmless = 0
    for position in _flipped_positions(len(der)):
        for mask in (0x01, 0x80):
            try:
                opened = open_smime(
                    _with_payload(out, flip(der, position, mask)), r.cert, r.key, validator
                )
            except CryptoError:
                continue
            harmless += 1
            assert opened.content == original.content
            assert opened.signer_certificate == original.signer_certificate
            assert opened.sender == original.sender
    assert harmless < 100


class TokenLikeRSAKey(rsa.RSAPrivateKey):
    """Stands in for a PKCS#11 key: only sign / decrypt / public_key / key_size are allowed."""

    def __init__(self, inner: object, fail: Exception | None = None) -> None:
        assert isinstance(inner, rsa.RSAPrivateKey)
        self._inner, self._fail = inner, fail

    def sign(self, data: bytes, padding: Any, algorithm: Any) -> bytes:
        if self._fail is not None:
            raise self._fail
        return self._inner.sign(data, padding, algorithm)

    def decrypt(self, ciphertext: bytes, padding: Any) -> bytes:
        if self._fail is not None:
            raise self._fail
        return self._inner.decrypt(ciphertext, padding)

    @property
    def key_size(self) -> int:
        return self._inner.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._inner.public_key()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise AssertionError("a token key never gives its private numbers")

    def private_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a token key is never exported")

    def __copy__(self) -> TokenLikeRSAKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenLikeRSAKey:
        return self


def test_token_like_keys(pki: SyntheticPKI, validator: FakeValidator) -> None:
    """The key-source contract: a token key signs and unwraps without being exported."""
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    sender_key, rcpt_key = TokenLikeRSAKey(s.key), TokenLikeRSAKey(r.key)
    for transport in KeyTransport:
        out = build_smime(
            inner_message(s.email, r.email), s.cert, sender_key, [r.cert], key_transport=transport
        )
        assert open_smime(out, r.cert, rcpt_key, validator).sender == s.email


def test_token_failures(pki: SyntheticPKI, validator: FakeValidator) -> None:
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    with pytest.raises(KeySourceError):
        build_smime(
            b"From: a@b.test\n\nx\n",
            s.cert,
            TokenLikeRSAKey(s.key, RuntimeError("CKR_DEVICE_ERROR")),
            [r.cert],
        )
    with pytest.raises(TokenAbsent):
        sign_data(b"x", s.cert, TokenLikeRSAKey(s.key, TokenAbsent("no card")))
    out = build_smime(inner_message(s.email, r.email), s.cert, s.key, [r.cert])
    with pytest.raises(DecryptionFailed):  # e.g. CKR_GENERAL_ERROR on a bad unwrap
        open_smime(
            out,
            r.cert,
            TokenLikeRSAKey(r.key, RuntimeError("CKR_GENERAL_ERROR")),
            validator,
        )
    with pytest.raises(TokenAbsent):
        open_smime(out, r.cert, TokenLikeRSAKey(r.key, TokenAbsent("no card")), validator)


def test_unwrapped_signed_body_uses_outer_from(pki: SyntheticPKI, validator: FakeValidator) -> None:
    """A peer that signs only the body (no message/rfc822): the outer From is checked."""
    s, r = pki["sender_rsa"], pki["rcpt1_rsa"]
    body = b"Content-Type: text/plain\r\n\r\ncorps seul\r\n"
    entity = (
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(sign_data(body, s.cert, s.key))
    )
    der = envelope(entity, [r.cert])
    for outer_from in (s.email, r.email):
        message = (
            f"From: {outer_from}\r\nContent-Type: application/pkcs7-mime; "
            "smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ).encode() + base64.encodebytes(der)
        if outer_from == s.email:
            opened = open_smime(message, r.cert, r.key, validator)
            assert not opened.protected_headers and opened.content == body
        else:
            with pytest.raises(SenderMismatch):
                open_smime(message, r.cert, r.key, validator)
