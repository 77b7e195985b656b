"""The outbound queue: mail to other MSSanté operators, with retries, backoff and DSNs.

``enqueue`` makes the message durable (blob store, then one ``gateway_outbound`` row per
recipient domain, idempotent on (Message-ID, domain)) before anyone is told "accepted".
The worker sends due rows over SMTP (RFC 5321) to the domain's mail exchangers
(``gateway.mx``: DNS MX records, or a route pinned in the settings), STARTTLS first
(RFC 3207) and *required* towards MSSanté domains; a row is leased (its next attempt pushed
past the timeout) before it is tried, so two workers never send the same row at once. Then:

- 250: ``sent``, with a ``RelayToExternal`` evidence record in the same transaction;
- 4xx, no answer or DNS trouble: retried after ``outbound_retry_seconds`` (the last step
  repeats) until ``outbound_max_age_seconds``, then given up like a 5xx (4.4.7 → 5.4.7);
- 5xx, a null MX or a domain missing from DNS: ``failed`` and a DSN (RFC 3464) to the
  sender, encrypted for the sender's certificate like inbound mail, into their mailbox.

The clear MIME (DESIGN §1's stated exception) is deleted from the blob store once no queued
row needs it. Logs carry ids, domains and reply codes, never content.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import aiosmtplib
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from caducee.background import BackgroundLoop
from caducee.crypto.cms_envelope import envelope as cms_envelope
from caducee.crypto.smime import NEUTRAL_SUBJECT
from caducee.directory import DirectoryService
from caducee.evidence import EvidenceLog
from caducee.gateway._mail import INFRASTRUCTURE_ERRORS, domain_of
from caducee.gateway.config import GatewayConfig
from caducee.gateway.dsn import FailedRecipient, make_dsn
from caducee.gateway.errors import SMTPRefusal
from caducee.gateway.inbound import recipient_certificates
from caducee.gateway.models import OutboundMail, OutboundState
from caducee.gateway.mx import Destination, find_destinations
from caducee.ledger import EvidenceEvent, EvidenceRecord
from caducee.relay import DuplicateMessageId, RelayError, RelayService
from caducee.relay import Envelope as RelayEnvelope
from caducee.store import BlobStore, Database
from caducee.store.models import utcnow

__all__ = ["DeliveryOutcome", "OutboundQueue", "send_smtp"]

log = logging.getLogger(__name__)
BATCH = 20


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the remote server (or DNS) said: ``refused`` maps recipients to (code, reply)."""

    reply: str
    remote: str
    temporary: bool = False
    permanent: bool = False
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    unreachable: bool = False  # no usable SMTP answer: the next exchanger may do better


def _client_context(config: GatewayConfig) -> ssl.SSLContext:
    cafile = str(config.outbound_ca_file) if config.outbound_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _reply(code: int, text: str) -> str:
    return f"{code} {' '.join(str(text).split())}"[:500]


async def send_smtp(
    config: GatewayConfig, domain: str, sender: str, recipients: list[str], content: bytes
) -> DeliveryOutcome:
    """Deliver to ``domain``'s exchangers in MX order (the next one only when one is out of
    reach, RFC 5321 §5.1); DNS refusals and failures become outcomes. Never raises for
    remote trouble."""
    try:
        destinations = await find_destinations(domain, config)
    except SMTPRefusal as exc:  # null MX, no such domain (permanent) or DNS trouble
        temporary = exc.smtp_code < 500
        log.info("outbound to %s: DNS says %s (%s)", domain, exc.status, exc.code)
        return DeliveryOutcome(exc.reply, "", temporary, not temporary)  # no remote MTA
    outcome = DeliveryOutcome("no mail exchanger", "", temporary=True)
    for destination in destinations:
        outcome = await _send_to(config, destination, domain, sender, recipients, content)
        if not outcome.unreachable:
            break
        log.info("outbound to %s: %s out of reach, next", domain, destination.remote)
    return outcome


async def _send_to(
    config: GatewayConfig,
    destination: Destination,
    domain: str,
    sender: str,
    recipients: list[str],
    content: bytes,
) -> DeliveryOutcome:
    """One SMTP transaction with one exchanger; TLS verifies the exchanger's name."""
    remote = destination.remote
    client = aiosmtplib.SMTP(
        hostname=destination.address,
        port=destination.port,
        timeout=config.outbound_timeout_seconds,
        start_tls=False,
        tls_context=_client_context(config),
        local_hostname=config.hostname,
    )
    try:
        await client.connect()
        await client.ehlo()
        if client.supports_extension("starttls"):
            await client.starttls(server_hostname=destination.name)
            await client.ehlo()
        elif config.requires_tls(domain):
            return DeliveryOutcome(
                "TLS required towards MSSante domains but the peer offers no STARTTLS",
                remote,
                temporary=True,
                unreachable=True,
            )
        refused, reply = await client.sendmail(sender, recipients, content)
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()
        return DeliveryOutcome(
            reply=_reply(250, reply),
            remote=remote,
            refused={
                r: (resp.code, _reply(resp.code, resp.message)) for r, resp in refused.items()
            },
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = {e.recipient: (e.code, _reply(e.code, e.message)) for e in exc.recipients}
        permanent = all(code >= 500 for code, _ in codes.values())
        first = next(iter(codes.values()), (550, "550 refused"))[1]
        return DeliveryOutcome(first, remote, not permanent, permanent, codes)
    except aiosmtplib.SMTPResponseException as exc:
        reply = _reply(exc.code, exc.message)
        return DeliveryOutcome(reply, remote, exc.code < 500, exc.code >= 500)
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
        return DeliveryOutcome(
            f"no usable answer ({type(exc).__name__})", remote, temporary=True, unreachable=True
        )
    finally:
        client.close()


Sender = Callable[[GatewayConfig, str, str, list[str], bytes], Awaitable[DeliveryOutcome]]


class OutboundQueue:
    """Enqueue mail for other domains and run the delivery worker on the running loop."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        config: GatewayConfig,
        *,
        relay: RelayService,
        directory: DirectoryService,
        gateway_mailbox_id: int,
        evidence: EvidenceLog | None = None,
        now: Callable[[], datetime] = utcnow,
        send: Sender = send_smtp,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.config = config
        self.relay = relay
        self.directory = directory
        self.gateway_mailbox_id = gateway_mailbox_id
        self.evidence = evidence
        self.now = now
        self.send = send
        self._loop = BackgroundLoop("outbound-queue")

    # -- accepting ------------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        message_id: str,
        sender: str,
        sender_mailbox_id: int,
        recipients: list[str],
        content: bytes,
    ) -> int:
        """Queue ``content`` for external ``recipients`` (durable on return); new rows made."""
        by_domain: dict[str, list[str]] = {}
        for address in recipients:
            by_domain.setdefault(domain_of(address), []).append(address.lower())
        digest = await self.blobs.put(content)
        now = self.now()
        created = 0
        for domain, addresses in sorted(by_domain.items()):
            try:
                async with self.database.transaction() as session:
                    session.add(
                        OutboundMail(
                            message_id=message_id,
                            sender=sender.lower(),
                            sender_mailbox_id=sender_mailbox_id,
                            domain=domain,
                            recipients=sorted(set(addresses)),
                            content_sha256=digest,
                            size=len(content),
                            state=OutboundState.QUEUED.value,
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                created += 1
            except IntegrityError:  # the same message again (a client retry): one copy
                log.info("outbound %s for %s already queued", message_id, domain)
        log.info("outbound %s queued for %d domain(s)", message_id, created)
        self._loop.wake()
        return created

    # -- delivering -----------------------------------------------------------------------

    async def _lease(self) -> list[OutboundMail]:
        """Take due rows: push their next attempt past the timeout (one worker per row)."""
        now = self.now()
        lease_until = now + timedelta(seconds=self.config.outbound_timeout_seconds * 3)
        async with self.database.transaction() as session:
            rows = list(
                await session.scalars(
                    select(OutboundMail)
                    .where(
                        OutboundMail.state == OutboundState.QUEUED.value,
                        OutboundMail.next_attempt_at <= now,
                    )
                    .order_by(OutboundMail.next_attempt_at, OutboundMail.id)
                    .limit(BATCH)
                )
            )
            taken = []
            for row in rows:
                result = await session.execute(
                    update(OutboundMail)
                    .where(
                        OutboundMail.id == row.id,
                        OutboundMail.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    taken.append(row)
            session.expunge_all()
        return taken

    async def run_once(self) -> int:
        """Attempt every due row once; return how many were attempted."""
        rows = await self._lease()
        for row in rows:
            try:
                await self._attempt(row)
            except INFRASTRUCTURE_ERRORS:
                log.exception("outbound %d could not be processed; it stays queued", row.id)
        return len(rows)

    async def _attempt(self, row: OutboundMail) -> None:
        content = await self.blobs.get(row.content_sha256)
        outcome = await self.send(
            self.config, row.domain, row.sender, list(row.recipients), content
        )
        now = self.now()
        attempts = row.attempts + 1
        if not outcome.temporary and not outcome.permanent:
            await self._sent(row, outcome, attempts, now)
            if outcome.refused:
                await self._give_up(row, content, outcome, attempts, now, only=outcome.refused)
            return
        age = (now - _aware(row.created_at)).total_seconds()
        if outcome.permanent or age >= self.config.outbound_max_age_seconds:
            await self._give_up(row, content, outcome, attempts, now)
            return
        schedule = self.config.outbound_retry_seconds or (60.0,)
        delay = schedule[min(attempts - 1, len(schedule) - 1)]
        async with self.database.transaction() as session:
            await session.execute(
                update(OutboundMail)
                .where(OutboundMail.id == row.id)
                .values(
                    attempts=attempts,
                    next_attempt_at=now + timedelta(seconds=delay),
                    last_reply=outcome.reply,
                )
            )
        log.info(
            "outbound %d to %s deferred (attempt %d, retry in %.0f s): %s",
            row.id,
            row.domain,
            attempts,
            delay,
            outcome.reply[:3],
        )

    async def _sent(
        self, row: OutboundMail, outcome: DeliveryOutcome, attempts: int, now: datetime
    ) -> None:
        """Mark sent and record ``RelayToExternal`` in one transaction."""
        delivered = tuple(r for r in row.recipients if r not in outcome.refused)
        async with self.database.transaction() as session:
            await session.execute(
                update(OutboundMail)
                .where(OutboundMail.id == row.id)
                .values(
                    state=OutboundState.SENT.value,
                    attempts=attempts,
                    finished_at=now,
                    last_reply=outcome.reply,
                )
            )
            if self.evidence is not None and delivered:
                record = EvidenceRecord(
                    event=EvidenceEvent.RELAY_TO_EXTERNAL,
                    message_id=row.message_id,
                    ciphertext_sha256=row.content_sha256,
                    actor_id=self.evidence.origin,
                    time=now,
                    sender_id=row.sender,
                    recipient_ids=delivered,
                    previous_record_sha256=await self.evidence.last_record_digest(
                        session, row.message_id
                    ),
                    extra={"domain": row.domain, "remote": outcome.remote},
                )
                await self.evidence.append(session, record)
        log.info("outbound %d to %s sent (%d recipient(s))", row.id, row.domain, len(delivered))
        await self._forget(row.content_sha256)

    async def _give_up(
        self,
        row: OutboundMail,
        content: bytes,
        outcome: DeliveryOutcome,
        attempts: int,
        now: datetime,
        *,
        only: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """A DSN to the sender first (so nothing is lost silently), then ``failed``."""
        refused = only if only is not None else outcome.refused
        failed = [
            FailedRecipient(
                address=r,
                status=_status(refused.get(r, (0, outcome.reply))[1], outcome),
                diagnostic=refused.get(r, (0, outcome.reply))[1],
                remote_mta=outcome.remote,
            )
            for r in row.recipients
            if only is None or r in only
        ]
        dsn_sent = await self._send_dsn(row, content, failed, now)
        if only is not None:
            return  # the row itself was sent; the DSN covers the refused recipients
        note = "" if dsn_sent else " [DSN not delivered]"
        async with self.database.transaction() as session:
            await session.execute(
                update(OutboundMail)
                .where(OutboundMail.id == row.id)
                .values(
                    state=OutboundState.FAILED.value,
                    attempts=attempts,
                    finished_at=now,
                    last_reply=(outcome.reply + note)[:512],
                )
            )
        log.warning("outbound %d to %s failed for good: %s", row.id, row.domain, outcome.reply[:3])
        await self._forget(row.content_sha256)

    async def _send_dsn(
        self, row: OutboundMail, content: bytes, failed: list[FailedRecipient], now: datetime
    ) -> bool:
        """The DSN, encrypted for the sender's certificates, into the sender's mailbox."""
        seed = f"{row.message_id}|{row.domain}|{','.join(f.address for f in failed)}"
        dsn_id = f"dsn-{hashlib.sha256(seed.encode()).hexdigest()[:40]}@{self.config.hostname}"
        report = make_dsn(
            content,
            to=row.sender,
            from_address=self.config.gateway_sender_address,
            reporting_mta=self.config.hostname,
            original_message_id=row.message_id,
            arrival_date=formatdate(_aware(row.created_at).timestamp(), usegmt=True),
            failed=failed,
            message_id=dsn_id,
        )
        try:
            certificates = await recipient_certificates(self.directory, row.sender)
            entity = b"Content-Type: message/rfc822\r\n\r\n" + report
            ciphertext = await asyncio.to_thread(cms_envelope, entity, certificates)
            await self.relay.submit(
                sender_mailbox_id=self.gateway_mailbox_id,
                sender_address=self.config.gateway_sender_address,
                envelope=RelayEnvelope(
                    message_id=dsn_id,
                    sender=self.config.gateway_sender_address,
                    recipients=(row.sender,),
                    date=formatdate(now.timestamp(), usegmt=True),
                    subject=NEUTRAL_SUBJECT,
                ),
                ciphertext=ciphertext,
            )
        except DuplicateMessageId:
            return True  # an earlier try already delivered it
        except (SMTPRefusal, RelayError) as exc:
            log.error("DSN for outbound %d not delivered (%s)", row.id, exc.code)
            return False
        log.info("DSN %s delivered for outbound %d", dsn_id, row.id)
        return True

    async def _forget(self, digest: str) -> None:
        """Delete the clear MIME once no queued row still needs it."""
        async with self.database.sessions() as session:
            pending = await session.scalar(
                select(func.count(OutboundMail.id)).where(
                    OutboundMail.content_sha256 == digest,
                    OutboundMail.state == OutboundState.QUEUED.value,
                )
            )
        if not pending:
            with contextlib.suppress(*INFRASTRUCTURE_ERRORS):
                await self.blobs.delete(digest)

    # -- the worker -----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except INFRASTRUCTURE_ERRORS:
                log.exception("outbound queue pass failed; retrying")
                worked = 0
            if not await self._loop.pause(0 if worked else self.config.outbound_poll_seconds):
                return

    def start(self) -> None:
        self._loop.start(self._run)

    async def stop(self) -> None:
        await self._loop.stop()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _status(reply: str, outcome: DeliveryOutcome) -> str:
    """The RFC 3463 code in a reply (``550 5.1.1 ...``), else one for the situation."""
    parts = reply.split()
    if len(parts) > 1 and parts[1][:1] in "45" and parts[1].count(".") == 2:
        return parts[1]
    return "5.4.7" if outcome.temporary else "5.0.0"
