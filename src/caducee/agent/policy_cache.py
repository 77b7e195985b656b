"""The content policy the agent applies, fetched from the server and kept in its folder.

The policy is fetched at start and then at most once an hour (``max_age``); each answer is
written to ``content-policy.json`` (atomically). When the server cannot be reached (or
answers something unreadable) the agent goes on with the cached copy, else with the platform
default, and tries again a minute later (``retry_after``): sending never waits on it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from caducee.agent.errors import AgentError
from caducee.policy.content import PLATFORM_DEFAULT, ContentPolicy
from caducee.policy.errors import InvalidPolicy

__all__ = ["POLICY_FILE", "PolicyCache", "PolicySource"]

log = logging.getLogger(__name__)
POLICY_FILE = "content-policy.json"


class PolicySource(Protocol):
    """What the cache asks (the ``ServerClient``)."""

    def content_policy(self) -> dict[str, object]: ...


class PolicyCache:
    """The current policy: fresh from the server when possible, else cached, else default."""

    def __init__(
        self,
        source: PolicySource,
        path: Path,
        *,
        max_age: float = 3600.0,
        retry_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.path = path
        self.max_age = max_age
        self.retry_after = retry_after
        self.clock = clock
        self.origin = "default"  # "server", "cache" or "default", for the status page
        self._policy: ContentPolicy | None = None
        self._next = 0.0
        self._lock = threading.Lock()

    def cached(self) -> ContentPolicy | None:
        """The copy kept in the agent folder, if there is a readable one."""
        try:
            return ContentPolicy.from_json(self.path.read_bytes())
        except (OSError, InvalidPolicy):
            return None

    def refresh(self) -> ContentPolicy:
        """Ask the server now; on failure keep the cached (or default) policy."""
        with self._lock:
            try:
                answer = self.source.content_policy()
                policy = ContentPolicy.from_json(json.dumps(answer["policy"]))
            except (AgentError, InvalidPolicy, KeyError, TypeError) as exc:
                code = getattr(exc, "code", type(exc).__name__)
                log.warning("content policy: server copy unavailable (%s); using the last", code)
                self._next = self.clock() + self.retry_after
                if self._policy is None:
                    cached = self.cached()
                    self._policy = cached or PLATFORM_DEFAULT
                    self.origin = "cache" if cached is not None else "default"
                return self._policy
            self._save(policy)
            self._policy, self.origin = policy, "server"
            self._next = self.clock() + self.max_age
            log.info("content policy refreshed from the server")
            return policy

    def current(self) -> ContentPolicy:
        """The policy to apply now (refreshed first when it is due)."""
        if self._policy is None or self.clock() >= self._next:
            return self.refresh()
        return self._policy

    def _save(self, policy: ContentPolicy) -> None:
        try:
            fd, temp = tempfile.mkstemp(prefix=".policy-", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(policy.to_json())
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("content policy: cannot keep a copy (%s)", type(exc).__name__)
