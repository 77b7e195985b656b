"""A message's whole journey, proven offline: a real server whose checkpoints are time-stamped
by `openssl ts` over HTTP, a signed acknowledgement, and `caducee verify` on the journey file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from caducee.agent.client import Credentials, ServerClient
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import sign_data
from caducee.ledger import AckStatement
from tests.agent.helpers import enrol_mailbox, operator_client
from tests.ledger.tsa import TSA, make_tsa
from tests.servers import caducee, running_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def tsa_url(tmp_path: Path) -> Iterator[tuple[str, TSA]]:
    """`openssl ts -reply` behind an RFC 3161 HTTP endpoint (§3.4)."""
    tsa = make_tsa(tmp_path / "tsa")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                reply = tsa.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ts", tsa
    finally:
        server.shutdown()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caducee.cli", *args], capture_output=True, text=True, timeout=120
    )


def enrolled(
    base: str, data_dir: Path, kind: str, address: str, number: int
) -> tuple[Credentials, x509.Certificate]:
    with operator_client(base, data_dir) as admin:
        code = enrol_mailbox(admin, kind, address, number)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # RSA: encryptable
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
        .sign(key, hashes.SHA256())
    )
    with ServerClient(base) as client:
        answer = client.enrol(code, csr.public_bytes(serialization.Encoding.PEM).decode())
    certificate = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
    return Credentials(address, answer["serial_hex"], key), certificate


def test_a_time_stamped_journey_verifies_offline_and_a_gap_is_caught(
    tmp_path: Path, tsa_url: tuple[str, TSA]
) -> None:
    url, tsa = tsa_url
    data_dir = tmp_path / "server"
    with running_server(data_dir, {"CADUCEE_TSA_URL": url, "CADUCEE_LOG_LEVEL": "debug"}) as base:
        lab, _ = enrolled(base, data_dir, "lab", "labo@caducee.test", 1)
        gp, gp_certificate = enrolled(base, data_dir, "gp", "dr.fictif@caducee.test", 2)
        ciphertext = envelope(secrets.token_bytes(2000), [gp_certificate])
        with ServerClient(base, lab) as sender, ServerClient(base, gp) as recipient:
            sender.login()
            recipient.login()
            sender.submit(
                message_id="journey-1@caducee.test",
                sender=lab.address,
                to=[gp.address],
                date="Sun, 29 Nov 2026 08:00:00 +0100",
                subject="Résultats",
                der=ciphertext,
            )
            fetched = recipient.fetch("journey-1@caducee.test")
            statement = AckStatement(
                "journey-1@caducee.test",
                hashlib.sha256(fetched).hexdigest(),
                gp.address,
                datetime.now(UTC).replace(microsecond=0),
            )
            recipient.ack(
                "journey-1@caducee.test",
                sign_data(statement.to_bytes(), gp_certificate, gp.key),  # type: ignore[arg-type]
            )
            journey = httpx.get(
                f"{base}/api/v1/ledger/messages/journey-1@caducee.test/journey",
                headers={"Authorization": f"Bearer {sender._bearer()}"},
            )
            assert journey.status_code == 200, journey.text
            log_key = sender.ledger_key()
        (tmp_path / "journey.json").write_bytes(journey.content)
        (tmp_path / "tsa-root.pem").write_bytes(tsa.root.public_bytes(serialization.Encoding.PEM))
    _the_server_log_tells_the_journey_by_ids(data_dir / "server.log", ciphertext)

    # Offline: the server is gone.
    done = caducee(
        "verify", str(tmp_path / "journey.json"), "--log-key", log_key,
        "--tsa-root", str(tmp_path / "tsa-root.pem"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for words in (
        "Parcours vérifié",
        "Déposé par labo@caducee.test",
        "Remis dans la boîte de dr.fictif@caducee.test",
        "Retiré par dr.fictif@caducee.test",
        "accusé signé par",
        "Horodaté / time-stamped",
    ):
        assert words in out, (words, out)

    # A journey with a step left out is refused, with the reason.
    value = json.loads(journey.content)
    del value["receipts"][2]  # the handover
    (tmp_path / "gap.json").write_text(json.dumps(value))
    gap = run_cli("verify", str(tmp_path / "gap.json"), "--log-key", log_key)
    assert gap.returncode == 1
    assert "lacks" in gap.stderr

    # A signed acknowledgement swapped for another is refused too.
    value = json.loads(journey.content)
    value["acknowledgements"] = []
    (tmp_path / "no-ack.json").write_text(json.dumps(value))
    missing = run_cli("verify", str(tmp_path / "no-ack.json"), "--log-key", log_key)
    assert missing.returncode == 1 and "acknowledgement" in missing.stderr


def _the_server_log_tells_the_journey_by_ids(log: Path, ciphertext: bytes) -> None:
    """The server's log (JSON lines) has the message's steps, by id and digest, and none of
    its bytes."""
    lines = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line[:1] == "{"]
    messages = [line["message"] for line in lines if line["logger"].startswith("caducee.")]
    digest = hashlib.sha256(ciphertext).hexdigest()
    assert f"accepted journey-1@caducee.test sha256={digest} for 1" in messages
    assert any(m.startswith("fetched journey-1@caducee.test") for m in messages), messages
    assert any(m.startswith("acknowledged journey-1@caducee.test") for m in messages), messages
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error"}
    text = log.read_bytes()
    for spelling in (ciphertext[-32:], ciphertext[-32:].hex().encode()):
        assert spelling not in text
    assert base64.b64encode(ciphertext)[-40:] not in text
