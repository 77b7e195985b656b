"""The agent's local state: one SQLite file (WAL), stdlib ``sqlite3``.

- ``outbox``: every outgoing file by (content SHA-256, name): the message id chosen before
  the first try (so a retry, or a restart, submits the same id: the server is idempotent on
  it) and whether it was sent. A file already ``sent`` is never submitted again.
- ``incoming``: every received message id and what became of it (written, quarantined).
- ``documents``: the SHA-256 of every document written into the inbox (no duplicates).
- ``flags``: what the content policy noticed in a received message (``pdf-only``...).
- ``state``: small values such as the sync cursor.

One ``Journal`` per thread; it holds ids and digests only, never content.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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


class Journal:
    """The local journal at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

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

    def record_incoming(
        self, message_id: str, sequence: int, sender: str, state: str, reason: str = ""
    ) -> None:
        self._db.execute(
            "INSERT INTO incoming (message_id, sequence, sender, state, reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET"
            " state = excluded.state, reason = excluded.reason, at = excluded.at",
            (message_id, sequence, sender, state, reason, _now()),
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
