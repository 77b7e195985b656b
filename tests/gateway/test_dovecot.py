"""Dovecot started by Caducée: IMAP login with an application password, mail over LMTP.

Real peers: Debian's Dovecot (dovecot-imapd, -lmtpd, -sqlite, -pgsql) authenticating
against the test's own database (SQLite file or PostgreSQL), ``imaplib`` as the client, and
``openssl cms -decrypt`` reading the delivered message: still encrypted end to end.
"""

from __future__ import annotations

import contextlib
import imaplib
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.gateway.dovecot import DovecotServer
from caducee.gateway.imap_delivery import IMAPDelivery
from tests.gateway.conftest import EdgeWorld, Person, in_thread, smime_message

BODY = "Résultat synthétique lu dans Thunderbird: hémoglobine 14 g/dL."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SourcedIMAP(imaplib.IMAP4):
    """imaplib from a chosen loopback source address (Dovecot trusts same-IP clients)."""

    def __init__(self, host: str, port: int, source: str) -> None:
        self._source = source
        super().__init__(host, port, timeout=10)

    def _create_socket(self, timeout: Any = None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._source, 0)
        )


@dataclass
class IMAPWorld:
    world: EdgeWorld
    dovecot: DovecotServer
    delivery: IMAPDelivery
    port: int


@pytest.fixture
async def imap_world(edge_world: EdgeWorld) -> AsyncIterator[IMAPWorld]:
    if shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin") is None:
        pytest.fail("dovecot is missing: apt-get install dovecot-imapd dovecot-lmtpd "
                    "dovecot-sqlite dovecot-pgsql")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="caducee-dovecot-"))  # o+x: Dovecot's accounts
    folder.chmod(0o711)
    imap_port, lmtp_port = _free_port(), _free_port()
    config = edge_world.edge.config.with_(
        imap_port=imap_port, lmtp_port=lmtp_port, dovecot_dir=folder / "dovecot"
    )
    tls = edge_world.tls
    dovecot = DovecotServer(config, edge_world.database.url, tls.cert, tls.key)
    await dovecot.start()
    delivery = IMAPDelivery(edge_world.database, edge_world.state.blobs, lmtp_port)
    try:
        yield IMAPWorld(edge_world, dovecot, delivery, imap_port)
    finally:
        await dovecot.stop()
        if dovecot.files is not None and dovecot.files.log.exists():
            print(dovecot.files.log.read_text()[-4000:])  # shown when a test fails
        shutil.rmtree(folder, ignore_errors=True)


def _send(world: EdgeWorld, sender: Person, to: Person, message_id: str) -> None:
    data = smime_message(sender, [to], body=BODY, message_id=message_id)
    with world.login(sender) as client:
        client.sendmail(sender.address, [to.address], data)


def _read_inbox(port: int, context: ssl.SSLContext, user: str, password: str) -> list[bytes]:
    client = SourcedIMAP("127.0.0.1", port, "127.0.0.2")
    try:
        assert "LOGINDISABLED" in client.capabilities  # no password before TLS
        client.starttls(ssl_context=context)
        client.login(user, password)
        client.select("INBOX", readonly=True)
        _, found = client.search(None, "ALL")
        messages = []
        for number in found[0].split():
            _, data = client.fetch(number, "(RFC822)")
            part = data[0]
            assert isinstance(part, tuple)
            messages.append(part[1])
        client.logout()
        return messages
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()


def _login_fails(port: int, context: ssl.SSLContext, user: str, password: str) -> bool:
    client = SourcedIMAP("127.0.0.1", port, "127.0.0.2")
    try:
        client.starttls(ssl_context=context)
        client.login(user, password)
    except imaplib.IMAP4.error:
        return True
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()
    return False


async def test_imap_reads_encrypted_mail(imap_world: IMAPWorld, tmp_path: Path) -> None:
    world = imap_world.world
    alice = await world.person("Alice")
    bob = await world.person("Bob")
    await in_thread(_send, world, alice, bob, "<imap-1@caducee.test>")
    assert await imap_world.delivery.run_once() == 1
    assert await imap_world.delivery.run_once() == 0  # the cursor moved
    context = world.tls.client_context()
    [raw] = await in_thread(_read_inbox, imap_world.port, context, bob.address, bob.password)
    assert BODY.encode() not in raw  # Dovecot holds ciphertext only
    message = message_from_bytes(raw)
    assert message["Subject"] == "Document concernant votre patient"
    assert message.get_content_type() == "application/pkcs7-mime"
    der = message.get_payload(decode=True)
    assert isinstance(der, bytes)
    assert BODY.encode() in decrypt_enveloped(der, bob.certificate, bob.key)
    # An independent reader: openssl cms decrypts the very bytes IMAP returned.
    (tmp_path / "mail.eml").write_bytes(raw)
    (tmp_path / "bob.pem").write_bytes(bob.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "bob.key").write_bytes(
        bob.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-decrypt",
            "-in",
            str(tmp_path / "mail.eml"),
            "-recip",
            str(tmp_path / "bob.pem"),
            "-inkey",
            str(tmp_path / "bob.key"),
        ],
        capture_output=True,
        check=True,
    )
    assert BODY.encode() in result.stdout
    # Alice's own mailbox got nothing; a wrong password and a revoked one are refused.
    assert (
        await in_thread(_read_inbox, imap_world.port, context, alice.address, alice.password) == []
    )
    assert await in_thread(_login_fails, imap_world.port, context, bob.address, "not-it")
    [info] = await world.passwords.list_passwords(bob.address)
    await world.passwords.revoke(bob.address, info.id)
    assert await in_thread(_login_fails, imap_world.port, context, bob.address, bob.password)


async def test_every_active_password_logs_in(imap_world: IMAPWorld) -> None:
    world = imap_world.world
    bob = await world.person("Bob")
    second = (await world.passwords.create(bob.address, "mutt")).password
    context = world.tls.client_context()
    for password in (bob.password, second):
        assert await in_thread(_read_inbox, imap_world.port, context, bob.address, password) == []


async def test_fetchmail_reads_the_same_ciphertext(imap_world: IMAPWorld, tmp_path: Path) -> None:
    """fetchmail (another IMAP client) over STARTTLS with certificate checks."""
    fetchmail = shutil.which("fetchmail")
    if fetchmail is None:
        pytest.fail("fetchmail is missing: apt-get install fetchmail")
    world = imap_world.world
    alice = await world.person("Alice")
    bob = await world.person("Bob")
    await in_thread(_send, world, alice, bob, "<imap-fetchmail@caducee.test>")
    assert await imap_world.delivery.run_once() == 1
    out = tmp_path / "fetched.eml"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        f'poll localhost port {imap_world.port} proto IMAP user "{bob.address}" '
        f'password "{bob.password}" sslproto "TLS1.2+" sslcertck '
        f'sslcertfile "{world.tls.cert}" keep mda "/bin/sh -c \'cat > {out}\'"\n'
    )
    rc.chmod(0o600)
    result = await in_thread(
        subprocess.run,
        [fetchmail, "-f", str(rc), "--nosyslog", "-v"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "STARTTLS" in result.stdout + result.stderr
    raw = out.read_bytes()
    assert BODY.encode() not in raw
    der = message_from_bytes(raw).get_payload(decode=True)
    assert isinstance(der, bytes)
    assert BODY.encode() in decrypt_enveloped(der, bob.certificate, bob.key)


async def test_server_lifespan_starts_and_stops_dovecot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CADUCEE_SMTP_DOVECOT_ENABLED``: ``routes_interop.start`` runs Dovecot with the app."""
    from caducee.config import load_settings
    from caducee.server import create_app

    folder = Path(tempfile.mkdtemp(prefix="caducee-dovecot-"))
    folder.chmod(0o711)
    imap_port, lmtp_port = _free_port(), _free_port()
    monkeypatch.setenv("CADUCEE_SMTP_DOVECOT_ENABLED", "true")
    monkeypatch.setenv("CADUCEE_SMTP_IMAP_PORT", str(imap_port))
    monkeypatch.setenv("CADUCEE_SMTP_LMTP_PORT", str(lmtp_port))
    monkeypatch.setenv("CADUCEE_SMTP_DOVECOT_DIR", str(folder / "dovecot"))
    app = create_app(load_settings(data_dir=tmp_path / "data"))
    try:
        async with app.router.lifespan_context(app):

            def greeting() -> bytes:
                with socket.create_connection(("127.0.0.1", imap_port), timeout=5) as sock:
                    return sock.recv(200)

            assert b"OK" in await in_thread(greeting)
            assert "STARTTLS" in (await in_thread(greeting)).decode()
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", imap_port)) != 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
