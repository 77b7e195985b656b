"""RFC 3161 against a real ``openssl ts -reply`` TSA made for the test."""

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caducee.ledger.errors import TimestampInvalid
from caducee.ledger.timestamp import (
    _check_tsa_certificate,
    build_timestamp_request,
    token_from_response,
    verify_timestamp,
)

from .tsa import TSA, make_tsa

DIGEST = hashlib.sha256(b"a checkpoint").digest()


def stamp(tsa: TSA, digest: bytes = DIGEST) -> tuple[bytes, int]:
    query, nonce = build_timestamp_request(digest)
    return token_from_response(tsa.reply(query)), nonce


def test_openssl_reads_our_request(tsa: TSA) -> None:
    query, nonce = build_timestamp_request(DIGEST, nonce=12345)
    (tsa.folder / "ours.tsq").write_bytes(query)
    text = subprocess.run(
        ["openssl", "ts", "-query", "-in", "ours.tsq", "-text"],
        cwd=tsa.folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Hash Algorithm: sha256" in text
    assert "Certificate required: yes" in text
    assert "Nonce: 0x3039" in text
    assert nonce == 12345


def test_token_verifies(tsa: TSA) -> None:
    token, nonce = stamp(tsa)
    info = verify_timestamp(token, DIGEST, roots=[tsa.root], nonce=nonce)
    assert info.hashed_message == DIGEST
    assert info.policy == "1.2.250.1.999.1"
    assert abs(info.gen_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert info.tsa_certificate.subject.rfc4514_string() == "CN=Caducee Test TSA"
    # openssl agrees (an independent verifier).
    (tsa.folder / "tok.der").write_bytes(token)
    subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            DIGEST.hex(),
            "-in",
            "tok.der",
            "-token_in",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
        cwd=tsa.folder,
        check=True,
        capture_output=True,
    )


def test_other_digest_refused(tsa: TSA) -> None:
    token, _ = stamp(tsa)
    with pytest.raises(TimestampInvalid, match="another digest"):
        verify_timestamp(token, hashlib.sha256(b"x").digest(), roots=[tsa.root])


def test_wrong_nonce_refused(tsa: TSA) -> None:
    token, nonce = stamp(tsa)
    with pytest.raises(TimestampInvalid, match="nonce"):
        verify_timestamp(token, DIGEST, roots=[tsa.root], nonce=nonce + 1)


def test_other_root_refused(tsa: TSA, tmp_path: Path) -> None:
    token, _ = stamp(tsa)
    other = make_tsa(tmp_path / "other")
    with pytest.raises(TimestampInvalid, match="does not chain"):
        verify_timestamp(token, DIGEST, roots=[other.root])
    with pytest.raises(TimestampInvalid, match="no TSA root"):
        verify_timestamp(token, DIGEST, roots=[])


def test_rsa_tsa_with_intermediate(tmp_path: Path) -> None:
    tsa = make_tsa(tmp_path / "rsa", "rsa", with_intermediate=True)
    token, _ = stamp(tsa)
    assert tsa.intermediate is not None
    info = verify_timestamp(token, DIGEST, roots=[tsa.root], intermediates=[tsa.intermediate])
    assert info.hashed_message == DIGEST
    with pytest.raises(TimestampInvalid, match="does not chain"):
        verify_timestamp(token, DIGEST, roots=[tsa.root])


def _resign_attrs(token: bytes, mutate) -> bytes:  # type: ignore[no-untyped-def]
    info = cms.ContentInfo.load(token)
    mutate(info["content"])
    return bytes(
        cms.ContentInfo({"content_type": "signed_data", "content": info["content"]}).dump(
            force=True
        )
    )


def test_altered_signature_refused(tsa: TSA) -> None:
    token, _ = stamp(tsa)

    def flip(sd: cms.SignedData) -> None:
        si = sd["signer_infos"][0]
        sig = bytearray(si["signature"].native)
        sig[-1] ^= 1
        si["signature"] = bytes(sig)

    with pytest.raises(TimestampInvalid):
        verify_timestamp(_resign_attrs(token, flip), DIGEST, roots=[tsa.root])


def test_altered_tstinfo_refused(tsa: TSA) -> None:
    token, _ = stamp(tsa)

    def later(sd: cms.SignedData) -> None:
        tst = tsp.TSTInfo.load(sd["encap_content_info"]["content"].contents)
        tst["serial_number"] = tst["serial_number"].native + 1
        sd["encap_content_info"] = {"content_type": "tst_info", "content": tst}

    with pytest.raises(TimestampInvalid, match="message-digest"):
        verify_timestamp(_resign_attrs(token, later), DIGEST, roots=[tsa.root])


def test_missing_certificate_refused(tsa: TSA) -> None:
    token, _ = stamp(tsa)

    def strip(sd: cms.SignedData) -> None:
        sd["certificates"] = []

    with pytest.raises(TimestampInvalid, match="not in the token"):
        verify_timestamp(_resign_attrs(token, strip), DIGEST, roots=[tsa.root])


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x00", b"garbage" * 10])
def test_garbage_is_timestamp_invalid(data: bytes) -> None:
    with pytest.raises(TimestampInvalid):
        verify_timestamp(data, DIGEST, roots=[_cert(critical=True)])
    with pytest.raises(TimestampInvalid):
        token_from_response(data)


def test_rejected_request(tsa: TSA) -> None:
    query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "md5"},
                "hashed_message": bytes(16),
            },
            "cert_req": True,
        }
    ).dump()
    with pytest.raises(TimestampInvalid, match="did not grant"):
        token_from_response(tsa.reply(query))


def test_request_refuses_wrong_digest_size() -> None:
    with pytest.raises(TimestampInvalid):
        build_timestamp_request(b"short")


def _cert(
    *, critical: bool, usages: tuple = (ExtendedKeyUsageOID.TIME_STAMPING,)
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=critical)
        .sign(key, hashes.SHA256())
    )


def test_tsa_certificate_rules() -> None:
    now = datetime.now(UTC)
    _check_tsa_certificate(_cert(critical=True), now)
    with pytest.raises(TimestampInvalid, match="critical"):
        _check_tsa_certificate(_cert(critical=False), now)
    both = (ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING)
    with pytest.raises(TimestampInvalid, match="timeStamping only"):
        _check_tsa_certificate(_cert(critical=True, usages=both), now)
    with pytest.raises(TimestampInvalid, match="not valid at"):
        _check_tsa_certificate(_cert(critical=True), now + timedelta(days=3))
