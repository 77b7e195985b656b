"""SMTP acceptance rate of the submission edge against Postfix, on this machine, in one run.

Our edge: S/MIME messages of ~4 KB (a real CMS envelopedData for one recipient, base64),
one recipient, sent over STARTTLS + AUTH PLAIN sessions (aiosmtplib) running in parallel in
client processes; "accepted" means durable in the relay (blob fsynced, row committed).
Postfix: ``smtp-source`` with the same message count, sessions and size, plain SMTP
(no TLS, no AUTH), each mail fsynced in the queue before 250 (see ``postfix_peer``).

    python bench/bench_smtp_edge.py [--messages 2000] [--sessions 8] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import ssl
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.postfix_peer import postfix_available, postfix_on_loopback, smtp_source_rate
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.crypto.cms_envelope import envelope
from caducee.directory import DirectoryService
from caducee.gateway import GatewayConfig, start_smtp_edge
from caducee.store import Database, open_blob_store, upgrade_database
from caducee.store.models import IssuedCertificate

__all__ = ["main"]

DOMAIN = "caducee.test"
CLIENT_PROCESSES = 2
PLAINTEXT_SIZE = 2300  # base64 of the CMS + headers ≈ 4.1 KB on the wire (4 KB for Postfix)


def _certificate(address: str, key: Any, issuer_key: Any) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, address)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .sign(issuer_key, hashes.SHA256())
    )


def _tls_pair(folder: Path) -> tuple[Path, Path]:
    from caducee.gateway.edge import write_self_signed

    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key, "localhost")
    return cert, key


def _message(sender: str, recipient: str, certificate: x509.Certificate, number: int) -> bytes:
    der = envelope(os.urandom(PLAINTEXT_SIZE), [certificate])
    body = base64.encodebytes(der).replace(b"\n", b"\r\n")
    head = (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: Document concernant votre patient\r\n"
        f"Message-ID: <bench-{os.getpid()}-{number}-{time.time_ns()}@{DOMAIN}>\r\n"
        "Date: Sun, 29 Nov 2026 08:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode() + body


def _client(job: dict[str, Any]) -> tuple[float, float, int]:
    """One client process: ``sessions`` parallel aiosmtplib sessions; (start, end, sent)."""
    import aiosmtplib

    certificate = x509.load_pem_x509_certificate(job["recipient_pem"])
    per_session = [
        [_message(job["sender"], job["recipient"], certificate, i * 100000 + n) for n in range(k)]
        for i, k in enumerate(job["counts"])
    ]
    context = ssl.create_default_context(cafile=job["cafile"])
    context.check_hostname = False

    async def session(messages: list[bytes]) -> int:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=job["port"], tls_context=context, start_tls=False
        )
        await client.connect()
        await client.starttls()
        await client.login(job["sender"], job["password"])
        sent = 0
        for data in messages:
            await client.sendmail(job["sender"], [job["recipient"]], data)
            sent += 1
        await client.quit()
        return sent

    async def run() -> tuple[float, float, int]:
        job["barrier"].wait()
        start = time.monotonic()
        counts = await asyncio.gather(*(session(m) for m in per_session))
        return start, time.monotonic(), sum(counts)

    return asyncio.run(run())


async def _seed(database: Database, folder: Path) -> dict[str, Any]:
    directory = DirectoryService(database)
    ca = ec.generate_private_key(ec.SECP256R1())
    people = {}
    for number, name in enumerate(("expediteur", "destinataire"), start=1):
        from caducee.directory.identifiers import luhn_complete

        rpps = luhn_complete(f"{1000000000 + number:010d}")
        await directory.register_person(
            rpps=rpps, given_name="Bench", family_name=name, profession="médecin"
        )
        address = f"{name}@{DOMAIN}"
        await directory.create_mailbox(address=address, kind="personal", person_rpps=rpps)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = _certificate(address, key, ca)
        serial = format(certificate.serial_number, "x")
        async with database.transaction() as session:
            session.add(
                IssuedCertificate(
                    serial_hex=serial,
                    profile="person",
                    subject=f"E={address}",
                    email=address,
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                    der=certificate.public_bytes(serialization.Encoding.DER),
                )
            )
        await directory.attach_certificate(address, serial)
        people[name] = (address, certificate)
    return people


async def edge_rate(url: str, folder: Path, messages: int, sessions: int) -> float:
    """Messages per second accepted by our submission edge (wall clock, all sessions)."""
    await asyncio.to_thread(upgrade_database, url)
    database = Database(url)
    blobs = open_blob_store((folder / "blobs").as_uri())
    settings = SimpleNamespace(mail_domain=DOMAIN, data_dir=folder / "data")
    state = SimpleNamespace(settings=settings, database=database, blobs=blobs, extras={})
    cert, key = _tls_pair(folder)
    config = GatewayConfig.from_settings(
        settings, submission_port=0, inbound_enabled=False, tls_cert_file=cert, tls_key_file=key
    )
    edge = await start_smtp_edge(state, config)
    try:
        people = await _seed(database, folder)
        sender, _ = people["expediteur"]
        recipient, recipient_cert = people["destinataire"]
        password = (await edge.passwords.create(sender, "bench")).password
        processes = min(CLIENT_PROCESSES, sessions)
        manager = multiprocessing.Manager()
        barrier = manager.Barrier(processes + 1)
        jobs = []
        for p in range(processes):
            mine = list(range(p, sessions, processes))
            counts = [messages // sessions + (1 if s < messages % sessions else 0) for s in mine]
            jobs.append(
                {
                    "port": edge.port("submission"),
                    "cafile": str(cert),
                    "sender": sender,
                    "password": password,
                    "recipient": recipient,
                    "recipient_pem": recipient_cert.public_bytes(serialization.Encoding.PEM),
                    "counts": counts,
                    "barrier": barrier,
                }
            )
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = [loop.run_in_executor(pool, _client, job) for job in jobs]
            await asyncio.to_thread(barrier.wait)
            results = await asyncio.gather(*futures)
        manager.shutdown()
        sent = sum(r[2] for r in results)
        elapsed = max(r[1] for r in results) - min(r[0] for r in results)
        async with database.sessions() as session:
            from sqlalchemy import func, select

            from caducee.relay.models import Message

            stored = await session.scalar(select(func.count(Message.id)))
        assert sent == messages and stored == messages, (sent, stored)
        return messages / elapsed
    finally:
        await edge.stop()
        await database.close()


def main() -> int:
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL (5432)")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        url = f"sqlite+aiosqlite:///{folder / 'sqlite' / 'bench.db'}"
        rate = asyncio.run(edge_rate(url, folder / "sqlite", args.messages, args.sessions))
        rows.append(("Caducée submission edge (SQLite, STARTTLS+AUTH, S/MIME)", f"{rate:.0f}"))
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.conftest import (
                POSTGRES_ADMIN_DSN,
                create_postgres_database,
                drop_postgres_database,
            )

            name, pg_url = create_postgres_database(POSTGRES_ADMIN_DSN)
            try:
                (folder / "pg").mkdir()
                rate = asyncio.run(edge_rate(pg_url, folder / "pg", args.messages, args.sessions))
            finally:
                drop_postgres_database(POSTGRES_ADMIN_DSN, name)
            rows.append(("Caducée submission edge (PostgreSQL, STARTTLS+AUTH)", f"{rate:.0f}"))
    if postfix_available():
        with postfix_on_loopback() as port:
            rate = smtp_source_rate(port, args.messages, args.sessions)
        rows.append(("Postfix 2525 (plain SMTP, fsync queue, discard)", f"{rate:.0f}"))
    else:
        rows.append(("Postfix", "not installed (apt-get install postfix)"))
    print(f"\n{args.messages} messages of ~4 KB, one recipient, {args.sessions} sessions\n")
    postfix = rows[-1][1]
    print("| server | messages/s | vs Postfix |\n|---|---|---|")
    for name, value in rows:
        ratio = (
            f"{float(value) / float(postfix):.2f}x"
            if value.isdigit() and postfix.isdigit() and float(postfix) > 0
            else ""
        )
        print(f"| {name} | {value} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
