"""The agent's watch over the server's evidence log (DESIGN §4).

The agent pins the log's verifier key when it joins, keeps the last checkpoint it accepted,
and at every sync asks for the newest one and for an RFC 9162 consistency proof from the old
size to the new one. A log that shrank, signed two roots for one size, or cannot prove it only
grew is an alarm: the alarm is written beside the agent's state (the pages and
``caducee agent status`` show it) and the old checkpoint is kept as evidence.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from caducee.agent.client import ServerClient
from caducee.agent.errors import AgentError
from caducee.errors import CaduceeError
from caducee.ledger import (
    Checkpoint,
    LedgerError,
    NoteVerifierKey,
    parse_verifier_key,
    verify_checkpoint,
    verify_checkpoint_consistency,
)

__all__ = ["ALARM_FILE", "CHECKPOINT_FILE", "KEY_FILE", "LedgerAlarm", "LedgerWatch", "read_alarm"]

log = logging.getLogger(__name__)

KEY_FILE = "ledger-key.txt"
CHECKPOINT_FILE = "ledger-checkpoint.txt"
ALARM_FILE = "ledger-alarm.txt"


class LedgerAlarm(AgentError):
    """The server's evidence log contradicts what this agent saw before."""

    code = "ledger-alarm"


def read_alarm(folder: Path) -> str | None:
    """The alarm raised in this agent folder, if any (for the pages and the status)."""
    path = folder / ALARM_FILE
    return path.read_text("utf-8").strip() if path.exists() else None


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class LedgerWatch:
    """Checks that each checkpoint the server shows extends the last one this agent saw."""

    def __init__(self, folder: Path, client: ServerClient) -> None:
        self.folder = folder
        self.client = client

    def pin_key(self) -> NoteVerifierKey:
        """The pinned verifier key; pinned now (trust on first use) if the agent has none."""
        path = self.folder / KEY_FILE
        if path.exists():
            return parse_verifier_key(path.read_text("utf-8").strip())
        text = self.client.ledger_key().strip()
        key = parse_verifier_key(text)
        _replace(path, text + "\n")
        log.info("ledger: verifier key %s pinned", key.name)
        return key

    def last(self, key: NoteVerifierKey) -> Checkpoint | None:
        path = self.folder / CHECKPOINT_FILE
        if not path.exists():
            return None
        return verify_checkpoint(path.read_text("utf-8"), key)

    def check(self) -> Checkpoint:
        """Accept the server's newest checkpoint if it extends the last one; else alarm."""
        key = self.pin_key()
        note = self.client.ledger_checkpoint()
        try:
            new = verify_checkpoint(note, key)
            old = self.last(key)
            if old is not None:
                proof = (
                    self.client.ledger_consistency(old.size, new.size)
                    if new.size > old.size
                    else []
                )
                verify_checkpoint_consistency(old, new, proof)
        except LedgerError as exc:
            self._alarm(exc)
            raise LedgerAlarm(f"the evidence log is not consistent: {exc.reason}") from exc
        _replace(self.folder / CHECKPOINT_FILE, note if note.endswith("\n") else note + "\n")
        return new

    def _alarm(self, exc: CaduceeError) -> None:
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _replace(
            self.folder / ALARM_FILE,
            f"{when} [{exc.code}] {exc.reason}\n"
            "Le journal de preuves du serveur a été réécrit ou montre une autre histoire : "
            "prévenez l'opérateur et le support. / The server's evidence log was rewritten "
            "or shows another history: tell the operator and support.\n",
        )
        log.error("ledger: ALARM %s", exc.code)
