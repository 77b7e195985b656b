"""A running SMTP edge on each database engine, with synthetic people, keys and a white list.

The edge listens on loopback ports chosen by the kernel, on the test's own event loop (the
database's loop); blocking clients (smtplib, swaks) run in threads. TLS uses a throwaway
certificate for ``localhost`` / 127.0.0.1 made here with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.crypto.smime import build_smime
from caducee.directory import DirectoryService
from caducee.evidence import EvidenceLog, load_log_identity
from caducee.gateway import AppPasswordService, GatewayConfig, SMTPEdge, start_smtp_edge
from caducee.relay import RelayService
from caducee.store import Database, open_blob_store
from caducee.store.models import IssuedCertificate
from tests.server.conftest import (  # noqa: F401 (the server's fixtures, for route tests)
    PrivateKey,
    make_certificate,
    migrated_url,
    postgres_migrated,
    sqlite_template,
    world,
)

DOMAIN = "caducee.test"
PEER_DOMAIN = "ch-exemple.mssante.fr"
T = TypeVar("T")

WHITE_LIST = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListeBlanche xmlns="https://listeblanche.mssante.fr/schema">
  <Domaine><Nom>{PEER_DOMAIN}</Nom><Operateur>Opérateur synthétique</Operateur></Domaine>
  <Domaine><Nom>labo-synthese.mssante.fr</Nom></Domaine>
</ListeBlanche>
""".encode()


@dataclass
class TLSFiles:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert))
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A self-signed server certificate for localhost and 127.0.0.1 (one per session)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TLSFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class Person:
    address: str
    key: PrivateKey
    certificate: x509.Certificate
    mailbox_id: int
    password: str = ""


@dataclass
class EdgeWorld:
    database: Database
    edge: SMTPEdge
    relay: RelayService
    directory: DirectoryService
    passwords: AppPasswordService
    tls: TLSFiles
    state: Any
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def submission_port(self) -> int:
        return self.edge.port("submission")

    @property
    def inbound_port(self) -> int:
        return self.edge.port("inbound")

    async def person(self, name: str, *, rsa_key: bool = True, password: bool = True) -> Person:
        """A person with a personal mailbox, a certificate and an application password."""
        rpps = f"1000000{len(self.people) + 1:03d}"
        from caducee.directory.identifiers import luhn_complete

        rpps = luhn_complete(rpps)
        await self.directory.register_person(
            rpps=rpps, given_name="Claire", family_name=name, profession="médecin"
        )
        address = f"{name.lower()}@{DOMAIN}"
        mailbox_id = await self.directory.create_mailbox(
            address=address, kind="personal", person_rpps=rpps
        )
        key: PrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if rsa_key
            else ec.generate_private_key(ec.SECP256R1())
        )
        certificate = make_certificate(
            address, key, not_before=datetime.now(UTC) - timedelta(hours=1)
        )
        serial_hex = format(certificate.serial_number, "x")
        async with self.database.transaction() as session:
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
        await self.directory.attach_certificate(address, serial_hex)
        person = Person(address, key, certificate, mailbox_id)
        if password:
            person.password = (await self.passwords.create(address, "Thunderbird")).password
        self.people[name] = person
        return person

    def smtp(self, port: int | None = None, *, source: str | None = None) -> smtplib.SMTP:
        """A blocking smtplib client (call it in a thread)."""
        source_address = (source, 0) if source else None
        return smtplib.SMTP(
            "127.0.0.1", port or self.submission_port, timeout=10, source_address=source_address
        )

    def login(self, person: Person) -> smtplib.SMTP:
        client = self.smtp()
        client.starttls(context=self.tls.client_context())
        client.login(person.address, person.password)
        return client


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


def smime_message(
    sender: Person,
    recipients: list[Person],
    *,
    body: str = "Résultats synthétiques: glycémie 5,2 mmol/L.",
    message_id: str = "<gw-test-1@caducee.test>",
    padding: int = 0,
) -> bytes:
    """A signed-then-encrypted S/MIME message (RFC 8551) from ``sender`` to ``recipients``."""
    to = ", ".join(r.address for r in recipients)
    inner = (
        f"From: {sender.address}\r\nTo: {to}\r\nSubject: CR DUPONT Jean\r\n"
        f"Message-ID: {message_id}\r\nDate: Sun, 29 Nov 2026 08:00:00 +0100\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n{'x' * padding}\r\n"
    ).encode()
    return build_smime(inner, sender.certificate, sender.key, [r.certificate for r in recipients])


def clear_message(sender: str, to: str, body: str, *, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: CR DUPONT Jean\r\n"
        f"Message-ID: <clear-{abs(hash(body))}@{sender.partition('@')[2]}>\r\n"
        f"Date: Sun, 29 Nov 2026 08:00:00 +0100\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
async def edge_world(
    database: Database, tmp_path: Path, tls_files: TLSFiles
) -> AsyncIterator[EdgeWorld]:
    """The edge on both ports (kernel-chosen), on each database engine."""
    blobs = open_blob_store((tmp_path / "blobs").as_uri())
    settings = SimpleNamespace(
        mail_domain=DOMAIN, data_dir=tmp_path / "data", max_message_size=25 * 1024 * 1024
    )
    identity = load_log_identity(tmp_path / "data", DOMAIN)
    extras: dict[str, Any] = {"evidence_log": EvidenceLog(database, identity)}
    state = SimpleNamespace(settings=settings, database=database, blobs=blobs, extras=extras)
    config = GatewayConfig.from_settings(
        settings,
        environ={},
        submission_port=0,
        inbound_port=0,
        tls_cert_file=tls_files.cert,
        tls_key_file=tls_files.key,
        hostname="localhost",
        outbound_ca_file=tls_files.cert,
        outbound_retry_seconds=(60.0, 300.0),
    )
    edge = await start_smtp_edge(state, config)
    edge.trust_list.replace(WHITE_LIST)
    handler = edge.servers["submission"]
    assert handler.sockets
    from caducee.gateway.edge import _relay

    edge_world = EdgeWorld(
        database=database,
        edge=edge,
        relay=_relay(state, config),
        directory=DirectoryService(database),
        passwords=edge.passwords,
        tls=tls_files,
        state=state,
    )
    try:
        yield edge_world
    finally:
        await edge.stop()


def need_swaks() -> str:
    path = shutil.which("swaks")
    if path is None:
        pytest.fail("swaks is missing: apt-get install swaks libnet-ssleay-perl")
    return path
