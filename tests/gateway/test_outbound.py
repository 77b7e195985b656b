"""Outbound mail to other operators: submission → queue → a real SMTP peer, on both engines.

The peer is an aiosmtpd server on loopback (with or without STARTTLS, answering what each
test needs); the client is smtplib through the submission port. Retries, the TLS rule,
DSNs (decrypted with the sender's key) and RelayToExternal evidence are checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.gateway._mail import serve_smtp
from caducee.gateway.models import OutboundMail, OutboundState
from caducee.gateway.outbound import OutboundQueue
from caducee.ledger import EvidenceEvent
from tests.gateway.conftest import PEER_DOMAIN, EdgeWorld, Person, clear_message, in_thread

BODY = "Compte rendu synthétique pour le Dr MARTIN."


@dataclass
class Peer:
    """Another operator's MX: records what it accepts, answers ``rcpt_reply``/``data_reply``."""

    rcpt_reply: str = "250 2.1.5 OK"
    data_reply: str = "250 2.0.0 queued as PEER1"
    received: list[tuple[str, list[str], bytes, bool]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.data_reply.startswith("250"):
            self.received.append(
                (
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    envelope.original_content or b"",
                    session.ssl is not None,
                )
            )
        return self.data_reply


@dataclass
class Outbound:
    world: EdgeWorld
    queue: OutboundQueue
    peer: Peer
    sender: Person
    clock: list[datetime]


async def _peer_server(world: EdgeWorld, peer: Peer, *, tls: bool) -> Any:
    context = None
    if tls:
        from caducee.gateway.edge import load_tls_context

        context = load_tls_context(world.edge.config)
    return await serve_smtp(
        peer, "127.0.0.1", 0, tls_context=context, hostname="mx.peer.test", require_starttls=False
    )


@pytest.fixture
async def outbound(edge_world: EdgeWorld) -> AsyncIterator[Outbound]:
    peer = Peer()
    server = await _peer_server(edge_world, peer, tls=True)
    port = server.sockets[0].getsockname()[1]
    clock = [datetime.now(UTC)]
    queue: OutboundQueue = edge_world.state.extras["outbound_queue"]
    queue.config = queue.config.with_(outbound_routes=(f"*=127.0.0.1:{port}",))
    queue.now = lambda: clock[0]
    sender = await edge_world.person("Alice")
    try:
        yield Outbound(edge_world, queue, peer, sender, clock)
    finally:
        server.close()
        await server.wait_closed()


def _submit(world: EdgeWorld, person: Person, to: list[str], data: bytes) -> tuple[int, bytes]:
    with world.login(person) as client:
        code, text = client.mail(person.address)
        assert code == 250, text
        for address in to:
            code, text = client.rcpt(address)
            if code != 250:
                return code, text
        return client.data(data)


async def _rows(world: EdgeWorld) -> list[OutboundMail]:
    async with world.database.sessions() as session:
        return list(await session.scalars(select(OutboundMail).order_by(OutboundMail.id)))


async def test_sent_over_tls_with_evidence(outbound: Outbound) -> None:
    world, alice = outbound.world, outbound.sender
    to = f"dr.martin@{PEER_DOMAIN}"
    data = clear_message(alice.address, to, BODY)
    code, text = await in_thread(_submit, world, alice, [to], data)
    assert code == 250 and b"queued as" in text, text
    again = await in_thread(_submit, world, alice, [to], data)  # a client retry
    assert again[0] == 250
    [row] = await _rows(world)
    assert row.state == OutboundState.QUEUED.value and row.recipients == [to]
    assert await world.state.blobs.exists(row.content_sha256)
    assert await outbound.queue.run_once() == 1
    [(mail_from, rcpts, content, over_tls)] = outbound.peer.received
    assert mail_from == alice.address and rcpts == [to] and over_tls
    assert BODY.encode() in content
    sent = message_from_bytes(content)
    assert sent["X-MSS-NIL"] == "CADUCEE"  # ECO.2.4.3 added when missing
    assert "by localhost with ESMTPSA" in sent["Received"]
    [row] = await _rows(world)
    assert row.state == OutboundState.SENT.value and row.attempts == 1
    assert row.last_reply is not None and row.last_reply.startswith("250")
    assert not await world.state.blobs.exists(row.content_sha256)  # clear text not kept
    records = await world.state.extras["evidence_log"].records_of(row.message_id)
    [(_, signed)] = records
    assert signed.record.event is EvidenceEvent.RELAY_TO_EXTERNAL
    assert signed.record.recipient_ids == (to,)
    assert signed.record.ciphertext_sha256 == row.content_sha256
    assert signed.record.extra["domain"] == PEER_DOMAIN
    assert await outbound.queue.run_once() == 0  # nothing left


async def test_tls_required_towards_mssante(outbound: Outbound) -> None:
    world, alice = outbound.world, outbound.sender
    plain_peer = Peer()
    server = await _peer_server(world, plain_peer, tls=False)
    port = server.sockets[0].getsockname()[1]
    outbound.queue.config = outbound.queue.config.with_(outbound_routes=(f"*=127.0.0.1:{port}",))
    try:
        to = f"dr.martin@{PEER_DOMAIN}"
        code, _ = await in_thread(
            _submit, world, alice, [to], clear_message(alice.address, to, BODY)
        )
        assert code == 250
        assert await outbound.queue.run_once() == 1
        assert plain_peer.received == []  # nothing sent in clear
        [row] = await _rows(world)
        assert row.state == OutboundState.QUEUED.value and row.attempts == 1
        assert "TLS required" in (row.last_reply or "")
        assert row.next_attempt_at.replace(tzinfo=UTC) == outbound.clock[0] + timedelta(seconds=60)
        assert await outbound.queue.run_once() == 0  # not due yet
    finally:
        server.close()
        await server.wait_closed()


async def _dsn(world: EdgeWorld, person: Person) -> bytes:
    page = await world.relay.list_mailbox(person.mailbox_id)
    [item] = [i for i in page.items if i.message_id.startswith("dsn-")]
    assert item.subject == "Document concernant votre patient"
    _, stored = await world.relay.fetch(person.mailbox_id, item.message_id)
    assert b"Undelivered" not in stored  # encrypted for the sender
    plain = decrypt_enveloped(stored, person.certificate, person.key)
    return plain.split(b"\r\n\r\n", 1)[1]


async def test_permanent_refusal_gives_a_dsn(outbound: Outbound) -> None:
    world, alice = outbound.world, outbound.sender
    outbound.peer.rcpt_reply = "550 5.1.1 no such user here"
    to = f"nobody@{PEER_DOMAIN}"
    code, _ = await in_thread(_submit, world, alice, [to], clear_message(alice.address, to, BODY))
    assert code == 250
    assert await outbound.queue.run_once() == 1
    [row] = await _rows(world)
    assert row.state == OutboundState.FAILED.value
    report = message_from_bytes(await _dsn(world, alice))
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    status = report.get_payload()[1]
    assert status.get_content_type() == "message/delivery-status"
    text = status.as_string()
    assert f"Final-Recipient: rfc822; {to}" in text
    assert "Action: failed" in text and "Status: 5.1.1" in text
    assert "550 5.1.1 no such user here" in text
    assert report.get_payload()[2].get_content_type() == "text/rfc822-headers"


async def test_temporary_failures_retry_then_expire(outbound: Outbound) -> None:
    world, alice, queue = outbound.world, outbound.sender, outbound.queue
    outbound.peer.data_reply = "451 4.3.0 try again later"
    to = f"dr.martin@{PEER_DOMAIN}"
    code, _ = await in_thread(_submit, world, alice, [to], clear_message(alice.address, to, BODY))
    assert code == 250
    delays = []
    for _ in range(3):
        assert await queue.run_once() == 1
        [row] = await _rows(world)
        assert row.state == OutboundState.QUEUED.value
        due = row.next_attempt_at.replace(tzinfo=UTC)
        delays.append((due - outbound.clock[0]).total_seconds())
        outbound.clock[0] = due
    assert delays == [60.0, 300.0, 300.0]  # the schedule, its last step repeated
    outbound.clock[0] += timedelta(days=6)  # past outbound_max_age_seconds (5 days)
    outbound.peer.data_reply = "451 4.3.0 still broken"
    await queue.run_once()
    [row] = await _rows(world)
    assert row.state == OutboundState.FAILED.value and row.attempts == 4
    dsn = (await _dsn(world, alice)).decode()
    assert "Status: 5.3.0" in dsn and "451 4.3.0 still broken" in dsn


async def test_recovers_after_a_temporary_failure(outbound: Outbound) -> None:
    world, alice, queue = outbound.world, outbound.sender, outbound.queue
    outbound.peer.data_reply = "421 4.4.2 closing"
    to = f"dr.martin@{PEER_DOMAIN}"
    await in_thread(_submit, world, alice, [to], clear_message(alice.address, to, BODY))
    await queue.run_once()
    outbound.peer.data_reply = "250 2.0.0 ok"
    outbound.clock[0] += timedelta(seconds=61)
    assert await queue.run_once() == 1
    [row] = await _rows(world)
    assert row.state == OutboundState.SENT.value and row.attempts == 2
    assert len(outbound.peer.received) == 1


async def test_worker_sends_on_its_own(outbound: Outbound) -> None:
    world, alice, queue = outbound.world, outbound.sender, outbound.queue
    queue.start()
    try:
        to = f"dr.martin@{PEER_DOMAIN}"
        await in_thread(_submit, world, alice, [to], clear_message(alice.address, to, BODY))
        for _ in range(100):
            if outbound.peer.received:
                break
            await asyncio.sleep(0.05)
        assert len(outbound.peer.received) == 1
    finally:
        await queue.stop()


XDM_BROKEN = (
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    "Content-Type: text/plain\r\n\r\nbonjour\r\n--b\r\n"
    'Content-Type: application/zip; name="IHE_XDM.ZIP"\r\n'
    'Content-Disposition: attachment; filename="IHE_XDM.ZIP"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\nUEsDBAoAAAAAAA==\r\n--b--\r\n"
)


@pytest.mark.parametrize(
    ("to", "extra", "body", "expected"),
    [
        ("dr@unlisted.example", "", BODY, (550, b"5.7.1 recipient domain unlisted.example")),
        (f"dr@{PEER_DOMAIN}", "X-MSS-INS: peut-etre\r\n", BODY, (554, b"5.6.0 invalid MSSante")),
        (f"dr@{PEER_DOMAIN}", "", XDM_BROKEN, (554, b"5.6.0 the IHE_XDM.ZIP attachment")),
        (
            f"dr@{PEER_DOMAIN}",
            "Content-Type: multipart/mixed; boundary=zz\r\n",
            "no boundary at all",
            (554, b"5.6.0 malformed MIME"),
        ),
        (f"dr@{PEER_DOMAIN}", "Received: x\r\n" * 31, BODY, (554, b"5.4.6 too many Received")),
    ],
    ids=["unlisted-domain", "bad-mss-header", "bad-xdm", "bad-mime", "mail-loop"],
)
async def test_bad_outbound_refused(
    outbound: Outbound, to: str, extra: str, body: str, expected: tuple[int, bytes]
) -> None:
    world, alice = outbound.world, outbound.sender
    if extra.startswith("Content-Type"):
        data = (
            f"From: {alice.address}\r\nTo: {to}\r\nSubject: x\r\n{extra}\r\n{body}\r\n"
        ).encode()
    elif body is XDM_BROKEN:
        data = f"From: {alice.address}\r\nTo: {to}\r\nSubject: x\r\n{body}".encode()
    else:
        data = clear_message(alice.address, to, body, extra=extra)
    code, text = await in_thread(_submit, world, alice, [to], data)
    assert (code, text[: len(expected[1])]) == expected, text
    assert await _rows(world) == []  # nothing queued


async def test_clear_text_to_internal_and_external_refused_whole(outbound: Outbound) -> None:
    world, alice = outbound.world, outbound.sender
    bob = await world.person("Bob", password=False)
    to = f"dr@{PEER_DOMAIN}"
    code, text = await in_thread(
        _submit, world, alice, [to, bob.address], clear_message(alice.address, to, BODY)
    )
    assert code == 554 and b"5.7.1" in text and b"S/MIME" in text
    assert await _rows(world) == []


CDA = (
    b'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
    b'<id root="1.2.250.1.999.1"/><code code="11488-4" codeSystem="2.16.840.1.113883.6.1"/>'
    b"</ClinicalDocument>"
)


def _with_xdm(sender: str, to: str, archive: bytes) -> bytes:
    import base64

    encoded = base64.encodebytes(archive).decode().replace("\n", "\r\n")
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: XDM/1.0/DDM+CR TEST Camille 01/01/1970\r\n"
        "Message-ID: <xdm-1@caducee.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nVoir le document.\r\n--b\r\n"
        'Content-Type: application/zip; name="IHE_XDM.ZIP"\r\n'
        'Content-Disposition: attachment; filename="IHE_XDM.ZIP"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}--b--\r\n"
    ).encode()


async def test_xdm_gets_its_mss_headers_and_logs_hold_no_content(
    outbound: Outbound, caplog: pytest.LogCaptureFixture
) -> None:
    from caducee.formats.xdm import XDMDocument, XDMSubmission, make_xdm

    world, alice = outbound.world, outbound.sender
    archive = make_xdm(
        XDMSubmission(
            documents=(XDMDocument("DOC0001.XML", CDA),),
            unique_id="1.2.250.1.999.3",
            source_id="1.2.250.1.999",
            patient_id="248000000000000^^^&1.2.250.1.213.1.4.8&ISO",
        )
    )
    to = f"dr.martin@{PEER_DOMAIN}"
    caplog.set_level("DEBUG", logger="caducee")
    code, text = await in_thread(_submit, world, alice, [to], _with_xdm(alice.address, to, archive))
    assert code == 250, text
    await outbound.queue.run_once()
    [(_, _, content, _)] = outbound.peer.received
    sent = message_from_bytes(content)
    assert sent["X-MSS-CODECDA"] == "11488-4" and sent["X-MSS-INS"] == "O"
    assert sent["X-MSS-NIL"] == "CADUCEE"
    logged = caplog.text
    assert "TEST Camille" not in logged and "Voir le document" not in logged
    assert "xdm-1@caducee.test" in logged  # ids are logged, content never
