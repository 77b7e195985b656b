"""Submission (port 587 role) with real clients: smtplib and swaks, on SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
from types import SimpleNamespace

import pytest

from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.gateway import start_smtp_edge
from caducee.gateway.submission import extract_cms
from tests.gateway.conftest import (
    DOMAIN,
    EdgeWorld,
    Person,
    clear_message,
    in_thread,
    need_swaks,
    smime_message,
)


def _send(world: EdgeWorld, person: Person, to: list[str], data: bytes) -> tuple[int, bytes]:
    """One transaction after STARTTLS + AUTH; the DATA reply (or the first refusal)."""
    with world.login(person) as client:
        code, text = client.mail(person.address)
        if code != 250:
            return code, text
        for address in to:
            code, text = client.rcpt(address)
            if code != 250:
                return code, text
        return client.data(data)


async def test_smime_accepted_once_and_stored_as_is(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice")
    bob = await edge_world.person("Bob")
    message = smime_message(alice, [bob], message_id="<once-1@caducee.test>")
    code, text = await in_thread(_send, edge_world, alice, [bob.address], message)
    assert code == 250, text
    assert b"accepted as once-1@caducee.test" in text
    code, text = await in_thread(_send, edge_world, alice, [bob.address], message)  # a retry
    assert code == 250 and b"already accepted" in text
    page = await edge_world.relay.list_mailbox(bob.mailbox_id)
    assert [item.message_id for item in page.items] == ["once-1@caducee.test"]
    item = page.items[0]
    assert item.sender == alice.address
    assert item.subject == "Document concernant votre patient"  # the clear Subject is not kept
    _, stored = await edge_world.relay.fetch(bob.mailbox_id, "once-1@caducee.test")
    assert stored == extract_cms(message)
    assert b"glyc" in decrypt_enveloped(stored, bob.certificate, bob.key)


async def test_clear_text_to_internal_refused(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice")
    bob = await edge_world.person("Bob", password=False)
    data = clear_message(alice.address, bob.address, "Patient DUPONT, résultats en clair")
    code, text = await in_thread(_send, edge_world, alice, [bob.address], data)
    assert code == 554
    assert text.startswith(b"5.7.1 Refused: mail to Caduc")
    assert b"S/MIME" in text and b"Turn on S/MIME encryption" in text
    assert (await edge_world.relay.list_mailbox(bob.mailbox_id)).items == ()


async def test_recipient_sender_and_size_refusals(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice")
    bob = await edge_world.person("Bob", password=False)
    message = smime_message(alice, [bob])

    def refusals() -> dict[str, tuple[int, bytes]]:
        answers = {}
        with edge_world.login(alice) as client:
            answers["not-yours"] = client.mail(bob.address)
            client.rset()
            client.mail(alice.address)
            answers["unknown"] = client.rcpt(f"nobody@{DOMAIN}")
            answers["external"] = client.rcpt("someone@example.org")
            answers["ok"] = client.rcpt(bob.address)
        return answers

    answers = await in_thread(refusals)
    assert answers["not-yours"][0] == 553
    assert answers["not-yours"][1].startswith(b"5.7.1 MAIL FROM must be your own address")
    assert answers["unknown"][0] == 550 and answers["unknown"][1].startswith(b"5.1.1")
    assert answers["external"][0] == 550 and answers["external"][1].startswith(b"5.7.1")
    assert answers["ok"][0] == 250
    await edge_world.directory.set_active(bob.address, False)
    code, text = await in_thread(_send, edge_world, alice, [bob.address], message)
    assert (code, text[:5]) == (550, b"5.2.1")


async def test_too_large_is_552(edge_world: EdgeWorld) -> None:
    """Over the relay's ciphertext limit: 552 5.3.4; over the SMTP DATA limit: 552."""
    alice = await edge_world.person("Alice")
    bob = await edge_world.person("Bob", password=False)
    state = SimpleNamespace(
        settings=edge_world.state.settings,
        database=edge_world.database,
        blobs=edge_world.state.blobs,
        extras={},
    )
    small = await start_smtp_edge(state, edge_world.edge.config.with_(max_message_size=1024))
    huge = smime_message(alice, [bob], padding=small.config.data_size_limit)
    try:

        def send(data: bytes) -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", small.port("submission"), timeout=10) as client:
                client.starttls(context=edge_world.tls.client_context())
                client.login(alice.address, alice.password)
                client.mail(alice.address)
                client.rcpt(bob.address)
                return client.data(data)

        relay_limit = await in_thread(send, smime_message(alice, [bob], padding=4096))
        smtp_limit = await in_thread(send, huge)
    finally:
        await small.stop()
    assert relay_limit[0] == 552 and relay_limit[1].startswith(b"5.3.4 message too large")
    assert smtp_limit[0] == 552


async def test_auth_refusals_and_revocation(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice")

    def bad_login() -> str:
        client = edge_world.smtp()
        client.starttls(context=edge_world.tls.client_context())
        try:
            client.login(alice.address, "wrong-password")
        except smtplib.SMTPAuthenticationError as error:
            detail = error.smtp_error
            return f"{error.smtp_code} {detail.decode() if isinstance(detail, bytes) else detail}"
        finally:
            client.close()
        return "accepted"

    assert await in_thread(bad_login) == "535 5.7.8 Authentication credentials invalid"
    (info,) = await edge_world.passwords.list_passwords(alice.address)
    await edge_world.passwords.revoke(alice.address, info.id)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await in_thread(edge_world.login, alice)


def _plain_session(port: int, source: str) -> list[tuple[int, bytes]]:
    """EHLO then AUTH and MAIL without STARTTLS, from ``source`` (RFC 3207 §4)."""
    with smtplib.SMTP(timeout=10, source_address=(source, 0)) as client:
        client.connect("127.0.0.1", port)
        ehlo = client.ehlo()
        replies = [
            ehlo,
            client.docmd("AUTH", "PLAIN AGFsaWNlAHg="),
            client.docmd("MAIL FROM:<a@b>"),
        ]
        return replies


@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.0.2"])
async def test_tls_required_before_auth(edge_world: EdgeWorld, source: str) -> None:
    ehlo, auth, mail = await in_thread(_plain_session, edge_world.submission_port, source)
    assert b"STARTTLS" in ehlo[1] and b"AUTH" not in ehlo[1]
    assert auth[0] == 530 and mail[0] == 530


async def test_starttls_then_auth_advertised(edge_world: EdgeWorld) -> None:
    def features() -> bytes:
        with edge_world.smtp(source="127.0.0.2") as client:
            client.starttls(context=edge_world.tls.client_context())
            return client.ehlo()[1]

    assert b"AUTH LOGIN PLAIN" in await in_thread(features) or b"AUTH PLAIN LOGIN" in (
        await in_thread(features)
    )


def _swaks(world: EdgeWorld, person: Person, to: str, data: bytes, mech: str) -> str:
    path = need_swaks()
    result = subprocess.run(
        [
            path,
            "--server",
            f"127.0.0.1:{world.submission_port}",
            "--tls",
            "--auth",
            mech,
            "--auth-user",
            person.address,
            "--auth-password",
            person.password,
            "--from",
            person.address,
            "--to",
            to,
            "--data",
            "-",
            "--timeout",
            "10",
        ],
        input=data,
        capture_output=True,
        check=False,
    )
    return result.stdout.decode("utf-8", "replace")


async def test_swaks_smime_and_clear(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice")
    bob = await edge_world.person("Bob", password=False)
    message = smime_message(alice, [bob], message_id="<swaks-1@caducee.test>")
    out = await in_thread(_swaks, edge_world, alice, bob.address, message, "LOGIN")
    assert "<~  235 2.7.0" in out and "<~  250 2.0.0 accepted as swaks-1@caducee.test" in out, out
    clear = clear_message(alice.address, bob.address, "en clair")
    out = await in_thread(_swaks, edge_world, alice, bob.address, clear, "PLAIN")
    assert "<~* 554 5.7.1 Refused" in out, out
    page = await edge_world.relay.list_mailbox(bob.mailbox_id)
    assert [i.message_id for i in page.items] == ["swaks-1@caducee.test"]


async def test_raw_tls_required_from_second_loopback(edge_world: EdgeWorld) -> None:
    """A raw socket from 127.0.0.2 gets 530 for AUTH; TLS then works from there too."""

    def talk() -> tuple[bytes, bytes]:
        with socket.create_connection(
            ("127.0.0.1", edge_world.submission_port), timeout=10, source_address=("127.0.0.2", 0)
        ) as sock:
            stream = sock.makefile("rwb")
            stream.readline()
            stream.write(b"EHLO client.test\r\n")
            stream.flush()
            while not stream.readline().startswith(b"250 "):
                pass
            stream.write(b"AUTH LOGIN\r\n")
            stream.flush()
            refused = stream.readline()
            stream.write(b"STARTTLS\r\n")
            stream.flush()
            ready = stream.readline()
            context = edge_world.tls.client_context()
            with context.wrap_socket(sock, server_hostname="localhost") as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
            return refused, ready

    refused, ready = await in_thread(talk)
    assert refused.startswith(b"530")
    assert ready.startswith(b"220")
    assert ssl.OPENSSL_VERSION
