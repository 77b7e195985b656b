"""Encrypted PKCS#8 key files: our writer, our reader, and OpenSSL on both sides."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from caducee.crypto.errors import (
    KeyNotFound,
    KeySourceError,
    MalformedMessage,
    UnsupportedAlgorithm,
    WrongPassphrase,
)
from caducee.crypto.keyfile import (
    DEFAULT_KDF_ROUNDS,
    KeyKind,
    PrivateKey,
    generate_private_key,
    load_key_file,
    save_key_file,
)
from tests.peers import require_tool

PASS = b"correct horse battery"
FAST = 1000  # PBKDF2 rounds for tests that do not check the default


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return generate_private_key(KeyKind.RSA_2048)


@pytest.fixture(scope="module")
def ec_key() -> PrivateKey:
    return generate_private_key(KeyKind.EC_P256)


def _same_key(a: PrivateKey, b: PrivateKey) -> None:
    if isinstance(a, rsa.RSAPrivateKey):
        assert isinstance(b, rsa.RSAPrivateKey)
        assert a.private_numbers() == b.private_numbers()
        sig = b.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
        a.public_key().verify(sig, b"x", padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(a, ec.EllipticCurvePrivateKey)
        assert isinstance(b, ec.EllipticCurvePrivateKey)
        assert a.private_numbers() == b.private_numbers()


def test_generate_kinds() -> None:
    key = generate_private_key(KeyKind.EC_P256)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert KeyKind.RSA_3072.rsa_bits == 3072
    assert KeyKind.RSA_2048.is_rsa and not KeyKind.EC_P256.is_rsa


def test_round_trip_default_rounds_and_mode(tmp_path: Path, ec_key: PrivateKey) -> None:
    path = save_key_file(tmp_path / "k.pem", ec_key, PASS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kind, _h, der = asn1_pem.unarmor(path.read_bytes())
    assert kind == "ENCRYPTED PRIVATE KEY"
    alg = asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]
    assert alg["algorithm"].native == "pbes2"
    assert alg.kdf == "pbkdf2"
    assert alg.kdf_iterations == DEFAULT_KDF_ROUNDS
    assert alg.kdf_hmac == "sha256"
    assert alg.encryption_cipher == "aes" and alg.key_length == 32
    _same_key(ec_key, load_key_file(path, PASS))


def test_rsa_round_trip(tmp_path: Path, rsa_key: PrivateKey) -> None:
    path = save_key_file(tmp_path / "r.pem", rsa_key, PASS, kdf_rounds=FAST)
    _same_key(rsa_key, load_key_file(path, PASS))


def test_never_overwrites(tmp_path: Path, ec_key: PrivateKey) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(b"precious")
    with pytest.raises(KeySourceError, match="already exists"):
        save_key_file(path, ec_key, PASS, kdf_rounds=FAST)
    assert path.read_bytes() == b"precious"


def test_short_passphrase_refused(tmp_path: Path, ec_key: PrivateKey) -> None:
    with pytest.raises(KeySourceError):
        save_key_file(tmp_path / "k.pem", ec_key, b"short", kdf_rounds=FAST)


def test_wrong_passphrase(tmp_path: Path, ec_key: PrivateKey) -> None:
    path = save_key_file(tmp_path / "k.pem", ec_key, PASS, kdf_rounds=FAST)
    with pytest.raises(WrongPassphrase):
        load_key_file(path, b"not the passphrase")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyNotFound):
        load_key_file(tmp_path / "absent.pem", PASS)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"garbage", MalformedMessage),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", MalformedMessage),
        (b"\x30\x03\x02\x01\x00", MalformedMessage),
    ],
)
def test_malformed(tmp_path: Path, content: bytes, error: type[Exception]) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(error):
        load_key_file(path, PASS)


def test_unencrypted_refused(tmp_path: Path) -> None:
    openssl = require_tool("openssl", "openssl")
    path = tmp_path / "plain.pem"
    subprocess.run(
        [
            openssl,
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    with pytest.raises(UnsupportedAlgorithm):
        load_key_file(path, PASS)


@pytest.mark.parametrize(
    "options", [["-scrypt"], ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"]]
)
def test_openssl_written_keys(tmp_path: Path, options: list[str]) -> None:
    """OpenSSL writes PBES2 with scrypt or PBKDF2 (RFC 7914, RFC 8018); we read both."""
    openssl = require_tool("openssl", "openssl")
    plain, enc = tmp_path / "plain.pem", tmp_path / "enc.pem"
    subprocess.run(
        [
            openssl,
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(plain),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            openssl,
            "pkcs8",
            "-topk8",
            "-in",
            str(plain),
            "-out",
            str(enc),
            *options,
            "-passout",
            "pass:" + PASS.decode(),
        ],
        check=True,
        capture_output=True,
    )
    key = load_key_file(enc, PASS)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    with pytest.raises(WrongPassphrase):
        load_key_file(enc, b"wrong passphrase")


def test_pbes1_refused(tmp_path: Path) -> None:
    openssl = require_tool("openssl", "openssl")
    plain, enc = tmp_path / "plain.pem", tmp_path / "enc.pem"
    subprocess.run(
        [
            openssl,
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(plain),
        ],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            openssl,
            "pkcs8",
            "-topk8",
            "-in",
            str(plain),
            "-out",
            str(enc),
            "-v1",
            "PBE-SHA1-3DES",
            "-passout",
            "pass:" + PASS.decode(),
        ],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("this OpenSSL refuses to write PBES1")
    with pytest.raises(UnsupportedAlgorithm):
        load_key_file(enc, PASS)


def test_openssl_reads_ours(tmp_path: Path, rsa_key: PrivateKey) -> None:
    openssl = require_tool("openssl", "openssl")
    path = save_key_file(tmp_path / "k.pem", rsa_key, PASS, kdf_rounds=FAST)
    out = subprocess.run(
        [
            openssl,
            "pkey",
            "-in",
            str(path),
            "-passin",
            "pass:" + PASS.decode(),
            "-noout",
            "-text_pub",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "2048 bit" in out
