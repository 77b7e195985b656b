"""A Caducée server in its own process, for the benches that measure through real HTTP.

``caducee server init`` then ``caducee server run`` (or any command given, such as a bench's
own ``--serve`` entry point) on a free loopback port, its output kept in ``server.log``
beside its data; organisations and mailboxes made through the operator's admin API, and
agents enrolled with a fresh RSA key.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from caducee.agent.client import Credentials, ServerClient
from caducee.commands.demo import DEMO_PASSPHRASE
from caducee.directory.identifiers import luhn_complete

__all__ = ["POSTGRES", "ServerProcess", "drop_postgres", "free_port", "fresh_postgres"]

CLI = [sys.executable, "-m", "caducee.cli"]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def _admin(admin_base: str) -> str:
    return admin_base.replace("+psycopg", "") + "postgres"


def fresh_postgres(admin_base: str = POSTGRES, prefix: str = "caducee_bench") -> str | None:
    """A new, empty database for one run (its URL), or None (and why) when PostgreSQL is
    not there: the bench then measures SQLite only."""
    try:
        import psycopg

        name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(_admin(admin_base), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return admin_base + name
    except Exception as exc:
        print(f"PostgreSQL not measured: {exc}")
        return None


def drop_postgres(url: str, admin_base: str = POSTGRES) -> None:
    """Leave no bench database behind."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin(admin_base), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One initialised server, running until :meth:`stop`."""

    def __init__(
        self, data_dir: Path, database_url: str | None, *, command: list[str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CADUCEE_PUBLIC_URL": self.base,
            "CADUCEE_AGENT_PASSPHRASE": DEMO_PASSPHRASE,
        }
        if database_url:
            self.env["CADUCEE_DATABASE_URL"] = database_url
        subprocess.run(
            [*CLI, "server", "init", "--data-dir", str(data_dir)],
            check=True,
            env=self.env,
            capture_output=True,
        )
        run = command or [*CLI, "server", "run"]
        with (data_dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*run, "--data-dir", str(data_dir), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start: see {data_dir / 'server.log'}")

    def enrolment_code(self, address: str, number: int, kind: str = "lab") -> str:
        """A one-time code for ``address``, an organisational mailbox of a new organisation."""
        from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token

        ensure_operator_token(self.data_dir)
        token = (self.data_dir / OPERATOR_TOKEN_FILE).read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as admin:
            finess = luhn_complete(f"{75000000 + number:08d}")
            admin.post(
                "/api/v1/admin/organisations",
                json={"finess": finess, "name": f"Fictif {number}", "type": kind, "city": "PARIS"},
            ).raise_for_status()
            admin.post(
                "/api/v1/admin/mailboxes",
                json={"address": address, "kind": "organisational", "organisation": finess},
            ).raise_for_status()
            answer = admin.post(f"/api/v1/admin/mailboxes/{address}/enrolment-code")
            answer.raise_for_status()
            return str(answer.json()["code"])

    def enrol(self, address: str, number: int) -> tuple[Credentials, x509.Certificate]:
        """Enrol ``address`` with a fresh RSA-2048 key: its credentials and certificate."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .sign(key, hashes.SHA256())
        )
        with ServerClient(self.base) as client:
            answer = client.enrol(
                self.enrolment_code(address, number),
                csr.public_bytes(serialization.Encoding.PEM).decode(),
            )
        cert = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
        return Credentials(address, answer["serial_hex"], key), cert

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # long polls still open: do not wait for them
            self.process.kill()
            self.process.wait()
