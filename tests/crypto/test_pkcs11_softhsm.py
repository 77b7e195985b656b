"""Token keys on a real SoftHSM2 token, checked by OpenSSL, pkcs11-tool and cryptography.

The token lives in a temporary directory with its own SOFTHSM2_CONF, set before the PKCS#11
module is (re)initialised. Keys are generated ON the token and never leave it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from caducee.crypto.errors import (
    DecryptionFailed,
    KeyNotFound,
    KeySourceError,
    TokenAbsent,
    UnsupportedAlgorithm,
    WrongPassphrase,
)
from caducee.crypto.keyfile import KeyKind
from caducee.crypto.pkcs11_keys import (
    DEFAULT_PKCS11_MODULE,
    TokenECPrivateKey,
    TokenRSAPrivateKey,
    generate_token_key,
    load_token_key,
    store_certificate_on_token,
)
from caducee.crypto.pkcs11_uri import PKCS11URI
from caducee.pki import Profile, issue_from_csr
from tests.peers import require_tool
from tests.pki import pki_factory as f
from tests.softhsm import softhsm_token

LABEL, PIN, SO_PIN = "CADUCEE-TEST", "123456", "12345678"
TOKEN = f"pkcs11:token={LABEL}"
MESSAGE = b"Compte rendu: glyc\xc3\xa9mie 5,4 mmol/L"


@dataclass(frozen=True)
class Token:
    directory: Path
    rsa_public: rsa.RSAPublicKey
    ec_public: ec.EllipticCurvePublicKey


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    require_tool("openssl", "openssl")
    root = tmp_path_factory.mktemp("hsm")
    with softhsm_token(root, LABEL):
        rsa_public = generate_token_key(
            TOKEN, label="cps-auth", key_id=b"\x01", kind=KeyKind.RSA_2048, pin=PIN
        )
        ec_public = generate_token_key(
            TOKEN, label="cps-ec", key_id=b"\x02", kind=KeyKind.EC_P256, pin=PIN
        )
        assert isinstance(rsa_public, rsa.RSAPublicKey)
        assert isinstance(ec_public, ec.EllipticCurvePublicKey)
        with pytest.raises(WrongPassphrase):  # no session logged in yet: C_Login says PIN_INCORRECT
            load_token_key(f"{TOKEN};object=cps-auth", "000000")
        yield Token(root, rsa_public, ec_public)


@pytest.fixture(scope="module")
def rsa_key(token: Token) -> Iterator[TokenRSAPrivateKey]:
    key = load_token_key(f"{TOKEN};object=cps-auth;type=private", PIN)
    assert isinstance(key, TokenRSAPrivateKey)
    yield key
    key.close()


@pytest.fixture(scope="module")
def ec_key(token: Token) -> Iterator[TokenECPrivateKey]:
    key = load_token_key(f"{TOKEN};id=%02?pin-value={PIN}")
    assert isinstance(key, TokenECPrivateKey)
    yield key
    key.close()


def _pem(path: Path, key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> Path:
    path.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _openssl_verify(tmp_path: Path, public: Path, signature: bytes, *opts: str) -> None:
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(signature)
    done = f.openssl(
        *("dgst", "-sha256", "-verify", str(public), *opts),
        *("-signature", str(tmp_path / "sig"), str(tmp_path / "msg")),
        check=False,
    )
    assert done.returncode == 0 and "Verified OK" in done.stdout, done.stdout + done.stderr


def test_keys_are_not_extractable(token: Token) -> None:
    tool = require_tool("pkcs11-tool", "opensc")
    listing = subprocess.run(
        [
            tool,
            "--module",
            DEFAULT_PKCS11_MODULE,
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--list-objects",
            "--type",
            "privkey",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={"SOFTHSM2_CONF": str(token.directory / "softhsm2.conf"), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert listing.count("never extractable") == 2, listing
    session = pkcs11.lib(DEFAULT_PKCS11_MODULE).get_token(token_label=LABEL).open(user_pin=PIN)
    with session:
        for key in session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY}):
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            assert key[pkcs11.Attribute.SENSITIVE] is True


def test_rsa_key_shape(rsa_key: TokenRSAPrivateKey, token: Token) -> None:
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert rsa_key.key_size == 2048
    assert rsa_key.public_key() == token.rsa_public
    with pytest.raises(KeySourceError, match="cannot be exported"):
        rsa_key.private_numbers()
    with pytest.raises(KeySourceError):
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def test_rsa_pkcs1v15_signature(rsa_key: TokenRSAPrivateKey, tmp_path: Path) -> None:
    signature = rsa_key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    rsa_key.public_key().verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    _openssl_verify(tmp_path, _pem(tmp_path / "pub.pem", rsa_key.public_key()), signature)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(MESSAGE)
    prehashed = rsa_key.sign(
        digest.finalize(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
    )
    assert prehashed == signature  # PKCS#1 v1.5 is deterministic


@pytest.mark.parametrize(
    ("salt", "saltlen"), [(padding.PSS.DIGEST_LENGTH, "-1"), (padding.PSS.MAX_LENGTH, "-2")]
)
def test_rsa_pss_signature(
    rsa_key: TokenRSAPrivateKey, tmp_path: Path, salt: int, saltlen: str
) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)
    signature = rsa_key.sign(MESSAGE, pss, hashes.SHA256())
    rsa_key.public_key().verify(signature, MESSAGE, pss, hashes.SHA256())
    _openssl_verify(
        tmp_path,
        _pem(tmp_path / "pub.pem", rsa_key.public_key()),
        signature,
        *("-sigopt", "rsa_padding_mode:pss", "-sigopt", f"rsa_pss_saltlen:{saltlen}"),
    )


def test_ecdsa_signature(ec_key: TokenECPrivateKey, token: Token, tmp_path: Path) -> None:
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ec_key.curve, ec.SECP256R1) and ec_key.public_key() == token.ec_public
    signature = ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    ec_key.public_key().verify(signature, MESSAGE, ec.ECDSA(hashes.SHA256()))
    _openssl_verify(tmp_path, _pem(tmp_path / "pub.pem", ec_key.public_key()), signature)
    with pytest.raises(KeySourceError):
        ec_key.private_numbers()
    with pytest.raises(UnsupportedAlgorithm):
        ec_key.exchange(ec.ECDH(), token.ec_public)


@pytest.mark.parametrize(
    ("options", "pad"),
    [
        ([], padding.PKCS1v15()),
        (
            ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1"],
            padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
        ),
    ],
)
def test_decrypt_openssl_ciphertext(
    rsa_key: TokenRSAPrivateKey, tmp_path: Path, options: list[str], pad: padding.AsymmetricPadding
) -> None:
    secret = bytes(range(32))  # a content-encryption key, as in CMS KeyTransRecipientInfo
    (tmp_path / "cek").write_bytes(secret)
    public = _pem(tmp_path / "pub.pem", rsa_key.public_key())
    f.openssl(
        *("pkeyutl", "-encrypt", "-pubin", "-inkey", str(public), *options),
        *("-in", str(tmp_path / "cek"), "-out", str(tmp_path / "ct")),
    )
    assert rsa_key.decrypt((tmp_path / "ct").read_bytes(), pad) == secret


def test_decrypt_failures(rsa_key: TokenRSAPrivateKey) -> None:
    with pytest.raises(DecryptionFailed):
        rsa_key.decrypt(b"\x01" * 256, padding.PKCS1v15())
    sha256_oaep = padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
    )
    ciphertext = rsa_key.public_key().encrypt(b"k" * 16, sha256_oaep)
    with pytest.raises(UnsupportedAlgorithm):  # SoftHSM 2.6 does OAEP with SHA-1 only
        rsa_key.decrypt(ciphertext, sha256_oaep)


def test_token_absent_and_module_missing(token: Token) -> None:
    with pytest.raises(TokenAbsent):
        load_token_key("pkcs11:token=NO-SUCH-CARD;object=cps-auth", PIN)
    with pytest.raises(TokenAbsent):
        load_token_key(f"{TOKEN};object=cps-auth", PIN, module="/nonexistent/libcps3.so")


def test_wrong_or_missing_pin(token: Token) -> None:
    with pytest.raises(WrongPassphrase):
        load_token_key(f"{TOKEN};object=cps-auth", "000000")
    with pytest.raises(WrongPassphrase, match="PIN is needed"):
        load_token_key(f"{TOKEN};object=cps-auth")


def test_unknown_object(token: Token) -> None:
    with pytest.raises(KeyNotFound):
        load_token_key(f"{TOKEN};object=nothing-here", PIN)
    with pytest.raises(KeyNotFound):
        load_token_key(TOKEN, PIN)  # names no object
    with pytest.raises(KeyNotFound):
        load_token_key(f"{TOKEN};object=cps-auth;type=cert", PIN)


def test_pin_source_file(token: Token, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    key = load_token_key(PKCS11URI(token=LABEL, id=b"\x01", pin_source=f"file:{pin_file}"))
    assert isinstance(key, TokenRSAPrivateKey)
    try:
        assert key.key_size == 2048
    finally:
        key.close()
    with pytest.raises(KeySourceError, match="closed"):
        key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_duplicate_id_refused(token: Token) -> None:
    with pytest.raises(KeySourceError, match="already exists"):
        generate_token_key(TOKEN, label="again", key_id=b"\x01", kind=KeyKind.EC_P256, pin=PIN)


def test_threads_share_a_key(ec_key: TokenECPrivateKey) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                sig = ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
                ec_key.public_key().verify(sig, MESSAGE, ec.ECDSA(hashes.SHA256()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_csr_from_token_key_issued_and_stored(
    rsa_key: TokenRSAPrivateKey, token: Token, tmp_path: Path
) -> None:
    """Enrolment: the CSR is signed on the token; the CA issues; the certificate goes back."""
    csr = f.csr_for(rsa_key)
    assert csr.is_signature_valid
    cert = issue_from_csr(f.issuing_ca(), csr, Profile.PERSON, f.PERSON)
    assert cert.public_key() == token.rsa_public
    store_certificate_on_token(TOKEN, cert, label="cps-auth", key_id=b"\x01", pin=PIN)
    tool = require_tool("pkcs11-tool", "opensc")
    done = subprocess.run(
        [
            tool,
            "--module",
            DEFAULT_PKCS11_MODULE,
            "--token-label",
            LABEL,
            "--read-object",
            "--type",
            "cert",
            "--id",
            "01",
        ],
        check=True,
        capture_output=True,
        env={"SOFTHSM2_CONF": str(token.directory / "softhsm2.conf"), "PATH": "/usr/bin:/bin"},
    )
    assert x509.load_der_x509_certificate(done.stdout) == cert
