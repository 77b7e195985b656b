"""The MSSanté trust space: the white list of operator domains, plus a local allow-list.

The national list (``listeblanchemssante.xml``) holds ``Domaine`` elements whose ``Nom``
child is a domain name, in the namespace ``https://listeblanche.mssante.fr/schema``
(XPath ``//n:Domaine/n:Nom``). It is parsed with expat directly: a document type
declaration (and so every entity) is refused, and any failure is a ``TrustListError``.
A refresh that fails keeps the last good list.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from caducee.background import BackgroundLoop
from caducee.gateway.errors import TrustListError, TrustListUnavailable

__all__ = [
    "MSSANTE_NAMESPACE",
    "ParsedList",
    "TrustList",
    "TrustListRefresher",
    "fetch_source",
    "normalise_domain",
    "parse_trust_list",
]

log = logging.getLogger(__name__)

MSSANTE_NAMESPACE = "https://listeblanche.mssante.fr/schema"
MAX_LIST_BYTES = 16 * 1024 * 1024
MAX_DOMAIN_LENGTH = 253
_DOMAINE = f"{MSSANTE_NAMESPACE} Domaine"
_NOM = f"{MSSANTE_NAMESPACE} Nom"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def normalise_domain(domain: str) -> str:
    """Lower-case, no trailing dot; raise ``TrustListError`` unless a plain DNS name."""
    name = domain.strip().lower().rstrip(".")
    labels = name.split(".")
    if (
        not name
        or len(name) > MAX_DOMAIN_LENGTH
        or len(labels) < 2
        or any(not 0 < len(label) < 64 for label in labels)
        or any(not set(label) <= _LABEL_CHARS for label in labels)
        or any(label.startswith("-") or label.endswith("-") for label in labels)
    ):
        raise TrustListError("a white-list entry is not a domain name")
    return name


@dataclass(frozen=True)
class ParsedList:
    """The domains of one white-list document."""

    domains: frozenset[str]


def _refuse(*_: object) -> NoReturn:
    raise TrustListError("the white list may not declare a document type or entities")


def parse_trust_list(document: bytes) -> ParsedList:
    """Parse the MSSanté white-list XML; raise ``TrustListError`` on anything else."""
    if not isinstance(document, bytes) or len(document) > MAX_LIST_BYTES:
        raise TrustListError("the white list is not a document of a sane size")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    stack: list[str] = []
    text: list[str] = []
    domains: set[str] = set()

    def start(name: str, _attributes: dict[str, str]) -> None:
        stack.append(name)
        if name == _NOM:
            text.clear()

    def end(name: str) -> None:
        stack.pop()
        if name == _NOM and stack and stack[-1] == _DOMAINE:
            domains.add(normalise_domain("".join(text)))

    def characters(data: str) -> None:
        if stack and stack[-1] == _NOM:
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(document, True)
    except TrustListError:
        raise
    except (expat.ExpatError, ValueError, LookupError, RecursionError) as exc:
        raise TrustListError(f"the white list is not well-formed XML ({exc})") from None
    if not domains:
        raise TrustListError(f"the white list names no Domaine/Nom in {MSSANTE_NAMESPACE}")
    return ParsedList(frozenset(domains))


class TrustList:
    """Which domains may send to us: the last good national list plus a local allow-list."""

    def __init__(self, local: Iterable[str] = ()) -> None:
        self.local = frozenset(normalise_domain(d) for d in local)
        self.listed: frozenset[str] = frozenset()
        self.loaded_at: datetime | None = None
        self.last_error: str | None = None

    def allows(self, domain: str) -> bool:
        """Whether ``domain`` (exactly, case-insensitively) is in the trust space."""
        try:
            name = normalise_domain(domain)
        except TrustListError:
            return False
        return name in self.local or name in self.listed

    def replace(self, document: bytes, *, now: datetime | None = None) -> int:
        """Adopt a new list if it parses (else raise and keep the old one); return its size."""
        try:
            parsed = parse_trust_list(document)
        except TrustListError as exc:
            self.last_error = exc.reason
            raise
        self.listed = parsed.domains
        self.loaded_at = now or datetime.now(UTC)
        self.last_error = None
        return len(parsed.domains)


def fetch_source(source: str, *, timeout: float = 30.0) -> bytes:
    """Read the list from an ``https://``/``http://`` URL, a ``file://`` URL or a path."""
    try:
        if source.startswith(("https://", "http://", "file://")):
            with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
                data: bytes = response.read(MAX_LIST_BYTES + 1)
        else:
            data = Path(source).read_bytes()
    except (OSError, ValueError) as exc:
        raise TrustListUnavailable(f"the white list source did not answer ({exc})") from None
    if len(data) > MAX_LIST_BYTES:
        raise TrustListError("the white list is larger than the limit")
    return data


class TrustListRefresher:
    """Reload a ``TrustList`` from ``source`` every ``interval`` seconds in a task."""

    def __init__(
        self,
        trust_list: TrustList,
        source: str,
        interval: float,
        *,
        fetch: Callable[[str], bytes] = fetch_source,
    ) -> None:
        self.trust_list = trust_list
        self.source = source
        self.interval = interval
        self.fetch = fetch
        self._loop = BackgroundLoop("trust-list-refresh")

    async def refresh(self) -> bool:
        """One attempt; True if a new list was adopted, False if the old one was kept."""
        try:
            document = await asyncio.to_thread(self.fetch, self.source)
            count = self.trust_list.replace(document)
        except TrustListError as exc:
            self.trust_list.last_error = exc.reason
            log.warning("white list refresh failed (%s); keeping the last good list", exc.code)
            return False
        log.info("white list refreshed: %d domains", count)
        return True

    async def _run(self, first: bool) -> None:
        if not first and not await self._loop.pause(self.interval):
            return
        while True:
            await self.refresh()
            if not await self._loop.pause(self.interval):
                return

    def start(self, *, refresh_now: bool = True) -> None:
        """Refresh every ``interval`` in a task (``refresh_now=False``: the caller just did)."""
        self._loop.start(lambda: self._run(refresh_now))

    async def stop(self) -> None:
        await self._loop.stop()
