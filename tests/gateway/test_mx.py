"""MX lookup for outbound mail against a real DNS server on loopback (``dns_server.py``).

The resolver is dnspython talking UDP to the test's authoritative server; the exchangers
are aiosmtpd servers on other loopback addresses (127.0.0.2, 127.0.0.3) with STARTTLS and a
certificate for their MX names. Checked: MX order, the implicit MX (A/AAAA), null MX
(RFC 7505) → a DSN, NXDOMAIN → a DSN, SERVFAIL and timeouts → retries, a pinned route
winning over DNS, and delivery end to end through the submission port to the MX found.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from caducee.gateway._mail import serve_smtp
from caducee.gateway.config import GatewayConfig
from caducee.gateway.models import OutboundState
from caducee.gateway.mx import (
    Destination,
    DNSFailure,
    NoSuchMailDomain,
    NullMX,
    find_destinations,
)
from caducee.gateway.outbound import OutboundQueue
from caducee.ledger import EvidenceEvent
from tests.gateway.conftest import EdgeWorld, Person, clear_message, in_thread
from tests.gateway.dns_server import DNSServer
from tests.gateway.test_outbound import Peer, _dsn, _rows, _submit

ORIGIN = "mx-test.mssante.fr."
SOA = "@ IN SOA ns.mx-test.mssante.fr. hostmaster.mx-test.mssante.fr. 1 3600 600 86400 60"
MX_NAMES = ("mx1.mx-test.mssante.fr", "mx2.mx-test.mssante.fr", "mx3.mx-test.mssante.fr")
ZONE = f"""$TTL 60
{SOA}
@          IN NS   ns
ns         IN A    127.0.0.1
; three exchangers, listed out of order; mx1 (best) has no server listening
@          IN MX   20 mx2
@          IN MX   10 mx1
@          IN MX   30 mx3
mx1        IN A    127.0.0.2
mx2        IN A    127.0.0.3
mx3        IN A    127.0.0.4
; no MX: the implicit MX is the name itself (RFC 5321 §5.1)
sans-mx    IN A    127.0.0.3
sans-mx    IN AAAA ::1
; a null MX (RFC 7505)
null-mx    IN MX   0 .
; an exchanger whose name has no address at all
sans-adresse IN MX 10 nulle-part
; equal preferences: shuffled
egal       IN MX   10 mx2
egal       IN MX   10 mx3
egal       IN MX   5  mx1
; an exchanger its certificate does not name
mauvais-nom IN MX  10 autre
autre      IN A    127.0.0.3
; a CNAME on the way to the exchanger
alias      IN MX   10 relais
relais     IN CNAME mx2
"""
BODY = "Compte rendu synthétique envoyé au MX trouvé dans le DNS."


def _domain(label: str) -> str:
    return f"{label}.{ORIGIN}".rstrip(".") if label != "@" else ORIGIN.rstrip(".")


@pytest.fixture
def dns_server() -> Iterator[DNSServer]:
    with DNSServer({ORIGIN: ZONE}) as server:
        yield server


def _config(server: DNSServer, port: int = 2525, **changes: Any) -> GatewayConfig:
    return GatewayConfig(
        outbound_dns_servers=(server.address,),
        outbound_dns_timeout_seconds=1.0,
        outbound_mx_port=port,
        **changes,
    )


# -- the lookup ----------------------------------------------------------------------------


async def test_mx_records_in_preference_order(dns_server: DNSServer) -> None:
    found = await find_destinations(_domain("@"), _config(dns_server))
    assert found == [
        Destination("mx1.mx-test.mssante.fr", "127.0.0.2", 2525, 10),
        Destination("mx2.mx-test.mssante.fr", "127.0.0.3", 2525, 20),
        Destination("mx3.mx-test.mssante.fr", "127.0.0.4", 2525, 30),
    ]
    assert ("mx-test.mssante.fr.", "MX") in dns_server.queries  # asked over the wire


async def test_equal_preferences_are_shuffled(dns_server: DNSServer) -> None:
    orders = set()
    for seed in range(12):
        found = await find_destinations(
            _domain("egal"), _config(dns_server), rng=random.Random(seed)
        )
        assert found[0].name == "mx1.mx-test.mssante.fr"  # preference 5 always first
        orders.add(tuple(d.name for d in found[1:]))
    assert orders == {
        ("mx2.mx-test.mssante.fr", "mx3.mx-test.mssante.fr"),
        ("mx3.mx-test.mssante.fr", "mx2.mx-test.mssante.fr"),
    }


async def test_no_mx_falls_back_to_a_and_aaaa(dns_server: DNSServer) -> None:
    found = await find_destinations(_domain("sans-mx"), _config(dns_server))
    name = "sans-mx.mx-test.mssante.fr"
    assert found == [Destination(name, "127.0.0.3", 2525), Destination(name, "::1", 2525)]


async def test_cname_on_the_way_is_followed(dns_server: DNSServer) -> None:
    [found] = await find_destinations(_domain("alias"), _config(dns_server))
    assert (found.name, found.address) == ("relais.mx-test.mssante.fr", "127.0.0.3")


@pytest.mark.parametrize(
    ("label", "error", "reply"),
    [
        ("null-mx", NullMX, "556 5.1.10"),
        ("inexistant", NoSuchMailDomain, "550 5.1.2"),
        ("sans-adresse", NoSuchMailDomain, "550 5.1.2"),
    ],
)
async def test_permanent_answers(
    dns_server: DNSServer, label: str, error: type[Exception], reply: str
) -> None:
    with pytest.raises(error) as raised:
        await find_destinations(_domain(label), _config(dns_server))
    assert getattr(raised.value, "reply", "").startswith(reply)


async def test_servfail_and_timeout_are_temporary(dns_server: DNSServer) -> None:
    dns_server.failing.add("mx-test.mssante.fr.")
    with pytest.raises(DNSFailure) as raised:
        await find_destinations(_domain("@"), _config(dns_server))
    assert raised.value.reply.startswith("451 4.4.3")
    dns_server.silent.add("sans-mx.mx-test.mssante.fr.")
    started = datetime.now(UTC)
    with pytest.raises(DNSFailure):
        await find_destinations(_domain("sans-mx"), _config(dns_server))
    assert datetime.now(UTC) - started < timedelta(seconds=5)  # the configured lifetime


async def test_pinned_route_wins_and_asks_no_dns(dns_server: DNSServer) -> None:
    config = _config(dns_server, outbound_routes=("*=127.0.0.9:2600",))
    assert await find_destinations(_domain("@"), config) == [
        Destination("127.0.0.9", "127.0.0.9", 2600)
    ]
    assert dns_server.queries == []


async def test_bad_resolver_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="DNS server"):
        await find_destinations("x.test", GatewayConfig(outbound_dns_servers=("ns.example",)))


# -- through the outbound queue ------------------------------------------------------------


def _mx_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate naming the exchangers (TLS checks the MX name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MX_NAMES[0])])
    now = datetime.now(UTC)
    san = [x509.DNSName(n) for n in (*MX_NAMES, "sans-mx.mx-test.mssante.fr")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([*san, x509.IPAddress(IPv4Address("127.0.0.3"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "mx.pem", folder / "mx.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file


TRUST_LIST = f"""<?xml version="1.0" encoding="UTF-8"?>
<ListeBlanche xmlns="https://listeblanche.mssante.fr/schema">
  <Domaine><Nom>{_domain("@")}</Nom></Domaine>
  <Domaine><Nom>{_domain("sans-mx")}</Nom></Domaine>
  <Domaine><Nom>{_domain("null-mx")}</Nom></Domaine>
  <Domaine><Nom>{_domain("inexistant")}</Nom></Domaine>
  <Domaine><Nom>{_domain("mauvais-nom")}</Nom></Domaine>
</ListeBlanche>
""".encode()


@dataclass
class MXWorld:
    world: EdgeWorld
    queue: OutboundQueue
    peer: Peer
    dns: DNSServer
    sender: Person
    clock: list[datetime]


@pytest.fixture
async def mx_world(
    edge_world: EdgeWorld, dns_server: DNSServer, tmp_path: Path
) -> AsyncIterator[MXWorld]:
    """mx1 (127.0.0.2) is down; mx2 (127.0.0.3) is a loopback MTA with STARTTLS."""
    cert, key = _mx_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    peer = Peer()
    server = await serve_smtp(
        peer, "127.0.0.3", 0, tls_context=context, hostname=MX_NAMES[1], require_starttls=False
    )
    port = server.sockets[0].getsockname()[1]
    edge_world.edge.trust_list.replace(TRUST_LIST)
    clock = [datetime.now(UTC)]
    queue: OutboundQueue = edge_world.state.extras["outbound_queue"]
    queue.config = queue.config.with_(
        outbound_routes=(),
        outbound_dns_servers=(dns_server.address,),
        outbound_dns_timeout_seconds=1.0,
        outbound_mx_port=port,
        outbound_ca_file=cert,
    )
    queue.now = lambda: clock[0]
    sender = await edge_world.person("Alice")
    try:
        yield MXWorld(edge_world, queue, peer, dns_server, sender, clock)
    finally:
        server.close()
        await server.wait_closed()


async def _send(mx: MXWorld, to: str, body: str = BODY) -> None:
    data = clear_message(mx.sender.address, to, body)
    code, text = await in_thread(_submit, mx.world, mx.sender, [to], data)
    assert code == 250, text


async def test_delivered_end_to_end_to_the_mx_found(mx_world: MXWorld) -> None:
    to = f"dr.martin@{_domain('@')}"
    await _send(mx_world, to)
    assert await mx_world.queue.run_once() == 1
    [(mail_from, rcpts, content, over_tls)] = mx_world.peer.received
    assert (mail_from, rcpts, over_tls) == (mx_world.sender.address, [to], True)
    assert BODY.encode() in content
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.SENT.value and row.attempts == 1
    records = await mx_world.world.state.extras["evidence_log"].records_of(row.message_id)
    [(_, signed)] = records
    assert signed.record.event is EvidenceEvent.RELAY_TO_EXTERNAL
    # mx1 (preference 10) refused the connection; mx2 (20) took the mail.
    assert signed.record.extra["remote"].startswith("mx2.mx-test.mssante.fr[127.0.0.3]:")
    assert ("mx-test.mssante.fr.", "MX") in mx_world.dns.queries


async def test_implicit_mx_delivery(mx_world: MXWorld) -> None:
    to = f"secretariat@{_domain('sans-mx')}"
    await _send(mx_world, to)
    assert await mx_world.queue.run_once() == 1
    assert [r[1] for r in mx_world.peer.received] == [[to]]


@pytest.mark.parametrize(
    ("label", "status"), [("null-mx", "5.1.10"), ("inexistant", "5.1.2")], ids=["null", "nx"]
)
async def test_domain_refusing_mail_gives_a_dsn(mx_world: MXWorld, label: str, status: str) -> None:
    to = f"personne@{_domain(label)}"
    await _send(mx_world, to)
    assert await mx_world.queue.run_once() == 1
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.FAILED.value and row.attempts == 1
    assert mx_world.peer.received == []
    dsn = (await _dsn(mx_world.world, mx_world.sender)).decode()
    assert f"Final-Recipient: rfc822; {to}" in dsn
    assert "Action: failed" in dsn and f"Status: {status}" in dsn
    assert "Remote-MTA" not in dsn  # DNS answered; no MTA was reached
    assert not await mx_world.world.state.blobs.exists(row.content_sha256)


async def test_dns_failure_retries_with_backoff_then_delivers(mx_world: MXWorld) -> None:
    to = f"dr.martin@{_domain('@')}"
    mx_world.dns.failing.add("mx-test.mssante.fr.")
    await _send(mx_world, to)
    assert await mx_world.queue.run_once() == 1
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.QUEUED.value and row.attempts == 1
    assert (row.last_reply or "").startswith("451 4.4.3")
    due = row.next_attempt_at.replace(tzinfo=UTC)
    assert due == mx_world.clock[0] + timedelta(seconds=60)  # the first backoff step
    assert await mx_world.queue.run_once() == 0  # not due yet
    # Still broken, now by silence (a timeout): the next step of the schedule.
    mx_world.dns.failing.clear()
    mx_world.dns.silent.add("mx-test.mssante.fr.")
    mx_world.clock[0] = due
    assert await mx_world.queue.run_once() == 1
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.QUEUED.value and row.attempts == 2
    assert row.next_attempt_at.replace(tzinfo=UTC) == due + timedelta(seconds=300)
    assert mx_world.peer.received == []
    # DNS answers again: delivered.
    mx_world.dns.silent.clear()
    mx_world.clock[0] = due + timedelta(seconds=300)
    assert await mx_world.queue.run_once() == 1
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.SENT.value and row.attempts == 3
    assert len(mx_world.peer.received) == 1


async def test_tls_checks_the_mx_name(mx_world: MXWorld) -> None:
    """The exchanger's certificate does not name it: nothing sent, a retry later."""
    await _send(mx_world, f"dr.martin@{_domain('mauvais-nom')}")
    assert await mx_world.queue.run_once() == 1
    [row] = await _rows(mx_world.world)
    assert row.state == OutboundState.QUEUED.value and mx_world.peer.received == []
    assert "no usable answer (SSLCertVerificationError)" in (row.last_reply or "")


def test_settings_from_the_environment() -> None:
    from types import SimpleNamespace

    config = GatewayConfig.from_settings(
        SimpleNamespace(),
        environ={
            "CADUCEE_SMTP_OUTBOUND_DNS_SERVERS": "127.0.0.1:5353, [::1]:53",
            "CADUCEE_SMTP_OUTBOUND_DNS_TIMEOUT_SECONDS": "2.5",
            "CADUCEE_SMTP_OUTBOUND_MX_PORT": "2525",
        },
    )
    assert config.outbound_dns_servers == ("127.0.0.1:5353", "[::1]:53")
    assert (config.outbound_dns_timeout_seconds, config.outbound_mx_port) == (2.5, 2525)
    defaults = GatewayConfig()
    assert (defaults.outbound_dns_servers, defaults.outbound_mx_port) == ((), 25)
    assert defaults.pinned_route("x.test") is None and defaults.route("x.test") == ("x.test", 25)
