"""SignedData build and signature verification (RFC 5652 §5), our implementation both ways."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from asn1crypto import cms

from caducee.crypto._asn1 import to_der
from caducee.crypto.algorithms import DigestAlgorithm, SignatureScheme
from caducee.crypto.cms_sign import sign_data
from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import (
    CertificateMissing,
    CryptoError,
    MalformedMessage,
    SignatureInvalid,
    UnsupportedAlgorithm,
)
from caducee.crypto.trust import KeyPurpose

from .conftest import FakeValidator, SyntheticPKI, flip

SCHEMES = [
    ("sender_rsa", SignatureScheme.RSA_PKCS1V15),
    ("sender_rsa", SignatureScheme.RSA_PSS),
    ("sender_ec", SignatureScheme.ECDSA),
]


@pytest.mark.parametrize(("who", "scheme"), SCHEMES)
@pytest.mark.parametrize("digest", list(DigestAlgorithm))
@pytest.mark.parametrize("detached", [False, True])
def test_round_trip(
    pki: SyntheticPKI, who: str, scheme: SignatureScheme, digest: DigestAlgorithm, detached: bool
) -> None:
    party = pki[who]
    content = b"compte rendu SYNTHETIQUE\r\n" * 20
    der = sign_data(
        content,
        party.cert,
        party.key,
        digest=digest,
        scheme=scheme,
        detached=detached,
        extra_certs=[pki.ca.cert],
    )
    result = verify_signed_data(der, detached_content=content if detached else None)
    assert result.content == content
    assert result.signer_certificate == party.cert
    assert set(result.certificates) == {party.cert, pki.ca.cert}  # SET OF: DER order
    assert result.digest_algorithm is digest
    assert result.signature_scheme is scheme
    assert result.content_type == "1.2.840.113549.1.7.1"
    assert result.signing_time is not None
    now = datetime.datetime.now(datetime.UTC)
    assert abs((now - result.signing_time).total_seconds()) < 300


def test_signed_attributes(pki: SyntheticPKI) -> None:
    party = pki["sender_rsa"]
    der = sign_data(b"x", party.cert, party.key)
    attrs = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    names = {a["type"].native for a in attrs}
    assert names == {"content_type", "message_digest", "signing_time", "smime_capabilities"}


def test_result_is_frozen(pki: SyntheticPKI) -> None:
    party = pki["sender_ec"]
    result = verify_signed_data(sign_data(b"x", party.cert, party.key))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.content = b"y"  # type: ignore[misc]


def test_detached_needs_content(pki: SyntheticPKI) -> None:
    party = pki["sender_ec"]
    der = sign_data(b"abc", party.cert, party.key, detached=True)
    with pytest.raises(MalformedMessage):
        verify_signed_data(der)
    with pytest.raises(SignatureInvalid):
        verify_signed_data(der, detached_content=b"abd")


def test_attached_refuses_extra_content(pki: SyntheticPKI) -> None:
    party = pki["sender_ec"]
    with pytest.raises(MalformedMessage):
        verify_signed_data(sign_data(b"abc", party.cert, party.key), detached_content=b"abc")


def test_missing_certificate(pki: SyntheticPKI) -> None:
    party = pki["sender_rsa"]
    info = cms.ContentInfo.load(sign_data(b"abc", party.cert, party.key))
    info["content"]["certificates"] = []
    der = info.dump(force=True)
    with pytest.raises(CertificateMissing):
        verify_signed_data(der)
    assert verify_signed_data(der, extra_certs=[party.cert]).content == b"abc"


def test_scheme_key_mismatch(pki: SyntheticPKI) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        sign_data(b"x", pki["sender_ec"].cert, pki["sender_ec"].key, scheme=SignatureScheme.RSA_PSS)
    with pytest.raises(UnsupportedAlgorithm):
        sign_data(b"x", pki["sender_rsa"].cert, pki["sender_rsa"].key, scheme=SignatureScheme.ECDSA)


def test_sha1_signer_refused(pki: SyntheticPKI) -> None:
    party = pki["sender_rsa"]
    info = cms.ContentInfo.load(sign_data(b"abc", party.cert, party.key))
    info["content"]["signer_infos"][0]["digest_algorithm"] = {"algorithm": "sha1"}
    info["content"]["digest_algorithms"] = [{"algorithm": "sha1"}]
    with pytest.raises(UnsupportedAlgorithm, match="sha1"):
        verify_signed_data(info.dump(force=True))


def test_der_normalisation_is_stable(pki: SyntheticPKI) -> None:
    party = pki["sender_ec"]
    der = sign_data(b"abc", party.cert, party.key)
    assert to_der(der) == der


@pytest.mark.parametrize("mask", [0x01, 0xFF])
def test_every_flipped_byte_is_caught(
    pki: SyntheticPKI, validator: FakeValidator, mask: int
) -> None:
    """Each byte of a small signed message, flipped, gives a typed error (signature or path)."""
    party = pki["sender_ec"]
    der = sign_data(b"small content", party.cert, party.key)
    for position in range(len(der)):
        with pytest.raises(CryptoError):
            result = verify_signed_data(flip(der, position, mask))
            validator.validate(result.signer_certificate, purpose=KeyPurpose.EMAIL_SIGNATURE)
