"""The outbox watcher: each file dropped by the practice software is sent exactly once.

A file is taken only when stable (same size and modification time for ``settle`` seconds,
and not modified for as long), so a file still being written is never sent half. The
journal is keyed by (content SHA-256, name) and holds the message id chosen before the first
try; the signed ciphertext is kept in ``pending/`` until the server accepted it, so a retry
after a crash resubmits the very same bytes and the server answers "already accepted".
After sending, the file (and its ``.to`` side-car) moves to ``sent/``; a file that cannot be
sent moves to ``errors/`` with ``<name>.reason.txt`` (:mod:`caducee.agent.reasons`: a stable
code, then what happened and what to do, French then English); an empty file is never sent.
A file dropped again after it was sent moves to ``sent/`` unsent, with a ``.reason.txt`` note
saying when and as which message it went. Network trouble leaves it for later.
Hidden files, ``*.tmp``, ``*.part``, ``*~`` and side-cars are never taken.

Stable files are handed to a bounded pool of worker threads (``workers``): each one signs,
encrypts and submits its file on its own, so the practice software's bursts are sent in
parallel. A file is in at most one worker at a time (the watcher keeps the names in flight),
and the journal, shared by the workers, serialises its writes.

The content policy is applied before encrypting: a STRICT refusal moves the file to
``errors/`` with a reason in French then English saying what to do instead; an ADVISORY
finding is logged and shown on the "sent" page. A file that is not HPRIM and has the stem
of a stable HPRIM file (``CR123.hpr`` and ``CR123.pdf``) travels with it, in one message.

With ``checks`` (:class:`~caducee.agent.send_checks.SendChecks`), the bulk-mail rules come
first, since nobody is there to confirm: an announcement-like document for many recipients
(unless confirmed on the local pages) and a document about no patient for more recipients
than the cap go to ``errors/`` with the reason. Recipients outside Caducée are refused the
same way unless ``allow_external``; then their copy is handed to the gateway in clear (over
TLS) and recorded in the journal, and the rest is encrypted as usual. A message the server
holds for a moderator is recorded ``held``, with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caducee.agent.bulk_check import Concern
from caducee.agent.errors import AgentError, NetworkError, ServerError
from caducee.agent.external import GatewayRefused, external_name, hand_off
from caducee.agent.inbox import write_exclusive
from caducee.agent.journal import Journal, OutgoingRecord
from caducee.agent.outgoing import Prepared, Sender, new_message_id
from caducee.agent.reasons import reason_line, reason_text
from caducee.agent.recipients import SIDECAR_SUFFIX, addresses_in, resolve_recipients
from caducee.agent.send_checks import SendChecks
from caducee.crypto.errors import CryptoError
from caducee.formats.sniff import FileKind, sniff
from caducee.policy.content import Mode
from caducee.policy.errors import ContentRefused, PolicyError

__all__ = [
    "IGNORED_SUFFIXES",
    "OutboxWatcher",
    "Outcome",
    "group_companions",
    "move_unique",
    "refusal_text",
]

log = logging.getLogger(__name__)
DEFAULT_WORKERS = 16
TICK_SECONDS = 0.2  # how often the outbox is looked at while files settle
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~", SIDECAR_SUFFIX)
UNREAD = "(unreadable)"  # the digest line of a file the agent could not read


def move_unique(source: Path, folder: Path) -> Path:
    """Move ``source`` into ``folder`` under its name (or ``name-2``...), never replacing."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = source.name.rpartition(".")
    if not dot:
        stem, ext = source.name, ""
    for counter in range(1, 10_000):
        target = folder / (source.name if counter == 1 else f"{stem}-{counter}{dot}{ext}")
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        source.unlink()
        return target
    raise AgentError(f"no free name for {source.name} in {folder}")


def _is_structured(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False
    return sniff(head) in (FileKind.HPRIM, FileKind.HPRIM_SANTE)


def group_companions(ready: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
    """Each HPRIM file with the other files of its stem; the rest alone, in order."""
    structured = {p for p in ready if _is_structured(p)}
    by_stem: dict[str, list[Path]] = {}
    for path in ready:
        by_stem.setdefault(path.stem, []).append(path)
    taken: set[Path] = set()
    groups: list[tuple[Path, list[Path]]] = []
    for path in ready:
        if path in structured:
            mates = [p for p in by_stem[path.stem] if p not in structured and p not in taken]
            taken.update(mates)
            groups.append((path, mates))
    for path in ready:
        if path not in structured and path not in taken:
            groups.append((path, []))
    return groups


def _named(reason: str, recipients: Sequence[str]) -> str:
    """The addresses an error is about (those its reason names, else all the file's)."""
    named = [a for a in addresses_in(reason) if a in recipients] or list(recipients)
    return ", ".join(named)


def _when(stamp: str) -> str:
    """A journal time (ISO 8601, UTC) as people read it."""
    try:
        return f"{datetime.fromisoformat(stamp):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return stamp


def refusal_text(exc: ContentRefused) -> str:
    """What was refused and what to do, in French then in English (one line per rule)."""
    french, english = [], []
    for finding in exc.findings:
        if getattr(finding, "mode", None) is not Mode.STRICT:
            continue
        fr, _, en = str(getattr(finding, "message", "")).partition(" / ")
        french.append(f"- {fr}")
        english.append(f"- {en or fr}")
    return "Français :\n" + "\n".join(french) + "\n\nEnglish:\n" + "\n".join(english) + "\n"


@dataclass(frozen=True)
class Outcome:
    """What became of one outbox file."""

    name: str
    state: str  # "sent", "held", "already-sent", "failed", "postponed"
    message_id: str = ""
    reason: str = ""
    warnings: tuple[str, ...] = ()


class OutboxWatcher:
    """Watches one outbox folder and sends its files with a ``Sender``."""

    def __init__(
        self,
        sender: Sender,
        journal: Journal,
        *,
        outbox: Path,
        sent: Path,
        errors: Path,
        pending: Path,
        settle: float = 2.0,
        workers: int = DEFAULT_WORKERS,
        checks: SendChecks | None = None,
        allow_external: bool = False,
    ) -> None:
        self.sender = sender
        self.checks = checks
        self.allow_external = allow_external
        self.journal = journal
        self.outbox = outbox
        self.sent = sent
        self.errors = errors
        self.pending = pending
        self.settle = settle
        self.workers = max(1, workers)
        self._seen: dict[str, tuple[int, int, float]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._flight: dict[str, Future[Outcome]] = {}  # name → the worker sending it

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- stability -----------------------------------------------------------------------
    def candidates(self) -> list[Path]:
        """Files of the outbox that may be documents (not hidden, temporary or side-car)."""
        found = []
        for entry in sorted(self.outbox.iterdir()) if self.outbox.is_dir() else []:
            if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIXES):
                continue
            if entry.is_file() and not entry.is_symlink():
                found.append(entry)
        return found

    def ready(self) -> list[Path]:
        """Candidates whose size and mtime have not changed for ``settle`` seconds."""
        now, wall = time.monotonic(), time.time()
        ready, current = [], {}
        for path in self.candidates():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = (stat.st_size, stat.st_mtime_ns)
            previous = self._seen.get(path.name)
            first = previous[2] if previous is not None and previous[:2] == key else now
            current[path.name] = (*key, first)
            age = wall - stat.st_mtime  # negative: a clock ahead (network share); trust `first`
            if now - first >= self.settle and (age >= self.settle or age < 0):
                ready.append(path)
        self._seen = current
        return ready

    # -- one file ------------------------------------------------------------------------
    def process(self, path: Path, companions: Sequence[Path] = ()) -> Outcome:
        """Send one stable file (and companions), or move it aside with a reason; never raises."""
        try:
            return self._process(path, list(companions))
        except (AgentError, CryptoError, OSError) as exc:
            code = getattr(exc, "code", type(exc).__name__)
            log.error("outbox: a file was not handled (%s); it stays for a retry", code)
            return Outcome(path.name, "postponed", reason=str(code))

    def _process(self, path: Path, companions: list[Path]) -> Outcome:
        try:
            data = path.read_bytes()
        except (PermissionError, IsADirectoryError) as exc:  # no retry will read it either
            technical = f"{type(exc).__name__}: {exc.strerror}"
            return self._fail(path, UNREAD, "unreadable-file", companions, technical=technical)
        digest = hashlib.sha256(data).hexdigest()
        record = self.journal.outgoing(digest, path.name)
        if record is not None and record.state == "sent":
            log.info("outbox: file %s was already sent as %s", digest[:16], record.message_id)
            self._note_already_sent(self._move_sent(path, companions), record)
            return Outcome(path.name, "already-sent", record.message_id)
        if not data.strip():
            return self._fail(path, digest, "empty-file", companions)
        try:
            recipients = resolve_recipients(path, data)
        except AgentError as exc:
            return self._fail(path, digest, exc.code, companions)
        mates = [(p.name, p.read_bytes()) for p in companions]
        if self.checks is not None:
            screened = self._screen(path, digest, data, recipients, mates, companions)
            if isinstance(screened, Outcome):
                return screened
            recipients = screened
        record = self.journal.begin_outgoing(digest, path.name, new_message_id(self.sender.address))
        try:
            prepared = self._prepared(record.message_id, recipients, path.name, data, mates)
            result = self.sender.submit(prepared)
        except (NetworkError, ServerError) as exc:
            if isinstance(exc, NetworkError) or exc.retryable:
                log.warning("outbox: %s postponed (%s)", record.message_id, exc.code)
                return Outcome(path.name, "postponed", record.message_id, exc.code)
            values = {"addresses": _named(exc.reason, recipients)}
            return self._fail(path, digest, exc.code, companions, values=values)
        except ContentRefused as exc:
            detail = refusal_text(exc)  # the policy's own texts say what to do
            return self._fail(path, digest, exc.code, companions, line=exc.reason, detail=detail)
        except (AgentError, CryptoError, PolicyError) as exc:
            values = {"addresses": _named(exc.reason, recipients)}
            return self._fail(
                path, digest, exc.code, companions, values=values, technical=exc.reason
            )
        warned = ",".join(prepared.warnings)
        state = "held" if result.held else "sent"
        self.journal.finish_outgoing(
            digest,
            path.name,
            state=state,
            recipients=result.recipients,
            reason=result.held or (f"advisory: {warned}" if warned else ""),
        )
        (self.pending / f"{record.message_id}.json").unlink(missing_ok=True)
        self._move_sent(path, companions)
        return Outcome(path.name, state, record.message_id, result.held, warnings=prepared.warnings)

    def _screen(
        self,
        path: Path,
        digest: str,
        data: bytes,
        recipients: list[str],
        mates: list[tuple[str, bytes]],
        companions: list[Path],
    ) -> list[str] | Outcome:
        """The bulk rules and the external recipients: the internal recipients left to
        encrypt for, or the outcome (refused, postponed, or all handed to the gateway)."""
        assert self.checks is not None
        try:
            plan = self.checks.plan(recipients, [(path.name, data), *mates])
        except (NetworkError, ServerError) as exc:
            if isinstance(exc, ServerError) and not exc.retryable:
                values = {"addresses": _named(exc.reason, recipients)}
                return self._fail(path, digest, exc.code, companions, values=values)
            log.warning("outbox: recipients of %s not sorted yet (%s)", digest[:16], exc.code)
            return Outcome(path.name, "postponed", reason=exc.code)
        advice = plan.advice
        concerns = [c for c in advice.concerns if c is not Concern.OVER_LIMIT]
        if Concern.ANNOUNCEMENT in concerns and self.checks.confirmed(digest, path.name):
            concerns.remove(Concern.ANNOUNCEMENT)
        if concerns:
            bulk = {
                "count": advice.recipients,
                "limit": advice.limit,
                "cues": ", ".join(advice.cue_names),
            }
            return self._fail(path, digest, concerns[0].value, companions, values=bulk)
        if not plan.external:
            return list(plan.internal)
        external = {"addresses": ", ".join(plan.external)}
        if not self.allow_external:
            return self._fail(path, digest, "external-refused", companions, values=external)
        try:
            handed = hand_off(
                self.sender.client,
                self.journal,
                sender=self.sender.address,
                recipients=plan.external,
                name=path.name,
                data=data,
                digest=digest,
                message_id=new_message_id(self.sender.address),
                companions=mates,
                sorter=self.checks.sorter,
            )
        except GatewayRefused as exc:
            return self._fail(path, digest, exc.code, companions, values=external)
        except (NetworkError, ServerError) as exc:
            log.warning("outbox: external copy of %s postponed (%s)", digest[:16], exc.code)
            return Outcome(path.name, "postponed", reason=exc.code)
        if plan.internal:
            return list(plan.internal)
        self._move_sent(path, companions)
        return Outcome(path.name, "sent", handed.message_id)

    def _prepared(
        self,
        message_id: str,
        to: list[str],
        name: str,
        data: bytes,
        companions: Sequence[tuple[str, bytes]] = (),
    ) -> Prepared:
        """The ciphertext of an earlier attempt if there was one, else a new one, kept."""
        stash = self.pending / f"{message_id}.json"
        if stash.exists():
            saved = json.loads(stash.read_text("utf-8"))
            return Prepared(
                message_id,
                tuple(saved["to"]),
                saved["date"],
                base64.b64decode(saved["der"]),
                tuple(saved.get("warnings", ())),
            )
        extra = {"companions": companions} if companions else {}
        prepared = self.sender.prepare(to, name, data, message_id=message_id, **extra)
        saved = {
            "to": list(prepared.recipients),
            "date": prepared.date,
            "der": base64.b64encode(prepared.der).decode("ascii"),
            "warnings": list(prepared.warnings),
        }
        write_exclusive(self.pending, stash.name, json.dumps(saved).encode(), mode=0o600)
        return prepared

    def _move_sent(self, path: Path, companions: Sequence[Path] = ()) -> Path:
        """Move the file (side-car and companions too) into ``sent/``; where it went."""
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        moved = move_unique(path, self.sent)
        if sidecar.exists():
            move_unique(sidecar, self.sent)
        for mate in companions:
            if mate.exists():
                move_unique(mate, self.sent)
        return moved

    def _note_already_sent(self, moved: Path, record: OutgoingRecord) -> None:
        """A note beside a file dropped again: it was not sent again, and when it went."""
        values = {"date": _when(record.updated_at), "message_id": record.message_id}
        text = (
            f"file: {moved.name}\nsha256: {record.sha256}\ncode: already-sent\n"
            f"message_id: {record.message_id}\nsent_at: {record.updated_at}\n"
            f"reason: {reason_line('already-sent', **values)}\n\n"
            + reason_text("already-sent", **values)
        )
        write_exclusive(self.sent, f"{moved.name}.reason.txt", text.encode("utf-8"))

    def _fail(
        self,
        path: Path,
        digest: str,
        code: str,
        companions: Sequence[Path] = (),
        *,
        values: Mapping[str, object] | None = None,
        line: str = "",
        detail: str = "",
        technical: str = "",
    ) -> Outcome:
        """Move the file aside with ``<name>.reason.txt``: the code, the reason on one line
        and in full (French then English, from the table unless ``line``/``detail`` are
        given), and ``technical`` (the error's own words) when it adds something."""
        filled = {"sidecar": path.name + SIDECAR_SUFFIX, **(values or {})}
        line = line or reason_line(code, **filled)
        detail = detail or reason_text(code, **filled)
        moved = move_unique(path, self.errors)
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if sidecar.exists():
            move_unique(sidecar, self.errors)
        for mate in companions:
            if mate.exists():
                move_unique(mate, self.errors)
        text = f"file: {path.name}\nsha256: {digest}\ncode: {code}\nreason: {line}\n"
        if technical:
            text += f"technical: {technical}\n"
        external = self.journal.outgoing(digest, external_name(path.name))
        if external is not None and external.state == "sent":
            text += f"external_copy: {external.message_id} ({', '.join(external.recipients)})\n"
        text += "\n" + detail
        write_exclusive(self.errors, f"{moved.name}.reason.txt", text.encode("utf-8"))
        if self.journal.outgoing(digest, path.name) is not None:
            self.journal.finish_outgoing(digest, path.name, state="failed", reason=code)
        log.error("outbox: file %s moved to errors (%s)", digest[:16], code)
        return Outcome(path.name, "failed", reason=code)

    # -- loops ---------------------------------------------------------------------------
    def _safe_process(self, path: Path, companions: list[Path]) -> Outcome:
        try:
            return self.process(path, companions)
        except Exception as exc:  # a bug must not stop the outbox: log, retry later
            log.error("outbox: unexpected %s; the file stays for a retry", type(exc).__name__)
            return Outcome(path.name, "postponed", reason=type(exc).__name__)

    def dispatch(self) -> list[Future[Outcome]]:
        """Hand every stable file not already in flight to the workers (does not wait)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="outbox")
        futures = []
        for path, companions in group_companions(
            [p for p in self.ready() if p.name not in self._flight]
        ):
            mates = [m for m in companions if m.name not in self._flight]
            future = self._pool.submit(self._safe_process, path, mates)
            for name in (path.name, *(m.name for m in mates)):
                self._flight[name] = future
            futures.append(future)
        return futures

    def reap(self) -> list[Outcome]:
        """Outcomes of the workers that finished (their files have left the outbox)."""
        done = {name: f for name, f in self._flight.items() if f.done()}
        for name in done:
            del self._flight[name]
        return [f.result() for f in dict.fromkeys(done.values())]

    def process_ready(self) -> list[Outcome]:
        """Send every stable file now, in parallel; the outcomes in the outbox's order."""
        futures = self.dispatch()
        outcomes = [f.result() for f in futures]
        self.reap()
        return outcomes

    def once(self) -> list[Outcome]:
        """Look, wait until files settle, send what is stable (``watch --once``)."""
        self.ready()
        if self.candidates():
            time.sleep(self.settle + 0.1)
        return self.process_ready()

    def run(self, stop: threading.Event) -> None:
        """Send files as they settle, until ``stop`` is set (file events, or a short tick)."""
        self.outbox.mkdir(parents=True, exist_ok=True)
        try:
            while not stop.is_set():
                self.reap()
                self.dispatch()
                stop.wait(TICK_SECONDS)
        finally:
            self.close()
