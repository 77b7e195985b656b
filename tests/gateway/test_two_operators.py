"""Two Caducée servers as two MSSanté operators, mail both ways, swaks as the SMTP client.

Operator A (``caducee.test``) listens on 127.0.0.1, operator B (``operateur-b.mssante.fr``)
on 127.0.0.2; each is ``caducee server run`` in its own process with its own SQLite
database, trust list (the other's domain) and outbound route (the other's inbound port).
TLS is required towards B (an MSSanté domain) and verified against the shared test CA.
People are seeded directly in each database (synthetic, with RSA certificates).
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.directory import DirectoryService
from caducee.directory.identifiers import luhn_complete
from caducee.evidence.models import RecordRow
from caducee.formats.mdn import MDN, IntegrationError, make_mdn, mdn_requested, read_mdn
from caducee.gateway import AppPasswordService
from caducee.relay import InProcessNotifier, RelayService
from caducee.store import Database, open_blob_store
from caducee.store.models import IssuedCertificate
from tests.conftest import free_port
from tests.gateway.conftest import need_swaks
from tests.server.conftest import make_certificate
from tests.servers import ServerProcess

A_DOMAIN, B_DOMAIN = "caducee.test", "operateur-b.mssante.fr"
BODY = "Compte rendu synthetique inter-operateurs: patient TEST Camille."


def _tls_pair(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loopback operators")])
    now = datetime.now(UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(IPv4Address("127.0.0.1")),
            x509.IPAddress(IPv4Address("127.0.0.2")),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, key_path = folder / "tls-cert.pem", folder / "tls-key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_path


@dataclass
class Operator:
    domain: str
    host: str
    data_dir: Path
    submission: int
    inbound: int
    server: ServerProcess | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / 'caducee.db').resolve()}"


@dataclass
class Seeded:
    address: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    mailbox_id: int
    password: str


async def _seed(operator: Operator, name: str, rpps: str) -> Seeded:
    database = Database(operator.database_url)
    try:
        directory = DirectoryService(database)
        rpps = luhn_complete(rpps)
        await directory.register_person(
            rpps=rpps, given_name="Camille", family_name=name, profession="médecin"
        )
        address = f"{name.lower()}@{operator.domain}"
        mailbox_id = await directory.create_mailbox(
            address=address, kind="personal", person_rpps=rpps
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = make_certificate(
            address, key, not_before=datetime.now(UTC) - timedelta(hours=1)
        )
        serial_hex = format(certificate.serial_number, "x")
        async with database.transaction() as session:
            session.add(
                IssuedCertificate(
                    serial_hex=serial_hex,
                    profile="person",
                    subject=f"E={address}",
                    email=address,
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                    der=certificate.public_bytes(serialization.Encoding.DER),
                )
            )
        await directory.attach_certificate(address, serial_hex)
        password = (await AppPasswordService(database).create(address, "swaks")).password
        return Seeded(address, key, certificate, mailbox_id, password)
    finally:
        await database.close()


@pytest.fixture(scope="module")
def operators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Operator, Operator]]:
    """Both servers, once for this module (starting them is the slow part)."""
    need_swaks()
    tmp_path = tmp_path_factory.mktemp("operators")
    cert, key = _tls_pair(tmp_path)
    a = Operator(A_DOMAIN, "127.0.0.1", tmp_path / "a", free_port(), free_port())
    b = Operator(B_DOMAIN, "127.0.0.2", tmp_path / "b", free_port(), free_port())
    for me, peer in ((a, b), (b, a)):
        env = {
            "CADUCEE_MAIL_DOMAIN": me.domain,
            "CADUCEE_SMTP_ENABLED": "true",
            "CADUCEE_SMTP_SUBMISSION_HOST": me.host,
            "CADUCEE_SMTP_INBOUND_HOST": me.host,
            "CADUCEE_SMTP_SUBMISSION_PORT": str(me.submission),
            "CADUCEE_SMTP_INBOUND_PORT": str(me.inbound),
            "CADUCEE_SMTP_TRUST_LIST_LOCAL": peer.domain,
            "CADUCEE_SMTP_OUTBOUND_ROUTES": f"{peer.domain}={peer.host}:{peer.inbound}",
            "CADUCEE_SMTP_OUTBOUND_CA_FILE": str(cert),
            "CADUCEE_SMTP_OUTBOUND_POLL_SECONDS": "0.3",
            "CADUCEE_SMTP_TLS_CERT_FILE": str(cert),
            "CADUCEE_SMTP_TLS_KEY_FILE": str(key),
        }
        me.data_dir.mkdir()
        me.server = ServerProcess(me.data_dir, env)
        me.server.start()
    try:
        yield a, b
    finally:
        for operator in (a, b):
            if operator.server is not None:
                operator.server.stop()


def _swaks(operator: Operator, person: Seeded, to: str, data: Path) -> str:
    result = subprocess.run(
        [
            need_swaks(),
            "--server",
            f"{operator.host}:{operator.submission}",
            "--tls",
            "--auth",
            "LOGIN",
            "--auth-user",
            person.address,
            "--auth-password",
            person.password,
            "--from",
            person.address,
            "--to",
            to,
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def _wait_for_message(operator: Operator, person: Seeded) -> bytes:
    database = Database(operator.database_url)
    blobs = open_blob_store((operator.data_dir / "blobs").resolve().as_uri())
    relay = RelayService(database, blobs, InProcessNotifier())
    try:
        for _ in range(150):
            page = await relay.list_mailbox(person.mailbox_id)
            if page.items:
                [item] = page.items
                _, stored = await relay.fetch(person.mailbox_id, item.message_id)
                return decrypt_enveloped(stored, person.certificate, person.key)
            await asyncio.sleep(0.2)
        raise AssertionError(f"nothing arrived for {person.address}")
    finally:
        await database.close()


async def _events(operator: Operator, awaited: str) -> list[str]:
    """The operator's evidence events, once ``awaited`` is among them (or after 30 s): the
    sending side records ``RelayToExternal`` after the other side's 250, which may come
    after the other side has already delivered the message."""
    database = Database(operator.database_url)
    try:
        for _ in range(150):
            async with database.sessions() as session:
                events = list(
                    await session.scalars(select(RecordRow.event).order_by(RecordRow.leaf_index))
                )
            if awaited in events:
                break
            await asyncio.sleep(0.2)
        return events
    finally:
        await database.close()


def _mail(sender: str, to: str, subject: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Sun, 29 Nov 2026 08:00:00 +0100\r\n"
        "Disposition-Notification-To: " + sender + "\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + BODY + "\r\n"
    ).encode()


async def test_mail_both_ways_through_the_trust_list(
    operators: tuple[Operator, Operator], tmp_path: Path
) -> None:
    a, b = operators
    alice = await _seed(a, "Alice", "1000000001")
    bob = await _seed(b, "Bob", "1000000002")

    # A -> B: submitted in clear over TLS to A, relayed over verified TLS to B.
    data = tmp_path / "a-to-b.eml"
    data.write_bytes(_mail(alice.address, bob.address, "XDM/1.0/DDM+CR TEST Camille 01/01/1970"))
    out = await asyncio.to_thread(_swaks, a, alice, bob.address, data)
    assert "250 2.0.0 queued as" in out
    plain = await _wait_for_message(b, bob)
    assert BODY.encode() in plain
    assert b"X-MSS-NIL: CADUCEE" in plain and f"by {a.domain}".encode() in plain
    assert b"with ESMTPS" in plain  # B received it over TLS
    assert "RelayToExternal" in await _events(a, "RelayToExternal")
    assert "ReceivedFromExternal" in await _events(b, "ReceivedFromExternal")

    # B -> A: the same the other way.
    data = tmp_path / "b-to-a.eml"
    data.write_bytes(_mail(bob.address, alice.address, "Reponse synthetique"))
    out = await asyncio.to_thread(_swaks, b, bob, alice.address, data)
    assert "250 2.0.0 queued as" in out
    plain = await _wait_for_message(a, alice)
    assert BODY.encode() in plain and b"Reponse synthetique" in plain


async def test_unlisted_peer_refused_by_swaks(operators: tuple[Operator, Operator]) -> None:
    a, _ = operators
    alice = await _seed(a, "Emma", "1000000003")
    result = await asyncio.to_thread(
        subprocess.run,
        [
            need_swaks(),
            "--server",
            f"{a.host}:{a.inbound}",
            "--tls",
            "--ehlo",
            "mx.unlisted.example",
            "--from",
            "x@unlisted.example",
            "--to",
            alice.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "550 5.7.1 sender domain unlisted.example is not in the MSSante trust space" in (
        result.stdout
    )


async def test_mdn_round_trip(operators: tuple[Operator, Operator], tmp_path: Path) -> None:
    """B's reader answers A's request for an MDN (ANS form, error 902); A reads it back."""
    a, b = operators
    claire = await _seed(a, "Claire", "1000000004")
    denis = await _seed(b, "Denis", "1000000005")
    original = _mail(claire.address, denis.address, "XDM/1.0/DDM+CR TEST Camille 01/01/1970")
    original = b"Message-ID: <mdn-orig-1@caducee.test>\r\n" + original
    (tmp_path / "orig.eml").write_bytes(original)
    await asyncio.to_thread(_swaks, a, claire, denis.address, tmp_path / "orig.eml")
    received = await _wait_for_message(b, denis)
    inner = received.split(b"\r\n\r\n", 1)[1]  # the message/rfc822 wrapper
    headers = message_from_bytes(inner)
    assert mdn_requested(headers) == claire.address
    notification = MDN(
        "mdn-orig-1@caducee.test",
        denis.address,
        "processed",
        reporting_ua="Caducee test PFI",
        error=IntegrationError("902"),
    )
    report = make_mdn(inner, notification, from_address=denis.address, message_id="mdn-1@b.test")
    (tmp_path / "mdn.eml").write_bytes(report)
    await asyncio.to_thread(_swaks, b, denis, claire.address, tmp_path / "mdn.eml")
    back = await _wait_for_message(a, claire)
    read = read_mdn(back.split(b"\r\n\r\n", 1)[1])
    assert read.original_message_id == "mdn-orig-1@caducee.test"
    assert read.final_recipient == denis.address
    assert read.error is not None and read.error.code == "902"
    assert read.subject.startswith("[KO Intégration système !][902] XDM/1.0/DDM+")
