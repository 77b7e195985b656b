"""kill -9 the server while a client that retries submits 1,000 messages.

After the restarts every message the server answered "accepted" is in the recipient's mailbox
exactly once: accepted means durable, and retries are idempotent on the message id. Runs on
SQLite and PostgreSQL, with the real server process (uvicorn) and real HTTP.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from caducee.agent.client import Credentials, ServerClient
from caducee.crypto.cms_envelope import envelope
from tests.agent.helpers import enrol_mailbox, operator_client
from tests.servers import ServerProcess

MESSAGES = 1000
KILL_AFTER = (250, 600)  # accepted counts at which the server is killed


def _enrol(base: str, code: str, address: str) -> tuple[Credentials, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
        .sign(key, hashes.SHA256())
    )
    with ServerClient(base) as client:
        answer = client.enrol(code, csr.public_bytes(serialization.Encoding.PEM).decode())
    certificate = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
    return Credentials(address, answer["serial_hex"], key), certificate


def _submit_until_accepted(client: ServerClient, message_id: str, der: bytes, to: str) -> None:
    """What a careful client does: the same message id until the server says accepted."""
    deadline = time.monotonic() + 120
    while True:
        try:
            client.submit(
                message_id=message_id,
                sender=client.credentials.address,  # type: ignore[union-attr]
                to=[to],
                date="",
                subject="Document concernant votre patient",
                der=der,
            )
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_every_accepted_message_is_in_its_mailbox_exactly_once_after_kill_9(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(tmp_path / "server", {"CADUCEE_DATABASE_URL": database_url})
    server.start()
    try:
        with operator_client(server.base, server.data_dir) as admin:
            lab_code = enrol_mailbox(admin, "lab", "labo@caducee.test", 1)
            gp_code = enrol_mailbox(admin, "gp", "gp@caducee.test", 2)
        lab, _ = _enrol(server.base, lab_code, "labo@caducee.test")
        gp, gp_certificate = _enrol(server.base, gp_code, "gp@caducee.test")
        ciphertexts = [
            envelope(secrets.token_bytes(1024), [gp_certificate]) for _ in range(MESSAGES)
        ]
        accepted: list[str] = []
        kills = list(KILL_AFTER)

        def killer() -> None:
            while kills:
                if len(accepted) >= kills[0]:
                    kills.pop(0)
                    server.kill_hard()
                    time.sleep(0.5)
                    server.start()
                time.sleep(0.01)

        watcher = threading.Thread(target=killer, daemon=True)
        watcher.start()
        with ServerClient(server.base, lab, retries=2, backoff=0.1) as client:
            for number, der in enumerate(ciphertexts):
                message_id = f"crash-{number:04d}@caducee.test"
                _submit_until_accepted(client, message_id, der, "gp@caducee.test")
                accepted.append(message_id)
        watcher.join(timeout=120)
        assert not kills, "the server was not killed as planned"

        with ServerClient(server.base, gp) as client:
            seen: list[str] = []
            cursor = 0
            while True:
                page, cursor = client.list_messages(cursor, limit=500)
                if not page:
                    break
                seen.extend(item["message_id"] for item in page)
        assert len(seen) == len(set(seen)), "a message was delivered twice"
        assert sorted(seen) == sorted(accepted)
    finally:
        server.stop()


def test_the_client_sees_the_server_go_away(tmp_path: Path) -> None:
    """The killed server really stops answering (so the test above proves something)."""
    server = ServerProcess(tmp_path / "server")
    server.start()
    server.kill_hard()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.base}/healthz", timeout=2)
