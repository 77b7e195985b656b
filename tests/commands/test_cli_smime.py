"""``caducee smime``: openssl reads what it writes, it reads what openssl writes; errors exit 3–7.

Keys and certificates come from the synthetic test PKI (``tests.pki.pki_factory``); the
people are invented.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from caducee.cli import app
from caducee.crypto.keyfile import KeyKind, generate_private_key, save_key_file
from caducee.pki import Holder, Profile, RevokedEntry, build_crl, issue_certificate
from tests.peers import require_tool
from tests.pki import pki_factory as f

PASS = "synthetic passphrase"
MESSAGE = (
    b"From: Laboratoire Synthese <labo@caducee.test>\r\n"
    b"To: Dr Imaginaire <gp@caducee.test>\r\n"
    b"Subject: Resultats de DUPONT-FICTIF Jean\r\n"
    b"Message-ID: <cli-test@caducee.test>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Glycemie 5.2 mmol/L (synthetic)\r\n"
)


@dataclass(frozen=True)
class Party:
    cert: Path
    key: Path
    key_pem: Path  # unencrypted PEM, for openssl only


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | Party]:
    folder = tmp_path_factory.mktemp("pki")
    out: dict[str, Path | Party] = {}
    revoked_serial = 0
    for name, email in (
        ("lab", "labo@caducee.test"),
        ("gp", "gp@caducee.test"),
        ("old", "labo@caducee.test"),
    ):
        key = generate_private_key(KeyKind.RSA_2048)
        assert isinstance(key, rsa.RSAPrivateKey)
        holder = Holder(
            common_name=name.upper(),
            given_name=name,
            surname="FICTIF",
            rpps="10000000008",
            email=email,
        )
        cert = issue_certificate(
            f.issuing_ca(), key.public_key(), Profile.PERSON, holder, now=f.NOW
        )
        if name == "old":
            revoked_serial = cert.serial_number
        save_key_file(folder / f"{name}.key", key, PASS.encode())
        from cryptography.hazmat.primitives import serialization

        (folder / f"{name}.plain.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        out[name] = Party(
            f.write_pem(folder / f"{name}.pem", [cert]),
            folder / f"{name}.key",
            folder / f"{name}.plain.pem",
        )
    out["root"] = f.write_pem(folder / "root.pem", [f.root_ca().certificate])
    out["chain"] = f.write_pem(folder / "chain.pem", [f.issuing_ca().certificate])
    out["cafile"] = f.write_pem(
        folder / "cafile.pem", [f.root_ca().certificate, f.issuing_ca().certificate]
    )
    crl = build_crl(f.issuing_ca(), [RevokedEntry(revoked_serial, f.NOW)], 2, now=f.NOW)
    root_crl = build_crl(f.root_ca(), [], 1, now=f.NOW)
    out["crl"] = f.write_pem(folder / "issuing.crl", [crl])
    out["root_crl"] = f.write_pem(folder / "root.crl", [root_crl])
    return out


def _party(pki: dict[str, Path | Party], name: str) -> Party:
    party = pki[name]
    assert isinstance(party, Party)
    return party


def _path(pki: dict[str, Path | Party], name: str) -> Path:
    path = pki[name]
    assert isinstance(path, Path)
    return path


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["smime", *map(str, args)], env={"CADUCEE_KEY_PASSPHRASE": PASS}
    )
    return result.exit_code, result.output


def _trust(pki: dict[str, Path | Party]) -> list[str | Path]:
    return [
        "--trust",
        _path(pki, "root"),
        "--untrusted",
        _path(pki, "chain"),
        "--crl",
        _path(pki, "crl"),
        "--crl",
        _path(pki, "root_crl"),
    ]


def test_sign_then_openssl_and_caducee_verify(pki: dict[str, Path | Party], tmp_path: Path) -> None:
    openssl = require_tool("openssl", "openssl")
    lab = _party(pki, "lab")
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    code, output = run(
        "sign",
        "--in",
        tmp_path / "m.eml",
        "--out",
        tmp_path / "s.eml",
        "--cert",
        lab.cert,
        "--key",
        lab.key,
    )
    assert code == 0, output
    checked = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-in",
            str(tmp_path / "s.eml"),
            "-CAfile",
            str(_path(pki, "cafile")),
            "-purpose",
            "any",
        ],
        capture_output=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert b"Glycemie 5.2" in checked.stdout
    code, output = run(
        "verify", "--in", tmp_path / "s.eml", "--out", tmp_path / "v.eml", *_trust(pki)
    )
    assert code == 0, output
    assert "labo@caducee.test" in output
    assert b"Glycemie 5.2" in (tmp_path / "v.eml").read_bytes()


def test_sign_encrypt_then_openssl_decrypts_and_caducee_opens(
    pki: dict[str, Path | Party], tmp_path: Path
) -> None:
    openssl = require_tool("openssl", "openssl")
    lab, gp = _party(pki, "lab"), _party(pki, "gp")
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    for cipher in ("aes256-cbc", "aes256-gcm"):
        code, output = run(
            "encrypt",
            "--in",
            tmp_path / "m.eml",
            "--out",
            tmp_path / "e.eml",
            "--recip",
            gp.cert,
            "--cert",
            lab.cert,
            "--key",
            lab.key,
            "--cipher",
            cipher,
        )
        assert code == 0, output
        assert b"Subject: Document concernant votre patient" in (tmp_path / "e.eml").read_bytes()
        assert b"DUPONT" not in (tmp_path / "e.eml").read_bytes()  # the patient stays inside
        decrypted = subprocess.run(
            [
                openssl,
                "cms",
                "-decrypt",
                "-in",
                str(tmp_path / "e.eml"),
                "-recip",
                str(gp.cert),
                "-inkey",
                str(gp.key_pem),
            ],
            capture_output=True,
        )
        assert decrypted.returncode == 0, decrypted.stderr
        assert b"multipart/signed" in decrypted.stdout
        code, output = run(
            "decrypt",
            "--in",
            tmp_path / "e.eml",
            "--out",
            tmp_path / "d.eml",
            "--cert",
            gp.cert,
            "--key",
            gp.key,
            *_trust(pki),
        )
        assert code == 0, output
        assert b"Glycemie 5.2" in (tmp_path / "d.eml").read_bytes()


def test_openssl_encrypts_with_oaep_and_caducee_decrypts(
    pki: dict[str, Path | Party], tmp_path: Path
) -> None:
    openssl = require_tool("openssl", "openssl")
    gp = _party(pki, "gp")
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    subprocess.run(
        [
            openssl,
            "cms",
            "-encrypt",
            "-in",
            str(tmp_path / "m.eml"),
            "-out",
            str(tmp_path / "e.eml"),
            "-aes256",
            "-recip",
            str(gp.cert),
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
            "-stream",
        ],
        check=True,
    )
    code, output = run(
        "decrypt",
        "--in",
        tmp_path / "e.eml",
        "--out",
        tmp_path / "d.eml",
        "--cert",
        gp.cert,
        "--key",
        gp.key,
    )
    assert code == 0, output
    assert b"Glycemie 5.2" in (tmp_path / "d.eml").read_bytes()


def test_failures_exit_with_their_family_and_reason(
    pki: dict[str, Path | Party], tmp_path: Path
) -> None:
    lab, gp, old = _party(pki, "lab"), _party(pki, "gp"), _party(pki, "old")
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    # A revoked signer: certificate error (4).
    run(
        "sign",
        "--in",
        tmp_path / "m.eml",
        "--out",
        tmp_path / "old.eml",
        "--cert",
        old.cert,
        "--key",
        old.key,
    )
    code, output = run("verify", "--in", tmp_path / "old.eml", *_trust(pki))
    assert code == 4 and "certificate-revoked" in output
    # A tampered signed message: signature invalid (3) or malformed (6), never 0.
    run(
        "sign",
        "--in",
        tmp_path / "m.eml",
        "--out",
        tmp_path / "s.eml",
        "--cert",
        lab.cert,
        "--key",
        lab.key,
    )
    tampered = (tmp_path / "s.eml").read_bytes().replace(b"5.2 mmol", b"9.2 mmol")
    (tmp_path / "t.eml").write_bytes(tampered)
    code, output = run("verify", "--in", tmp_path / "t.eml", *_trust(pki))
    assert code == 3 and "signature-invalid" in output
    # Not ours to decrypt (5), a wrong passphrase (7).
    run("encrypt", "--in", tmp_path / "m.eml", "--out", tmp_path / "e.eml", "--recip", gp.cert)
    code, output = run("decrypt", "--in", tmp_path / "e.eml", "--cert", lab.cert, "--key", lab.key)
    assert code == 5 and "no-recipient-for-key" in output
    code, output = run(
        "decrypt",
        "--in",
        tmp_path / "e.eml",
        "--cert",
        gp.cert,
        "--key",
        gp.key,
        "--passin",
        "pass:wrong",
    )
    assert code == 7 and "wrong-passphrase" in output
    # Not S/MIME at all (6).
    code, output = run("decrypt", "--in", tmp_path / "m.eml", "--cert", gp.cert, "--key", gp.key)
    assert code == 6 and "malformed-message" in output


def test_the_installed_command_runs(pki: dict[str, Path | Party], tmp_path: Path) -> None:
    lab = _party(pki, "lab")
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "caducee.cli",
            "smime",
            "sign",
            "--in",
            "-",
            "--cert",
            str(lab.cert),
            "--key",
            str(lab.key),
            "--passin",
            f"pass:{PASS}",
        ],
        input=MESSAGE,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert b"application/pkcs7-signature" in result.stdout


def test_a_token_key_signs_and_decrypts_through_the_command(
    pki: dict[str, Path | Party], tmp_path: Path
) -> None:
    """SoftHSM2 as a real PKCS#11 token: the key is generated on it and never leaves it."""
    openssl = require_tool("openssl", "openssl")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from caducee.crypto.pkcs11_keys import generate_token_key, load_token_key
    from tests.softhsm import PIN, softhsm_token

    with softhsm_token(tmp_path / "hsm", "CPS-CLI"):
        uri = "pkcs11:token=CPS-CLI;object=cps;type=private"
        generate_token_key(
            "pkcs11:token=CPS-CLI", label="cps", key_id=b"\x07", kind=KeyKind.RSA_2048, pin=PIN
        )
        token_key = load_token_key(uri, PIN)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Token")]))
            .sign(token_key, hashes.SHA256())
        )
        holder = Holder(
            common_name="LAB TOKEN",
            given_name="Lab",
            surname="TOKEN",
            rpps="10000000008",
            email="labo@caducee.test",
        )
        token_public = csr.public_key()
        assert isinstance(token_public, rsa.RSAPublicKey)
        cert = issue_certificate(f.issuing_ca(), token_public, Profile.PERSON, holder, now=f.NOW)
        token_key.close()
        cert_path = f.write_pem(tmp_path / "token.pem", [cert])
        (tmp_path / "m.eml").write_bytes(MESSAGE)
        code, output = run(
            "sign",
            "--in",
            tmp_path / "m.eml",
            "--out",
            tmp_path / "s.eml",
            "--cert",
            cert_path,
            "--key",
            uri,
            "--passin",
            f"pass:{PIN}",
            "--certfile",
            _path(pki, "chain"),
        )
        assert code == 0, output
        checked = subprocess.run(
            [
                openssl,
                "cms",
                "-verify",
                "-in",
                str(tmp_path / "s.eml"),
                "-CAfile",
                str(_path(pki, "root")),
                "-purpose",
                "any",
            ],
            capture_output=True,
        )
        assert checked.returncode == 0, checked.stderr
        # SoftHSM 2.6 unwraps OAEP with SHA-1 only: the sender picks what the token can do.
        run(
            "encrypt",
            "--in",
            tmp_path / "m.eml",
            "--out",
            tmp_path / "e.eml",
            "--recip",
            cert_path,
            "--key-transport",
            "oaep-sha1",
        )
        code, output = run(
            "decrypt",
            "--in",
            tmp_path / "e.eml",
            "--out",
            tmp_path / "d.eml",
            "--cert",
            cert_path,
            "--key",
            uri,
            "--passin",
            f"pass:{PIN}",
        )
        assert code == 0, output
        assert b"Glycemie 5.2" in (tmp_path / "d.eml").read_bytes()
        code, output = run(
            "decrypt",
            "--in",
            tmp_path / "e.eml",
            "--cert",
            cert_path,
            "--key",
            uri,
            "--passin",
            "pass:999999",
        )
        assert code == 7 and "wrong-passphrase" in output
