"""Interop with the real ``openssl cms`` (OpenSSL 3.0), both directions.

Ours → openssl: SignedData (PKCS#1 v1.5, PSS, ECDSA; attached and detached), EnvelopedData
and AuthEnvelopedData (every cipher × key transport, two recipients), full S/MIME messages.
openssl → ours: ``-stream`` BER, AES-CBC/GCM, OAEP SHA-1/SHA-256 via ``-keyopt``, several
``-recip``, PSS, ECDSA, SHA-384/512, and refusals (SHA-1/MD5 signatures, 3DES).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caducee.crypto.algorithms import ContentEncryption, DigestAlgorithm, KeyTransport
from caducee.crypto.algorithms import SignatureScheme as Scheme
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import sign_data
from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import UnsupportedAlgorithm
from caducee.crypto.smime import build_smime, open_smime
from tests.peers import require_tool

from .conftest import FakeValidator, SyntheticPKI, inner_message, run

OAEP256 = [
    "-keyopt",
    "rsa_padding_mode:oaep",
    "-keyopt",
    "rsa_oaep_md:sha256",
    "-keyopt",
    "rsa_mgf1_md:sha256",
]
OAEP1 = ["-keyopt", "rsa_padding_mode:oaep"]


@pytest.fixture(scope="module")
def openssl() -> str:
    return require_tool("openssl", "openssl")


@pytest.fixture
def message(tmp_path: Path) -> Path:
    path = tmp_path / "m.bin"
    path.write_bytes(bytes(range(256)) * 20 + b"\nfin SYNTHETIQUE\n")
    return path


@pytest.mark.parametrize(
    ("who", "scheme", "digest"),
    [
        ("sender_rsa", Scheme.RSA_PKCS1V15, DigestAlgorithm.SHA256),
        ("sender_rsa", Scheme.RSA_PSS, DigestAlgorithm.SHA256),
        ("sender_rsa", Scheme.RSA_PSS, DigestAlgorithm.SHA512),
        ("sender_ec", Scheme.ECDSA, DigestAlgorithm.SHA256),
        ("sender_ec", Scheme.ECDSA, DigestAlgorithm.SHA384),
    ],
)
@pytest.mark.parametrize("detached", [False, True])
def test_ours_verified_by_openssl(
    openssl: str,
    pki: SyntheticPKI,
    message: Path,
    who: str,
    scheme: Scheme,
    digest: DigestAlgorithm,
    detached: bool,
) -> None:
    p = pki[who]
    der = sign_data(
        message.read_bytes(), p.cert, p.key, scheme=scheme, digest=digest, detached=detached
    )
    sig = message.with_suffix(".p7s")
    sig.write_bytes(der)
    args: list[str | Path] = [
        openssl,
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        sig,
        "-CAfile",
        pki.ca.cert_pem,
        "-binary",
    ]
    if detached:
        args += ["-content", message]
    assert run(args) == message.read_bytes()


@pytest.mark.parametrize("encryption", list(ContentEncryption))
@pytest.mark.parametrize("transport", list(KeyTransport))
def test_ours_decrypted_by_openssl(
    openssl: str,
    pki: SyntheticPKI,
    message: Path,
    encryption: ContentEncryption,
    transport: KeyTransport,
) -> None:
    rcpts = [pki["rcpt1_rsa"], pki["rcpt2_rsa"]]
    der = envelope(
        message.read_bytes(),
        [r.cert for r in rcpts],
        encryption=encryption,
        key_transport=transport,
    )
    enc = message.with_suffix(".p7m")
    enc.write_bytes(der)
    for r in rcpts:
        out = run(
            [
                openssl,
                "cms",
                "-decrypt",
                "-binary",
                "-inform",
                "DER",
                "-in",
                enc,
                "-recip",
                r.cert_pem,
                "-inkey",
                r.key_pem,
            ]
        )
        assert out == message.read_bytes()


@pytest.mark.parametrize("encryption", [ContentEncryption.AES256_CBC, ContentEncryption.AES256_GCM])
def test_our_smime_opened_by_openssl(
    openssl: str, pki: SyntheticPKI, tmp_path: Path, encryption: ContentEncryption
) -> None:
    s, r = pki["sender_rsa"], pki["rcpt2_rsa"]
    inner = inner_message(s.email, r.email)
    eml = tmp_path / "out.eml"
    eml.write_bytes(
        build_smime(inner, s.cert, s.key, [pki["rcpt1_rsa"].cert, r.cert], encryption=encryption)
    )
    signed = run(
        [openssl, "cms", "-decrypt", "-in", eml, "-recip", r.cert_pem, "-inkey", r.key_pem]
    )
    (tmp_path / "signed.eml").write_bytes(signed)
    out = run(
        [openssl, "cms", "-verify", "-in", tmp_path / "signed.eml", "-CAfile", pki.ca.cert_pem]
    )
    assert b"Subject: R\xc3\xa9sultats de M. FICTIF" in out


STREAM_CASES = {
    "aes256-cbc-v15-stream": ["-stream", "-aes256"],
    "aes128-cbc-oaep1-stream": ["-stream", "-aes128"],
    "aes256-cbc-oaep256-stream": ["-stream", "-aes-256-cbc"],
    "aes256-gcm-v15": ["-aes-256-gcm"],
    "aes256-gcm-oaep256": ["-aes-256-gcm"],
    "aes128-gcm-oaep1-stream": ["-stream", "-aes-128-gcm"],
}


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
def test_openssl_encrypted_decrypted_by_us(
    openssl: str, pki: SyntheticPKI, message: Path, case: str
) -> None:
    keyopt = OAEP256 if "oaep256" in case else OAEP1 if "oaep1" in case else []
    rcpts = [pki["rcpt1_rsa"], pki["rcpt2_rsa"]]
    recips: list[str | Path] = []
    for r in rcpts:
        recips += ["-recip", r.cert_pem, *keyopt]
    der = run(
        [
            openssl,
            "cms",
            "-encrypt",
            "-binary",
            *STREAM_CASES[case],
            "-in",
            message,
            "-outform",
            "DER",
            *recips,
        ]
    )
    if "-stream" in STREAM_CASES[case]:
        assert der[1] == 0x80  # BER indefinite length
    for r in rcpts:
        assert decrypt_enveloped(der, r.cert, r.key) == message.read_bytes()


SIGN_CASES = {
    "rsa-sha256-stream": ("sender_rsa", ["-stream", "-md", "sha256"]),
    "rsa-pss-sha256": ("sender_rsa", ["-keyopt", "rsa_padding_mode:pss"]),
    # (openssl 3.0 cannot combine -stream with PSS: "illegal zero content")
    "rsa-pss-sha384": ("sender_rsa", ["-md", "sha384", "-keyopt", "rsa_padding_mode:pss"]),
    "rsa-sha512-noattr": ("sender_rsa", ["-md", "sha512", "-noattr"]),
    "ec-sha256": ("sender_ec", ["-md", "sha256"]),
    "ec-sha384-stream": ("sender_ec", ["-stream", "-md", "sha384"]),
}


@pytest.mark.parametrize("case", sorted(SIGN_CASES))
@pytest.mark.parametrize("detached", [False, True])
def test_openssl_signed_verified_by_us(
    openssl: str, pki: SyntheticPKI, message: Path, case: str, detached: bool
) -> None:
    who, opts = SIGN_CASES[case]
    if detached:  # openssl's -stream DER output embeds the content even when detached
        opts = [o for o in opts if o != "-stream"]
    p = pki[who]
    der = run(
        [
            openssl,
            "cms",
            "-sign",
            "-binary",
            *(() if detached else ("-nodetach",)),
            "-in",
            message,
            "-signer",
            p.cert_pem,
            "-inkey",
            p.key_pem,
            *opts,
            "-outform",
            "DER",
        ]
    )  # -keyopt applies to the preceding -signer
    content = message.read_bytes()
    result = verify_signed_data(der, detached_content=content if detached else None)
    assert result.content == content and result.signer_certificate == p.cert


@pytest.mark.parametrize("md", ["sha1", "md5"])
def test_openssl_weak_digest_refused(
    openssl: str, pki: SyntheticPKI, message: Path, md: str
) -> None:
    p = pki["sender_rsa"]
    der = run(
        [
            openssl,
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            md,
            "-in",
            message,
            "-signer",
            p.cert_pem,
            "-inkey",
            p.key_pem,
            "-outform",
            "DER",
        ]
    )
    with pytest.raises(UnsupportedAlgorithm, match=md):
        verify_signed_data(der)


def test_openssl_3des_refused(openssl: str, pki: SyntheticPKI, message: Path) -> None:
    r = pki["rcpt1_rsa"]
    der = run(
        [
            openssl,
            "cms",
            "-encrypt",
            "-binary",
            "-des3",
            "-in",
            message,
            "-outform",
            "DER",
            r.cert_pem,
        ]
    )
    with pytest.raises(UnsupportedAlgorithm, match="tripledes"):
        decrypt_enveloped(der, r.cert, r.key)


@pytest.mark.parametrize("cipher", ["-aes256", "-aes-256-gcm"])
def test_openssl_smime_opened_by_us(
    openssl: str, pki: SyntheticPKI, validator: FakeValidator, tmp_path: Path, cipher: str
) -> None:
    """openssl signs (text mode: it canonicalises to CRLF) then encrypts a whole message."""
    s, r = pki["sender_ec"], pki["rcpt1_rsa"]
    entity = tmp_path / "entity.txt"
    entity.write_bytes(b"Content-Type: message/rfc822\n\n" + inner_message(s.email, r.email))
    signed = run(
        [openssl, "cms", "-sign", "-in", entity, "-signer", s.cert_pem, "-inkey", s.key_pem]
    )
    (tmp_path / "signed.eml").write_bytes(signed)
    enveloped = run(
        [
            openssl,
            "cms",
            "-encrypt",
            cipher,
            "-in",
            tmp_path / "signed.eml",
            "-from",
            s.email,
            "-to",
            r.email,
            "-subject",
            "neutre",
            "-recip",
            r.cert_pem,
            *OAEP256,
        ]
    )
    opened = open_smime(enveloped, r.cert, r.key, validator)
    assert opened.sender == s.email
    assert opened.message["Subject"] == "Résultats de M. FICTIF"
