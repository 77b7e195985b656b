"""What the server says of this sender: sending limits, sanctions, the charter, the support.

- ``GET /api/v1/policy/limits``: the caller's limits. Kept in ``sending-limits.json`` in the
  agent folder (atomically) and asked again after ``max_age``; when the server cannot be
  reached the last copy is used, else :data:`FALLBACK_LIMITS`, and it is asked again after
  ``retry_after``: a check before sending never waits on the server.
- ``GET /api/v1/policy/sanctions``: the sanctions in force (asked at each use, short cache).
- ``GET /api/v1/charter`` and ``GET /api/v1/support``: the charter (its text, to quote it, and
  its address) and the support contact, kept ``info_seconds`` in memory.

Every answer is ``None`` (or the fallback) when the server is unreachable or refuses: the
pages show that, they do not fail.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from caducee.agent.errors import AgentError
from caducee.policy.bulk import Limits
from caducee.policy.protocol import PERSONAL_LIMITS, SANCTION_RANK

__all__ = [
    "FALLBACK_LIMITS",
    "LIMITS_FILE",
    "Charter",
    "Sanction",
    "Standing",
    "StandingSource",
    "strongest_level",
]

log = logging.getLogger(__name__)
LIMITS_FILE = "sending-limits.json"
FALLBACK_LIMITS = PERSONAL_LIMITS
"""A personal mailbox's platform defaults, used until the server has answered once."""


class StandingSource(Protocol):
    """What is asked (the ``ServerClient``)."""

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response: ...


@dataclass(frozen=True)
class Sanction:
    """A sanction in force on this sender, as the server shows it."""

    level: str  # "warning", "hold" or "block"
    reason: str
    since: str


@dataclass(frozen=True)
class Charter:
    """The charter of good use: its version, text (to quote) and address."""

    version: int
    text: str
    url: str


def strongest_level(sanctions: list[Sanction]) -> str | None:
    """The level that applies: the strongest in force (as the server's gate decides)."""
    levels = [s.level for s in sanctions if s.level in SANCTION_RANK]
    return max(levels, key=SANCTION_RANK.__getitem__) if levels else None


class Standing:
    """One sender's standing, for the checks before a send and the pages that show them."""

    def __init__(
        self,
        source: StandingSource | None,
        folder: Path,
        *,
        max_age: float = 3600.0,
        retry_after: float = 60.0,
        info_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.path = folder / LIMITS_FILE
        self.max_age = max_age
        self.retry_after = retry_after
        self.info_seconds = info_seconds
        self.clock = clock
        self.origin = "default"  # "server", "cache" or "default": where the limits came from
        self.charter_url = ""
        self._limits: Limits | None = None
        self._next = 0.0
        self._info: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _get(self, path: str) -> dict[str, Any] | None:
        if self.source is None:
            return None
        try:
            answer = self.source.request("GET", path, retries=0).json()
        except (AgentError, ValueError) as exc:
            log.warning("%s unavailable (%s)", path, getattr(exc, "code", type(exc).__name__))
            return None
        if isinstance(answer, dict):
            if isinstance(answer.get("charter_url"), str):
                self.charter_url = answer["charter_url"]
            return answer
        return None

    # -- limits -------------------------------------------------------------------------
    def _cached(self) -> Limits | None:
        try:
            return _limits_of(json.loads(self.path.read_text("utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def refresh(self) -> Limits:
        """Ask the server now; on failure keep the last limits (or the cached, or default)."""
        with self._lock:
            answer = self._get("/api/v1/policy/limits")
            try:
                limits = _limits_of(answer) if answer is not None else None
            except (ValueError, TypeError, KeyError):
                limits = None
            if limits is None:
                self._next = self.clock() + self.retry_after
                if self._limits is None:
                    cached = self._cached()
                    self._limits = cached or FALLBACK_LIMITS
                    self.origin = "cache" if cached is not None else "default"
                return self._limits
            self._save(answer or {})
            self._limits, self.origin = limits, "server"
            self._next = self.clock() + self.max_age
            return limits

    def limits(self) -> Limits:
        """The limits to apply now (asked again when due)."""
        if self._limits is None or self.clock() >= self._next:
            return self.refresh()
        return self._limits

    def _save(self, answer: dict[str, Any]) -> None:
        try:
            fd, temp = tempfile.mkstemp(prefix=".limits-", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(answer, handle, sort_keys=True)
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("sending limits: cannot keep a copy (%s)", type(exc).__name__)

    # -- sanctions, charter, support ------------------------------------------------------
    def sanctions(self) -> list[Sanction] | None:
        """The sanctions in force (not lifted), or ``None`` when the server did not answer."""
        answer = self._remember("sanctions", "/api/v1/policy/sanctions", 5.0)
        if answer is None:
            return None
        found = []
        for item in answer.get("sanctions", []):
            if isinstance(item, dict) and not item.get("lifted_at"):
                found.append(
                    Sanction(
                        str(item.get("level", "")),
                        str(item.get("reason", "")),
                        str(item.get("created_at", ""))[:10],
                    )
                )
        return found

    def charter(self) -> Charter | None:
        answer = self._remember("charter", "/api/v1/charter", self.info_seconds)
        if answer is None or not isinstance(answer.get("text"), str):
            return None
        url = str(answer.get("url") or self.charter_url)
        self.charter_url = url or self.charter_url
        return Charter(int(answer.get("version", 0)), answer["text"], url)

    def support(self) -> dict[str, str] | None:
        answer = self._remember("support", "/api/v1/support", self.info_seconds)
        return None if answer is None else {k: str(v) for k, v in answer.items()}

    def _remember(self, key: str, path: str, seconds: float) -> dict[str, Any] | None:
        now = self.clock()
        kept = self._info.get(key)
        if kept is not None and now - kept[0] < seconds:
            value: dict[str, Any] | None = kept[1]
            return value
        answer = self._get(path)
        if answer is not None:
            self._info[key] = (now, answer)
        return answer


def _limits_of(answer: Any) -> Limits:
    if not isinstance(answer, dict):
        raise TypeError("limits must be an object")
    return Limits(
        answer["recipients_per_message"],
        answer["messages_per_hour"],
        answer["new_recipients_per_hour"],
    )
