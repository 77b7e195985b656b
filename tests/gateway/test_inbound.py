"""Inbound mail from the MSSanté trust space: encrypted on arrival, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import smtplib

from caducee.crypto.cms_decrypt import decrypt_enveloped
from tests.gateway.conftest import PEER_DOMAIN, EdgeWorld, clear_message, in_thread

BODY = "Compte rendu synthétique: patient DUPONT Jean, glycémie 5,2 mmol/L."


def _deliver(
    world: EdgeWorld, sender: str, to: list[str], data: bytes, *, tls: bool = True
) -> tuple[int, bytes]:
    """One inbound transaction (STARTTLS if asked); the first refusal or the DATA reply."""
    with smtplib.SMTP("127.0.0.1", world.inbound_port, timeout=10) as client:
        client.ehlo("mx.ch-exemple.mssante.fr")
        if tls:
            client.starttls(context=world.tls.client_context())
            client.ehlo("mx.ch-exemple.mssante.fr")
        code, text = client.mail(sender)
        if code != 250:
            return code, text
        for address in to:
            code, text = client.rcpt(address)
            if code != 250:
                return code, text
        return client.data(data)


async def test_listed_domain_encrypted_on_arrival_once(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)
    carol = await edge_world.person("Carol", password=False)
    sender = f"dr.martin@{PEER_DOMAIN}"
    data = clear_message(sender, bob.address, BODY, extra="X-MSS-NIL: REF-SYNTH-1\r\n")
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address, carol.address], data)
    assert code == 250, text
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address, carol.address], data)
    assert code == 250 and b"already accepted" in text  # the peer retried: no duplicate
    for person in (bob, carol):
        page = await edge_world.relay.list_mailbox(person.mailbox_id)
        assert len(page.items) == 1
        item = page.items[0]
        assert item.sender == sender and item.subject == "Document concernant votre patient"
        _, stored = await edge_world.relay.fetch(person.mailbox_id, item.message_id)
        assert BODY.encode() not in stored and b"DUPONT" not in stored
        assert hashlib.sha256(stored).hexdigest() == item.ciphertext_sha256
        plain = decrypt_enveloped(stored, person.certificate, person.key)
        assert plain.startswith(b"Content-Type: message/rfc822\r\n\r\nReceived: from mx.ch-exemple")
        assert BODY.encode() in plain and b"X-MSS-NIL: REF-SYNTH-1" in plain
        assert b"with ESMTPS" in plain


async def test_unlisted_domain_refused(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)
    sender = "someone@unlisted.example"
    data = clear_message(sender, bob.address, BODY)
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address], data)
    assert code == 550
    assert text.startswith(b"5.7.1 sender domain unlisted.example is not in the MSSante trust")
    assert (await edge_world.relay.list_mailbox(bob.mailbox_id)).items == ()


async def test_mail_loop_refused(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)
    sender = f"dr.martin@{PEER_DOMAIN}"
    trace = "".join(f"Received: from hop{i}.test by hop{i + 1}.test; now\r\n" for i in range(31))
    data = trace.encode() + clear_message(sender, bob.address, BODY)
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address], data, tls=False)
    assert code == 554 and text.startswith(b"5.4.6 too many Received headers (31)")
    just_under = "".join(trace.splitlines(keepends=True)[:30]).encode()
    data = just_under + clear_message(sender, bob.address, BODY + " (bis)")
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address], data, tls=False)
    assert code == 250, text


async def test_recipient_checks(edge_world: EdgeWorld) -> None:
    await edge_world.person("Bob", password=False)
    await edge_world.person("Dave", rsa_key=False, password=False)  # EC key: cannot encrypt
    sender = f"dr.martin@{PEER_DOMAIN}"

    def rcpts() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", edge_world.inbound_port, timeout=10) as client:
            ehlo = client.ehlo("mx.ch-exemple.mssante.fr")
            client.mail(sender)
            return {
                "ehlo": ehlo,
                "unknown": client.rcpt("nobody@caducee.test"),
                "external": client.rcpt("x@example.org"),
                "no-cert": client.rcpt("dave@caducee.test"),
                "ok": client.rcpt("bob@caducee.test"),
            }

    answers = await in_thread(rcpts)
    assert b"STARTTLS" in answers["ehlo"][1] and b"AUTH" not in answers["ehlo"][1]
    assert answers["unknown"][0] == 550 and answers["unknown"][1].startswith(b"5.1.1")
    assert answers["external"][0] == 550 and answers["external"][1].startswith(b"5.7.1 relaying")
    assert answers["no-cert"][0] == 450 and answers["no-cert"][1].startswith(b"4.7.1")
    assert answers["ok"][0] == 250


async def test_null_sender_judged_by_client_name(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)

    def bounce(helo: str) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", edge_world.inbound_port, timeout=10) as client:
            client.ehlo(helo)
            return client.mail("<>")

    assert (await in_thread(bounce, PEER_DOMAIN))[0] == 250
    assert (await in_thread(bounce, "mx.unlisted.example"))[0] == 550
    assert bob.address


async def test_received_from_external_evidence(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)
    sender = f"dr.martin@{PEER_DOMAIN}"
    data = clear_message(sender, bob.address, BODY + " (preuve)")
    code, text = await in_thread(_deliver, edge_world, sender, [bob.address], data)
    assert code == 250, text
    [item] = (await edge_world.relay.list_mailbox(bob.mailbox_id)).items
    records = await edge_world.state.extras["evidence_log"].records_of(item.message_id)
    events = [signed.record.event.value for _, signed in records]
    assert events[0] == "ReceivedFromExternal", events
    assert records[0][1].record.extra["origin_domain"] == PEER_DOMAIN
    assert records[0][1].record.ciphertext_sha256 == item.ciphertext_sha256


BROKEN_XDM = (
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    "Content-Type: text/plain\r\n\r\nbonjour\r\n--b\r\n"
    'Content-Type: application/zip; name="IHE_XDM.ZIP"\r\n'
    'Content-Disposition: attachment; filename="IHE_XDM.ZIP"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\nUEsDBAoAAAAAAA==\r\n--b--\r\n"
)


async def test_malformed_mime_and_xdm_refused(edge_world: EdgeWorld) -> None:
    bob = await edge_world.person("Bob", password=False)
    sender = f"dr.martin@{PEER_DOMAIN}"
    head = f"From: {sender}\r\nTo: {bob.address}\r\nSubject: x\r\nMessage-ID: <bad-1@x.test>\r\n"
    cases = {
        b"5.6.0 the IHE_XDM.ZIP attachment cannot be read": (head + BROKEN_XDM).encode(),
        b"5.6.0 malformed MIME": (
            head + "Content-Type: multipart/mixed; boundary=zz\r\n\r\nno boundary\r\n"
        ).encode(),
        b"5.6.0 malformed message: no From": b"Subject: x\r\n\r\nno sender\r\n",
        b"5.6.0 invalid MSSante header": clear_message(
            sender, bob.address, BODY, extra="X-MSS-MES: PEUT-ETRE\r\n"
        ),
    }
    for expected, data in cases.items():
        code, text = await in_thread(_deliver, edge_world, sender, [bob.address], data)
        assert (code, text[: len(expected)]) == (554, expected), text
    assert (await edge_world.relay.list_mailbox(bob.mailbox_id)).items == ()
