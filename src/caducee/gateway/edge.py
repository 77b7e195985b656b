"""Start and stop the SMTP edge (submission and inbound) inside the server's event loop.

``start_smtp_edge(state)`` is meant for the server's lifespan: it reads the settings (see
``GatewayConfig.from_settings``), opens both listeners on the running loop, starts the
trust-list refresh, and returns an ``SMTPEdge`` whose ``stop()`` undoes all of it.
TLS (RFC 3207) uses the configured certificate, or a self-signed one kept in
``<data_dir>/gateway/`` (mode 0600) for the embedded deployment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from caducee.directory import DirectoryService
from caducee.gateway._mail import serve_smtp
from caducee.gateway.config import GatewayConfig
from caducee.gateway.inbound import InboundHandler, ensure_gateway_mailbox
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.passwords import AppPasswordService
from caducee.gateway.submission import SubmissionHandler
from caducee.gateway.trust_list import TrustList, TrustListRefresher
from caducee.relay import GroupCommitter, InProcessNotifier, MailboxNotifier, RelayService
from caducee.store import BlobStore, Database

__all__ = [
    "EdgeState",
    "SMTPEdge",
    "load_tls_context",
    "outbound_queue",
    "start_smtp_edge",
    "stop_smtp_edge",
    "tls_files",
    "write_self_signed",
]

log = logging.getLogger(__name__)


class EdgeState(Protocol):
    """What the edge needs of the server's state (``ServerState`` has it)."""

    settings: Any
    database: Database
    blobs: BlobStore
    extras: dict[str, Any]


@dataclass
class SMTPEdge:
    """The running edge: its listeners, trust list and refresher."""

    config: GatewayConfig
    trust_list: TrustList
    passwords: AppPasswordService
    refresher: TrustListRefresher | None = None
    servers: dict[str, asyncio.Server] = field(default_factory=dict)

    def port(self, name: str) -> int:
        """The bound port of ``"submission"`` or ``"inbound"`` (useful with port 0)."""
        return int(self.servers[name].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.refresher is not None:
            await self.refresher.stop()
        for server in self.servers.values():
            server.close()
        for server in self.servers.values():
            await server.wait_closed()
        self.servers.clear()
        log.info("SMTP edge stopped")


def write_self_signed(cert_path: Path, key_path: Path, hostname: str) -> None:
    """A throwaway self-signed TLS pair (EC P-256, one year) for ``hostname``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def tls_files(config: GatewayConfig) -> tuple[Path, Path]:
    """The configured TLS certificate and key, or a self-signed pair made once."""
    cert, key = config.tls_cert_file, config.tls_key_file
    if cert is None or key is None:
        folder = Path(config.data_dir) / "gateway"
        cert, key = folder / "smtp-tls-cert.pem", folder / "smtp-tls-key.pem"
        if not (cert.exists() and key.exists()):
            write_self_signed(cert, key, config.hostname)
    return cert, key


def load_tls_context(config: GatewayConfig) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or later) from the configured or default files."""
    cert, key = tls_files(config)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def _relay(state: EdgeState, config: GatewayConfig) -> RelayService:
    """The relay as the HTTP API builds it: shared notifier, committer, evidence log."""
    notifier: MailboxNotifier = state.extras.setdefault("relay_notifier", InProcessNotifier())
    evidence = state.extras.get("evidence_log")
    committer = state.extras.get("relay_committer")
    if committer is None:
        committer = state.extras["relay_committer"] = GroupCommitter(
            state.database,
            evidence=evidence,
            hooks=state.extras.setdefault("relay_commit_hooks", []),
        )
    max_size = int(state.extras.get("relay_max_message_size", config.max_message_size))
    kwargs: dict[str, Any] = {"max_size": max_size, "committer": committer, "evidence": evidence}
    if "clock" in state.extras:
        kwargs["now"] = state.extras["clock"]
    return RelayService(state.database, state.blobs, notifier, **kwargs)


async def outbound_queue(state: EdgeState, config: GatewayConfig) -> OutboundQueue:
    """The process's one outbound queue (made once, kept in ``extras["outbound_queue"]``)."""
    queue: OutboundQueue | None = state.extras.get("outbound_queue")
    if queue is None:
        gateway_id = await ensure_gateway_mailbox(state.database, config.gateway_sender_address)
        queue = state.extras["outbound_queue"] = OutboundQueue(
            state.database,
            state.blobs,
            config,
            relay=_relay(state, config),
            directory=DirectoryService(state.database, **_clock(state)),
            gateway_mailbox_id=gateway_id,
            evidence=state.extras.get("evidence_log"),
            **_clock(state),
        )
    return queue


async def start_smtp_edge(state: EdgeState, config: GatewayConfig | None = None) -> SMTPEdge:
    """Open the submission and inbound listeners on the running loop; return the handle."""
    config = config or GatewayConfig.from_settings(state.settings)
    relay = _relay(state, config)
    directory = DirectoryService(state.database, **_clock(state))
    passwords = AppPasswordService(state.database, **_clock(state))
    trust_list = TrustList(local=(*config.internal_domains, *config.trust_list_local))
    edge = SMTPEdge(config=config, trust_list=trust_list, passwords=passwords)
    context = await asyncio.to_thread(load_tls_context, config)
    try:
        if config.submission_enabled:
            outbound = await outbound_queue(state, config) if config.outbound_enabled else None
            submission = SubmissionHandler(
                relay, directory, passwords, config, trust_list=trust_list, outbound=outbound
            )
            edge.servers["submission"] = await serve_smtp(
                submission,
                config.submission_host,
                config.submission_port,
                tls_context=context,
                **submission.smtp_options(),
            )
        if config.inbound_enabled:
            gateway_id = await ensure_gateway_mailbox(state.database, config.gateway_sender_address)
            inbound = InboundHandler(relay, directory, trust_list, config, gateway_id)
            edge.servers["inbound"] = await serve_smtp(
                inbound,
                config.inbound_host,
                config.inbound_port,
                tls_context=context,
                **inbound.smtp_options(),
            )
            if config.trust_list_source:
                edge.refresher = TrustListRefresher(
                    trust_list, config.trust_list_source, config.trust_list_refresh_seconds
                )
                await edge.refresher.refresh()  # the list is there when the port opens
                edge.refresher.start(refresh_now=False)
    except BaseException:
        await edge.stop()
        raise
    state.extras["smtp_edge"] = edge
    return edge


def _clock(state: EdgeState) -> dict[str, Any]:
    return {"now": state.extras["clock"]} if "clock" in state.extras else {}


async def stop_smtp_edge(edge: SMTPEdge) -> None:
    """Close both listeners and stop the trust-list refresh."""
    await edge.stop()
