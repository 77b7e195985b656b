"""EnvelopedData / AuthEnvelopedData build and decrypt (RFC 5652 §6, RFC 5083/5084)."""

from __future__ import annotations

import pytest
from asn1crypto import cms

from caducee.crypto.algorithms import ContentEncryption, KeyTransport
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.errors import (
    CertificateError,
    CryptoError,
    DecryptionFailed,
    MalformedMessage,
    NoRecipientForKey,
    UnsupportedAlgorithm,
)

from .conftest import SyntheticPKI, flip

CONTENT = b"Content-Type: text/plain\r\n\r\nHPRIM SYNTHETIQUE\r\n" * 7


@pytest.mark.parametrize("encryption", list(ContentEncryption))
@pytest.mark.parametrize("transport", list(KeyTransport))
def test_round_trip_two_recipients(
    pki: SyntheticPKI, encryption: ContentEncryption, transport: KeyTransport
) -> None:
    rcpts = [pki["rcpt1_rsa"], pki["rcpt2_rsa"]]
    der = envelope(CONTENT, [r.cert for r in rcpts], encryption=encryption, key_transport=transport)
    kind = cms.ContentInfo.load(der)["content_type"].native
    assert kind == ("authenticated_enveloped_data" if encryption.is_aead else "enveloped_data")
    for r in rcpts:
        assert decrypt_enveloped(der, r.cert, r.key) == CONTENT


def test_empty_content(pki: SyntheticPKI) -> None:
    r = pki["rcpt1_rsa"]
    for enc in ContentEncryption:
        assert decrypt_enveloped(envelope(b"", [r.cert], encryption=enc), r.cert, r.key) == b""


def test_not_a_recipient(pki: SyntheticPKI) -> None:
    der = envelope(CONTENT, [pki["rcpt1_rsa"].cert])
    with pytest.raises(NoRecipientForKey):
        decrypt_enveloped(der, pki["rcpt2_rsa"].cert, pki["rcpt2_rsa"].key)


@pytest.mark.parametrize("encryption", list(ContentEncryption))
def test_wrong_key_one_message(pki: SyntheticPKI, encryption: ContentEncryption) -> None:
    """Bleichenbacher hygiene: v1.5 and OAEP unwrap failures look exactly the same."""
    r1, r2 = pki["rcpt1_rsa"], pki["rcpt2_rsa"]
    messages = set()
    for transport in KeyTransport:
        der = envelope(CONTENT, [r1.cert], encryption=encryption, key_transport=transport)
        for _ in range(3):
            try:
                out = decrypt_enveloped(der, r1.cert, r2.key)
            except DecryptionFailed as exc:
                messages.add(str(exc))
            else:
                # CBC has no integrity: the random key of an implicit rejection leaves valid
                # padding about once in 256 tries; the bytes are garbage (the inner signature
                # refuses them), never the content. GCM always refuses.
                assert encryption.value.endswith("_cbc") and out != CONTENT
    assert len(messages) == 1


def test_ec_recipient_refused(pki: SyntheticPKI) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        envelope(CONTENT, [pki["rcpt1_ec"].cert])


def test_no_recipient(pki: SyntheticPKI) -> None:
    with pytest.raises(CertificateError):
        envelope(CONTENT, [])


def _relabel(der: bytes, algorithm: dict[str, object]) -> bytes:
    info = cms.ContentInfo.load(der)
    info["content"]["encrypted_content_info"]["content_encryption_algorithm"] = algorithm
    out: bytes = info.dump(force=True)
    return out


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ({"algorithm": "tripledes_3key", "parameters": b"\x00" * 8}, "tripledes"),
        ({"algorithm": "des", "parameters": b"\x00" * 8}, "des"),
        ({"algorithm": "rc2", "parameters": {"rc2_parameter_version": 58, "iv": b"\0" * 8}}, "rc2"),
    ],
)
def test_weak_ciphers_refused_by_name(
    pki: SyntheticPKI, algorithm: dict[str, object], name: str
) -> None:
    r = pki["rcpt1_rsa"]
    der = _relabel(envelope(CONTENT, [r.cert]), algorithm)
    with pytest.raises(UnsupportedAlgorithm, match=name):
        decrypt_enveloped(der, r.cert, r.key)


def test_not_enveloped(pki: SyntheticPKI) -> None:
    info = cms.ContentInfo({"content_type": "data", "content": b"plain"})
    with pytest.raises(MalformedMessage):
        decrypt_enveloped(info.dump(), pki["rcpt1_rsa"].cert, pki["rcpt1_rsa"].key)


@pytest.mark.parametrize("mask", [0x01, 0xFF])
def test_gcm_every_flipped_byte_is_caught(pki: SyntheticPKI, mask: int) -> None:
    """AuthEnvelopedData, one recipient: every single-byte change is a typed error.

    (EnvelopedData with AES-CBC has no integrity of its own, by design of RFC 5652: its
    flips are caught by the inner signature, see test_smime.)
    """
    r = pki["rcpt1_rsa"]
    der = envelope(b"small content", [r.cert], encryption=ContentEncryption.AES256_GCM)
    for position in range(len(der)):
        with pytest.raises(CryptoError):
            decrypt_enveloped(flip(der, position, mask), r.cert, r.key)
