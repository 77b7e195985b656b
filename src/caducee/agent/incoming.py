"""Receiving: list → fetch → archive → decrypt → verify → write into the inbox → acknowledge.

A message is acknowledged only once it is safe on disk and recorded: written into the
inbox, recorded as a duplicate, or set aside in quarantine with a reason (a bad signature, a
revoked or unknown sender certificate, a From that is not the authenticated sender,
unreadable content). Acknowledgements go out in the background; one that fails stays marked
in the journal and is sent again at the next pass.
Each message is classified by the content policy first: a PDF-only result is still written
(nothing is ever lost) and its flags are kept in the journal for the local pages.
Network trouble stops the pass without acknowledging: the next pass tries again. New mail is
awaited with the server's long poll (``/mailbox/wait``), never a busy loop.

A pass works in batches (one mailbox page): fetching, archiving, decrypting and verifying run
on a bounded pool of worker threads (``workers``); then, in the mailbox's order and in one
journal transaction, what each message writes is decided and planned (so "the same content
twice" is decided once); the files are written in parallel; one more transaction records
them; the acknowledgements go out in parallel. The cursor moves past a message in the same
transaction that records it as written (or set aside).
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Any

from cryptography import x509

from caducee.agent.client import ServerClient
from caducee.agent.errors import AgentError, NetworkError, ServerError
from caducee.agent.inbox import Delivery, InboxWriter
from caducee.agent.journal import Journal
from caducee.agent.ledger_watch import LedgerAlarm, LedgerWatch
from caducee.agent.trust import der_to_smime
from caducee.crypto.cms_decrypt import RecipientKey
from caducee.crypto.errors import CryptoError
from caducee.crypto.smime import open_smime
from caducee.crypto.trust import CertificateValidator
from caducee.errors import CaduceeError
from caducee.policy.content import Part, ReceivedFlag, classify_received

__all__ = [
    "DEFAULT_WORKERS",
    "Receiver",
    "SyncReport",
    "attachments_of",
    "flags_of",
    "parse_inner",
]

log = logging.getLogger(__name__)
DEFAULT_WORKERS = 16
# Acknowledgements per request: one server transaction (and one disk flush) for many.
ACK_BATCH = 100
# Small messages are fetched together (one request, one server transaction); big ones alone.
FETCH_BATCH = 50
FETCH_TOGETHER_MAX_SIZE = 256 * 1024
PAGE = 200  # messages listed (and handled) per batch
LEDGER_CHECK_SECONDS = 10.0  # the evidence log is checked at most this often while busy
CERTIFICATE_CHECK_SECONDS = 300.0  # own certificates in the log (key transparency)
RETRY_CAP_SECONDS = 8.0  # longest pause after failed passes (each pass already retried)


@dataclass
class SyncReport:
    """What one pass did (ids only)."""

    delivered: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    duplicates: int = 0
    files: int = 0
    failed: str = ""
    flagged: list[str] = field(default_factory=list)
    queued: int = 0


def flags_of(attachments: list[tuple[str, bytes]]) -> set[str]:
    """The content policy's flags for a received message (``pdf-only``, ``structured``...)."""
    try:
        verdict = classify_received([Part(name, data) for name, data in attachments])
    except Exception as exc:  # classification never blocks delivery
        log.warning("could not classify a message (%s)", type(exc).__name__)
        return set()
    return {flag.value for flag in verdict.flags}


def parse_inner(content: bytes) -> Message:
    """The inner message, parsed with the ``compat32`` policy: about 15 times cheaper than the
    default policy's header registry, and all the receiver needs (parts, names, Date)."""
    return BytesParser(policy=email.policy.compat32).parsebytes(content.replace(b"\r\n", b"\n"))


def attachments_of(message: Message) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every attachment; the text body when there is none.

    In a multipart message the first plain-text (or HTML) part that is not marked as an
    attachment and has no file name is the body; every other part is an attachment.
    """
    found: list[tuple[str, bytes]] = []
    body: Message | None = None
    if message.is_multipart():
        for part in message.walk():
            if part.is_multipart():
                continue
            named = part.get_filename() is not None
            attached = part.get_content_disposition() == "attachment" or named
            if body is None and not attached and part.get_content_maintype() == "text":
                body = part
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append((part.get_filename() or "document.bin", payload))
    elif message.get_content_type() == "text/plain":
        body = message
    if not found and body is not None and body.get_content_type() == "text/plain":
        payload = body.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            found.append(("message.txt", payload))
    return found


def _message_time(message: Message) -> datetime:
    try:
        when = parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError, IndexError):
        return datetime.now().astimezone()
    return when.astimezone() if when.tzinfo else when


@dataclass(frozen=True)
class _Opened:
    """What the workers made of one listed message, before anything is written."""

    item: dict[str, Any]
    done: bool = False  # handled before (a crash, a lost ack): only acknowledge
    state: str = ""  # what became of it before ("delivered", "quarantined"), when done
    ciphertext: bytes = b""
    sender: str = ""
    message: Message | None = None
    attachments: tuple[tuple[str, bytes], ...] = ()
    code: str = ""  # set: quarantine with ``reason``
    reason: str = ""
    ciphertext_sha256: str = ""

    @property
    def message_id(self) -> str:
        return str(self.item["message_id"])


class Receiver:
    """Brings one mailbox's messages into the inbox folder."""

    def __init__(
        self,
        client: ServerClient,
        journal: Journal,
        writer: InboxWriter,
        *,
        certificate: x509.Certificate,
        key: RecipientKey,
        validator: CertificateValidator,
        ledger: LedgerWatch | None = None,
        workers: int = DEFAULT_WORKERS,
        signer: Callable[[str, str], bytes] | None = None,
    ) -> None:
        self.client = client
        self.signer = signer
        self.journal = journal
        self.writer = writer
        self.certificate = certificate
        self.key = key
        self.validator = validator
        self.ledger = ledger
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        self._ledger_checked = self._certificates_checked = float("-inf")
        self._acking: dict[str, Future[dict[str, ServerError | None]]] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="receive")
        return self._pool

    def check_ledger(self) -> None:
        """Prove the server's evidence log only grew since last time, and (every five minutes)
        that it holds no certificate of ours we did not ask for; an alarm never stops the
        reception of mail (it is shown in the pages and the status instead)."""
        if self.ledger is None:
            return
        now = self._ledger_checked = time.monotonic()
        try:
            self.ledger.check()
            if now - self._certificates_checked >= CERTIFICATE_CHECK_SECONDS:
                self._certificates_checked = now
                self.ledger.check_certificates()
        except LedgerAlarm:
            pass  # written and logged by the watch
        except (CaduceeError, ValueError) as exc:  # network trouble: next round
            log.warning("ledger: checkpoint not checked (%s)", getattr(exc, "code", "error"))

    def sync_once(self, *, flush: bool = True) -> SyncReport:
        """Handle everything after the cursor; stop at the first transient failure.

        With ``flush``, wait for the acknowledgements before returning.
        """
        report = SyncReport()
        self.reap_acks()
        self.retry_acks()
        try:
            while True:
                try:
                    items, _ = self.client.list_messages(self.journal.cursor, PAGE)
                except (NetworkError, ServerError) as exc:
                    report.failed = exc.code
                    log.warning("sync: cannot list the mailbox (%s)", exc.code)
                    return report
                if not items or not self.handle_batch(items, report):
                    return report
        finally:
            self.reap_acks(wait=flush)

    def handle_batch(self, items: list[dict[str, Any]], report: SyncReport) -> bool:
        """Open in parallel; decide in order (one transaction); write in parallel; record
        (one transaction); acknowledge in parallel; move the cursor.

        Returns ``False`` when a transient failure stopped the batch (``report.failed``).
        """
        self.reap_acks()
        items = [i for i in items if int(i["sequence"]) > self.journal.cursor]
        clock = [time.perf_counter()]
        fetched = self._fetch_together(items)
        opening: list[Future[_Opened]] = [
            self.pool.submit(self._open, i, fetched.get(str(i["message_id"]))) for i in items
        ]
        opened: list[_Opened] = []
        for item, future in zip(items, opening, strict=True):
            try:
                opened.append(future.result())
            except (AgentError, OSError) as exc:
                self._stop(report, item, exc)
                for rest in opening:
                    rest.cancel()
                break
        clock.append(time.perf_counter())
        try:
            with self.journal.batch():
                plans = self._plan(opened, report)
        except (AgentError, OSError) as exc:
            if opened:
                self._stop(report, opened[0].item, exc)
            return False
        clock.append(time.perf_counter())
        writes = [self.pool.submit(self._write, one, plans.get(k)) for k, one in enumerate(opened)]
        written: list[_Opened] = []
        broken = False  # what follows a failed write stays planned: the next pass finds it
        for one, write in zip(opened, writes, strict=True):
            try:
                write.result()
            except (AgentError, OSError) as exc:
                if not broken and not report.failed:
                    self._stop(report, one.item, exc)
                broken = True
            if not broken:
                written.append(one)
        clock.append(time.perf_counter())
        with self.journal.batch():  # the records and the cursor: together or not at all
            for k, one in enumerate(written):
                self._record(one, plans.get(k), report)
            if written:
                self.journal.cursor = max(
                    self.journal.cursor, *(int(one.item["sequence"]) for one in written)
                )
        clock.append(time.perf_counter())
        self._send_acks(
            [(one.message_id, one.state if one.done else ("quarantined" if one.code else
              "delivered"), one.ciphertext_sha256) for one in written]
        )  # fmt: skip
        clock.append(time.perf_counter())
        steps = " ".join(f"{b - a:.3f}" for a, b in pairwise(clock))
        log.info("sync: batch of %d handled (open plan write record ack: %s s)", len(items), steps)
        return not report.failed

    # -- acknowledgements ------------------------------------------------------------------
    def _send_acks(self, messages: list[tuple[str, str, str]]) -> None:
        """Acknowledge in the background, up to ``ACK_BATCH`` per request; what fails stays
        in the journal and is sent again."""
        fresh = [m for m in messages if m[0] not in self._acking]
        for start in range(0, len(fresh), ACK_BATCH):
            chunk = fresh[start : start + ACK_BATCH]
            future = self.pool.submit(self._acknowledge, chunk)
            for message_id, _, _ in chunk:
                self._acking[message_id] = future

    def reap_acks(self, *, wait: bool = False) -> int:
        """Record the acknowledgements that went through; return how many failed."""
        done, failed = [], 0
        for message_id, future in list(self._acking.items()):
            if not wait and not future.done():
                continue
            del self._acking[message_id]
            try:
                refusal = future.result().get(message_id)
            except (AgentError, OSError) as exc:
                failed += 1
                log.warning("ack of %s failed (%s): sent again later", message_id,
                            getattr(exc, "code", type(exc).__name__))  # fmt: skip
                continue
            if refusal is not None and refusal.status != 404:
                failed += 1
                log.warning("ack of %s failed (%s): sent again later", message_id, refusal.code)
                continue
            done.append(message_id)  # 404: gone from the mailbox (retention), nothing to tell
        if done:
            self.journal.mark_acknowledged(done)
        return failed

    def retry_acks(self) -> None:
        """Send again the acknowledgements the journal says the server never received."""
        self._send_acks(self.journal.unacknowledged())

    @staticmethod
    def _stop(report: SyncReport, item: dict[str, Any], exc: Exception) -> None:
        report.failed = getattr(exc, "code", type(exc).__name__)
        log.warning("sync: message %s postponed (%s)", item["message_id"], report.failed)

    def _fetch_together(self, items: list[dict[str, Any]]) -> dict[str, bytes]:
        """The small messages of a batch not handled yet, fetched FETCH_BATCH per request;
        whatever this misses (trouble, a refusal) is fetched alone by :meth:`_open`."""
        wanted = []
        for item in items:
            message_id = str(item["message_id"])
            before = self.journal.incoming_record(message_id)
            if before is not None and before[0] in ("delivered", "quarantined"):
                continue
            if int(item.get("size", FETCH_TOGETHER_MAX_SIZE + 1)) <= FETCH_TOGETHER_MAX_SIZE:
                wanted.append(message_id)
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), FETCH_BATCH):
            try:
                found.update(self.client.fetch_many(wanted[start : start + FETCH_BATCH]))
            except (AgentError, OSError) as exc:
                log.info("sync: fetching together failed (%s): one by one",
                         getattr(exc, "code", type(exc).__name__))  # fmt: skip
                break
        return found

    def _open(self, item: dict[str, Any], fetched: bytes | None = None) -> _Opened:
        """Fetch (unless ``fetched``), archive, decrypt and verify (a worker thread); network
        trouble raises."""
        message_id = str(item["message_id"])
        envelope_sender = str(item.get("sender", "")).lower()
        before = self.journal.incoming_record(message_id)
        if before is not None and before[0] in ("delivered", "quarantined"):
            return _Opened(item, done=True, state=before[0], ciphertext_sha256=before[1])
        ciphertext = fetched if fetched is not None else self.client.fetch(message_id)
        digest = hashlib.sha256(ciphertext).hexdigest()
        self.writer.archive(message_id, ciphertext)
        try:
            opened = open_smime(
                der_to_smime(ciphertext), self.certificate, self.key, self.validator
            )
            if opened.sender != envelope_sender:
                raise CryptoError(
                    f"the signed From {opened.sender} is not the sender the server "
                    f"authenticated ({envelope_sender})",
                    code="sender-mismatch",
                )
            inner = parse_inner(opened.content)
            attachments = attachments_of(inner)
        except (CryptoError, ValueError) as exc:
            code = exc.code if isinstance(exc, CaduceeError) else "malformed-message"
            reason = exc.reason if isinstance(exc, CaduceeError) else str(exc)
            return _Opened(item, ciphertext=ciphertext, code=code, reason=reason,
                           ciphertext_sha256=digest)  # fmt: skip
        except AgentError:
            raise  # network trouble while fetching a CRL: try again later, not quarantine
        except Exception as exc:  # an unforeseen input must not block the mailbox
            name = type(exc).__name__
            return _Opened(
                item,
                ciphertext=ciphertext,
                code="unreadable",
                reason=f"unreadable message ({name})",
            )
        return _Opened(
            item,
            ciphertext=ciphertext,
            sender=opened.sender,
            message=inner,
            attachments=tuple(attachments),
            ciphertext_sha256=digest,
        )

    def _plan(self, opened: list[_Opened], report: SyncReport) -> dict[int, Delivery]:
        """Decide, in the mailbox's order, what each message writes (same content: once)."""
        plans: dict[int, Delivery] = {}
        seen: set[str] = set()
        for k, one in enumerate(opened):
            if one.done or one.code:
                continue
            attachments = list(one.attachments)
            flags = flags_of(attachments)
            if flags:
                self.journal.record_flags(one.message_id, flags)
            if ReceivedFlag.PDF_ONLY.value in flags:
                report.flagged.append(one.message_id)
                log.warning("message %s is a PDF-only result: delivered, flagged", one.message_id)
            assert one.message is not None
            plans[k] = self.writer.plan(
                attachments,
                sender=one.sender,
                message_id=one.message_id,
                when=_message_time(one.message),
                seen=seen,
            )
        return plans

    def _write(self, one: _Opened, plan: Delivery | None) -> None:
        """Write one message's documents, or set it aside (a worker thread)."""
        if one.code:
            self.writer.quarantine(one.message_id, one.ciphertext, one.reason, one.code)
        for planned in plan.writes if plan is not None else ():
            self.writer.write(planned)

    def _record(self, one: _Opened, plan: Delivery | None, report: SyncReport) -> None:
        """Record what became of one message (inside the batch's transaction)."""
        sender = str(one.item.get("sender", "")).lower()
        sequence = int(one.item["sequence"])
        if one.done:
            return
        if one.code:
            self.journal.record_incoming(one.message_id, sequence, sender, "quarantined",
                                         one.code, one.ciphertext_sha256)  # fmt: skip
            report.quarantined.append(one.message_id)
            return
        assert plan is not None
        delivered = self.writer.confirm(plan)
        self.journal.record_incoming(one.message_id, sequence, sender, "delivered", "",
                                     one.ciphertext_sha256)  # fmt: skip
        report.delivered.append(one.message_id)
        report.files += len(delivered.written)
        report.duplicates += delivered.duplicates
        report.queued += len(delivered.queued)
        log.info(
            "message %s delivered: %d file(s), %d to match, %d duplicate(s)",
            one.message_id,
            len(delivered.written),
            len(delivered.queued),
            delivered.duplicates,
        )

    def _acknowledge(self, messages: list[tuple[str, str, str]]) -> dict[str, ServerError | None]:
        """Tell the server these messages are safe here, in one request (a worker thread):
        with a signed acknowledgement when decrypted and verified, else a plain one. A
        signed one the server refuses is sent again unsigned."""
        wanted: list[tuple[str, bytes | None]] = []
        for message_id, state, digest in messages:
            signed = None
            if state == "delivered" and digest and self.signer is not None:
                signed = self.signer(message_id, digest)
            wanted.append((message_id, signed))
        outcomes = self.client.ack_many(wanted)
        unsigned = [
            message_id
            for message_id, signed in wanted
            if signed is not None
            and (refusal := outcomes.get(message_id)) is not None
            and refusal.code == "invalid-acknowledgement"
        ]
        if unsigned:
            for message_id in unsigned:
                log.error("the server refused our signed acknowledgement of %s: sent unsigned",
                          message_id)  # fmt: skip
            outcomes.update(self.client.ack_many([(m, None) for m in unsigned]))
        return outcomes

    def run(self, stop: threading.Event, *, poll_timeout: float = 30.0) -> None:
        """Sync, then long-poll for more, until ``stop`` is set; never raises on one message."""
        failures = 0
        waiting: list[dict[str, Any]] = []
        try:
            while not stop.is_set():
                if time.monotonic() - self._ledger_checked >= LEDGER_CHECK_SECONDS:
                    self.check_ledger()
                try:
                    report = SyncReport()
                    if not waiting or self.handle_batch(waiting, report):
                        report = self.sync_once(flush=False)
                except Exception as exc:  # a bug must not stop the reception of mail
                    log.error("sync: unexpected %s; retrying later", type(exc).__name__)
                    report = SyncReport(failed=type(exc).__name__)
                waiting = []
                if report.failed:
                    failures += 1
                    stop.wait(min(RETRY_CAP_SECONDS, 2.0**failures))
                    continue
                failures = 0
                try:
                    waiting, _ = self.client.wait(self.journal.cursor, poll_timeout)
                except AgentError as exc:
                    log.warning("sync: waiting failed (%s)", exc.code)
                    stop.wait(5.0)
        finally:
            self.close()
