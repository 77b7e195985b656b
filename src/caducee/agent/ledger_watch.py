"""The agent's watch over the server's evidence log (DESIGN §4).

The agent pins the log's verifier key when it joins, keeps the last checkpoint it accepted,
and at every sync asks for the newest one and for an RFC 9162 consistency proof from the old
size to the new one. A log that shrank, signed two roots for one size, or cannot prove it only
grew is an alarm: the alarm is written beside the agent's state (the pages and
``caducee agent status`` show it) and the old checkpoint is kept as evidence.

It also watches its own certificates (key transparency, DESIGN §4): every certificate the
log holds for the agent's address must be one this agent asked for (its ``certificate.pem``
or one kept in ``certificate-history/``); any other is a substituted key, and an alarm.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

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

__all__ = [
    "ALARM_FILE",
    "CHECKPOINT_FILE",
    "HISTORY_FOLDER",
    "KEY_FILE",
    "LedgerAlarm",
    "LedgerWatch",
    "known_certificates",
    "read_alarm",
]

log = logging.getLogger(__name__)

KEY_FILE = "ledger-key.txt"
CHECKPOINT_FILE = "ledger-checkpoint.txt"
ALARM_FILE = "ledger-alarm.txt"
HISTORY_FOLDER = "certificate-history"  # certificates this agent had before a renewal


class LedgerAlarm(AgentError):
    """The server's evidence log contradicts what this agent saw before."""

    code = "ledger-alarm"


def read_alarm(folder: Path) -> str | None:
    """The alarm raised in this agent folder, if any (for the pages and the status)."""
    path = folder / ALARM_FILE
    return path.read_text("utf-8").strip() if path.exists() else None


def known_certificates(folder: Path, certificate_file: str = "certificate.pem") -> set[str]:
    """SHA-256 (hex) of the certificates this agent asked for: current and former ones."""
    paths = [folder / certificate_file, *sorted((folder / HISTORY_FOLDER).glob("*.pem"))]
    known = set()
    for path in paths:
        try:
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        known.add(certificate.fingerprint(hashes.SHA256()).hex())
    return known


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

    def __init__(
        self,
        folder: Path,
        client: ServerClient,
        *,
        address: str = "",
        known: Callable[[], set[str]] | None = None,
    ) -> None:
        self.folder = folder
        self.client = client
        self.address = address
        self.known = known

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

    def check_certificates(self) -> list[str]:
        """The log's certificates for this address that this agent did not ask for (alarm)."""
        if not self.address or self.known is None:
            return []
        known = self.known()
        listed = self.client.ledger_certificates(self.address)
        unexpected = sorted(
            str(e["sha256"]).lower() for e in listed if str(e["sha256"]).lower() not in known
        )
        for sha256 in unexpected:
            log.error("ledger: ALARM certificate %s issued for us without our asking", sha256[:16])
            self._alarm(
                LedgerAlarm(
                    f"certificate {sha256} was issued for {self.address} without this agent "
                    "asking for it",
                    code="unexpected-certificate",
                ),
                advice="Un certificat que ce poste n'a pas demandé a été émis pour votre adresse "
                "(clé substituée ?) : prévenez l'opérateur et le support. / A certificate this "
                "workstation did not ask for was issued for your address (a substituted key?): "
                "tell the operator and support.",
            )
        return unexpected

    def _alarm(self, exc: CaduceeError, *, advice: str = "") -> None:
        """Add the alarm to the alarm file (earlier alarms are kept; the same one once)."""
        path = self.folder / ALARM_FILE
        earlier = path.read_text("utf-8") if path.exists() else ""
        line = f"[{exc.code}] {exc.reason}"
        if line in earlier:
            return
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        advice = advice or (
            "Le journal de preuves du serveur a été réécrit ou montre une autre histoire : "
            "prévenez l'opérateur et le support. / The server's evidence log was rewritten "
            "or shows another history: tell the operator and support."
        )
        _replace(path, f"{earlier}{when} {line}\n{advice}\n")
        log.error("ledger: ALARM %s", exc.code)
