"""``caducee smime verify --ocsp --fetch-crls`` against a running server's CA.

A mailbox is enrolled through the real server (the key made here, the certificate issued by
the deployment's CA from a CSR); its signature verifies with the answers the server's OCSP
responder and CRL give; once the certificate is revoked in the server's database, the same
message is refused (exit 4) by OCSP alone.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from caducee.agent.client import ServerClient
from caducee.cli import app
from caducee.crypto.keyfile import save_key_file
from tests.agent.helpers import enrol_mailbox, operator_client
from tests.servers import running_server

MESSAGE = (
    b"From: <labo.online@caducee.test>\r\nTo: <gp@caducee.test>\r\n"
    b"Subject: synthetic\r\n\r\nResultat fictif\r\n"
)


def test_signature_verified_online_then_refused_once_revoked(tmp_path: Path) -> None:
    data = tmp_path / "server"
    with running_server(data) as base:
        with operator_client(base, data) as admin:
            code = enrol_mailbox(admin, "lab", "labo.online@caducee.test", 7)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
            .sign(key, hashes.SHA256())
        )
        with ServerClient(base) as client:
            answer = client.enrol(code, csr.public_bytes(serialization.Encoding.PEM).decode())
        (tmp_path / "cert.pem").write_text(answer["certificate_pem"])
        save_key_file(tmp_path / "key.pem", key, b"synthetic passphrase")
        (tmp_path / "root.pem").write_bytes(httpx.get(f"{base}/pki/root.pem").content)
        (tmp_path / "issuing.pem").write_bytes(httpx.get(f"{base}/pki/issuing.pem").content)
        (tmp_path / "m.eml").write_bytes(MESSAGE)
        runner = CliRunner()
        env = {"CADUCEE_KEY_PASSPHRASE": "synthetic passphrase"}
        signed = runner.invoke(
            app,
            [
                "smime",
                "sign",
                "--in",
                str(tmp_path / "m.eml"),
                "--out",
                str(tmp_path / "s.eml"),
                "--cert",
                str(tmp_path / "cert.pem"),
                "--key",
                str(tmp_path / "key.pem"),
                "--certfile",
                str(tmp_path / "issuing.pem"),
            ],
            env=env,
        )
        assert signed.exit_code == 0, signed.output
        verify = [
            "smime",
            "verify",
            "--in",
            str(tmp_path / "s.eml"),
            "--trust",
            str(tmp_path / "root.pem"),
            "--ocsp",
            "--fetch-crls",
        ]
        good = runner.invoke(app, verify)
        assert good.exit_code == 0, good.output
        assert "labo.online@caducee.test" in good.output

        database = sqlite3.connect(data / "caducee.db")
        with database:
            database.execute(
                "UPDATE issued_certificate SET revoked_at = ?, revocation_reason = ? "
                "WHERE serial_hex = ?",
                (datetime.now(UTC).isoformat(), "keyCompromise", answer["serial_hex"]),
            )
        database.close()
        revoked = runner.invoke(app, [*verify[:-1]])  # OCSP alone, no CRL
        assert revoked.exit_code == 4, revoked.output
        assert "certificate-revoked" in revoked.output
