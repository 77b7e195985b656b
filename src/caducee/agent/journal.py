"""The agent's local state: one SQLite file (WAL), stdlib ``sqlite3``.

- ``outbox``: every outgoing file by (content SHA-256, name): the message id chosen before
  the first try (so a retry, or a restart, submits the same id: the server is idempotent on
  it) and whether it was sent. A file already ``sent`` is never submitted again.
- ``incoming``: every received message id, what became of it (written, quarantined) and
  whether the server was told (``acked``: an acknowledgement that failed is sent again).
- ``documents``: the SHA-256 of every document written into the inbox (no duplicates).
- ``flags``: what the content policy noticed in a received message (``pdf-only``...).
- ``state``: small values such as the sync cursor.

A ``Journal`` may be shared by the agent's worker threads: every statement runs under one
lock, and ``batch()`` groups several writes into one transaction (one commit, one fsync). A
document is recorded *before* it is written (``planned``) and confirmed after: a crash between
the two leaves a trace that tells the next attempt to look for the file instead of writing it
again. It holds ids and digests only, never content.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Journal", "OutgoingRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    sha256 TEXT NOT NULL, name TEXT NOT NULL, message_id TEXT NOT NULL,
    state TEXT NOT NULL, recipients TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (sha256, name));
CREATE TABLE IF NOT EXISTS incoming (
    message_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, sender TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY, message_id TEXT NOT NULL, path TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS planned (
    sha256 TEXT PRIMARY KEY, message_id TEXT NOT NULL, folder TEXT NOT NULL,
    name TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS duplicates (
    sha256 TEXT NOT NULL, message_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (sha256, message_id));
CREATE TABLE IF NOT EXISTS flags (
    message_id TEXT NOT NULL, flag TEXT NOT NULL, PRIMARY KEY (message_id, flag));
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class OutgoingRecord:
    """What the journal knows of one outgoing file."""

    sha256: str
    name: str
    message_id: str
    state: str  # "pending", "sent" or "failed"
    recipients: tuple[str, ...]
    reason: str
    updated_at: str


def _write_ahead_logging(connection: sqlite3.Connection, patience: float = 30.0) -> None:
    """``PRAGMA journal_mode=WAL``, again until it is not locked.

    Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is
    locked" at once, without its busy timeout, to a connection that asks while another
    holds the file (deadlock avoidance): the agent's loops and pages open the journal
    together at start-up, and one of them failed so (9 opens in 600, by 6 threads at once).
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Journal:
    """The local journal at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )
        _write_ahead_logging(self._connection)
        self._connection.execute("PRAGMA synchronous=FULL")
        self._connection.execute("BEGIN IMMEDIATE")  # two threads may open it at once
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._connection.execute(statement)
            self._upgrade()
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")
        self._db = _Locked(self._connection, self._lock)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _upgrade(self) -> None:
        """Columns added after the first release (rows from before were acknowledged)."""
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(incoming)")}
        if "acked" not in columns:
            self._connection.execute(
                "ALTER TABLE incoming ADD COLUMN acked INTEGER NOT NULL DEFAULT 1"
            )
        if "ciphertext_sha256" not in columns:
            self._connection.execute(
                "ALTER TABLE incoming ADD COLUMN ciphertext_sha256 TEXT NOT NULL DEFAULT ''"
            )

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several writes in one transaction (one commit): all of them or none."""
        with self._lock:
            if self._connection.in_transaction:  # nested: the outer batch commits
                yield
                return
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- outgoing ------------------------------------------------------------------------
    def outgoing(self, sha256: str, name: str) -> OutgoingRecord | None:
        row = self._db.execute(
            "SELECT sha256, name, message_id, state, recipients, reason, updated_at"
            " FROM outbox WHERE sha256 = ? AND name = ?",
            (sha256, name),
        ).fetchone()
        if row is None:
            return None
        recipients = tuple(r for r in row[4].split(",") if r)
        return OutgoingRecord(row[0], row[1], row[2], row[3], recipients, row[5], row[6])

    def begin_outgoing(self, sha256: str, name: str, message_id: str) -> OutgoingRecord:
        """Record a file about to be sent, keeping the message id of an earlier attempt."""
        now = _now()
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (sha256, name, message_id, state, created_at,"
            " updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
            (sha256, name, message_id, now, now),
        )
        record = self.outgoing(sha256, name)
        assert record is not None
        return record

    def finish_outgoing(
        self,
        sha256: str,
        name: str,
        *,
        state: str,
        recipients: tuple[str, ...] = (),
        reason: str = "",
    ) -> None:
        self._db.execute(
            "UPDATE outbox SET state = ?, recipients = ?, reason = ?, updated_at = ?"
            " WHERE sha256 = ? AND name = ?",
            (state, ",".join(recipients), reason, _now(), sha256, name),
        )

    def recent_outgoing(self, limit: int = 50) -> list[OutgoingRecord]:
        rows = self._db.execute(
            "SELECT sha256, name, message_id, state, recipients, reason, updated_at FROM outbox"
            " ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            OutgoingRecord(
                r[0], r[1], r[2], r[3], tuple(x for x in r[4].split(",") if x), r[5], r[6]
            )
            for r in rows
        ]

    # -- incoming ------------------------------------------------------------------------
    def incoming_state(self, message_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM incoming WHERE message_id = ?", (message_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def incoming_record(self, message_id: str) -> tuple[str, str] | None:
        """(state, ciphertext SHA-256) of a message handled before, if it was."""
        row = self._db.execute(
            "SELECT state, ciphertext_sha256 FROM incoming WHERE message_id = ?", (message_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def record_incoming(
        self,
        message_id: str,
        sequence: int,
        sender: str,
        state: str,
        reason: str = "",
        ciphertext_sha256: str = "",
    ) -> None:
        """What became of a message; it is then to be acknowledged (``unacknowledged``)."""
        self._db.execute(
            "INSERT INTO incoming (message_id, sequence, sender, state, reason, at, acked,"
            " ciphertext_sha256) VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (message_id)"
            " DO UPDATE SET state = excluded.state, reason = excluded.reason, at = excluded.at",
            (message_id, sequence, sender, state, reason, _now(), ciphertext_sha256),
        )

    def unacknowledged(self, limit: int = 500) -> list[tuple[str, str, str]]:
        """(message id, state, ciphertext SHA-256) of messages the server was not told of."""
        rows = self._db.execute(
            "SELECT message_id, state, ciphertext_sha256 FROM incoming WHERE acked = 0"
            " ORDER BY sequence LIMIT ?",
            (limit,),
        ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def mark_acknowledged(self, message_ids: list[str]) -> None:
        self._db.executemany(
            "UPDATE incoming SET acked = 1 WHERE message_id = ?", [(m,) for m in message_ids]
        )

    def recent_incoming(self, limit: int = 50) -> list[tuple[str, int, str, str, str, str]]:
        rows = self._db.execute(
            "SELECT message_id, sequence, sender, state, reason, at FROM incoming"
            " ORDER BY sequence DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [tuple(row) for row in rows]

    # -- documents -----------------------------------------------------------------------
    def document_path(self, sha256: str) -> str | None:
        """Where a document with this content was already written, if it was."""
        row = self._db.execute("SELECT path FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else str(row[0])

    def document_message(self, sha256: str) -> str | None:
        """The message id whose document with this content was written, if any."""
        row = self._db.execute(
            "SELECT message_id FROM documents WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return None if row is None else str(row[0])

    def record_document(self, sha256: str, message_id: str, path: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO documents (sha256, message_id, path, at) VALUES (?, ?, ?, ?)",
            (sha256, message_id, path, _now()),
        )

    def plan_document(self, sha256: str, message_id: str, folder: str, name: str) -> None:
        """Before writing: which file this content is about to become (crash recovery)."""
        self._db.execute(
            "INSERT INTO planned (sha256, message_id, folder, name, at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (sha256) DO UPDATE SET message_id = excluded.message_id,"
            " folder = excluded.folder, name = excluded.name, at = excluded.at",
            (sha256, message_id, folder, name, _now()),
        )

    def planned_document(self, sha256: str) -> tuple[str, str, str] | None:
        """(message id, folder, name) of a write begun and not confirmed, if any."""
        row = self._db.execute(
            "SELECT message_id, folder, name FROM planned WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def confirm_document(self, sha256: str, message_id: str, path: str) -> None:
        """The file is in place: record it and forget the plan, in one transaction."""
        with self.batch():
            self.record_document(sha256, message_id, path)
            self._db.execute("DELETE FROM planned WHERE sha256 = ?", (sha256,))

    def move_document(self, sha256: str, path: str) -> None:
        """A document moved (from the "to match" queue into the inbox)."""
        self._db.execute("UPDATE documents SET path = ? WHERE sha256 = ?", (path, sha256))

    def record_flags(self, message_id: str, flags: set[str] | frozenset[str]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO flags (message_id, flag) VALUES (?, ?)",
            [(message_id, flag) for flag in sorted(flags)],
        )

    def flags_of(self, message_id: str) -> set[str]:
        rows = self._db.execute("SELECT flag FROM flags WHERE message_id = ?", (message_id,))
        return {str(row[0]) for row in rows}

    def document_flags(self) -> dict[str, set[str]]:
        """Flags of the message each written document came from, by document path."""
        rows = self._db.execute(
            "SELECT d.path, f.flag FROM documents d JOIN flags f ON f.message_id = d.message_id"
        )
        found: dict[str, set[str]] = {}
        for path, flag in rows:
            found.setdefault(str(path), set()).add(str(flag))
        return found

    def record_duplicate(self, sha256: str, message_id: str) -> None:
        """A document received again (same content): recorded, not written twice."""
        self._db.execute(
            "INSERT OR IGNORE INTO duplicates (sha256, message_id, at) VALUES (?, ?, ?)",
            (sha256, message_id, _now()),
        )

    def duplicate_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM duplicates").fetchone()[0])

    # -- small values --------------------------------------------------------------------
    def get(self, key: str, default: str = "") -> str:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def cursor(self) -> int:
        return int(self.get("cursor", "0") or 0)

    @cursor.setter
    def cursor(self, value: int) -> None:
        self.set("cursor", str(value))


class _Cursor:
    """Rows fetched while the lock was held (a cursor must not be shared across threads)."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Locked:
    """The connection's ``execute``/``executemany`` under the journal's lock."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock) -> None:
        self._connection = connection
        self._lock = lock

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> _Cursor:
        with self._lock:
            return _Cursor(self._connection.execute(sql, parameters).fetchall())

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> _Cursor:
        with self._lock:
            self._connection.executemany(sql, rows)
            return _Cursor([])
