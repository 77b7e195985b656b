"""Recipients outside Caducée: telling them apart, and handing their copy to the gateway.

**Internal or external.** The server's directory is the authority on its own mailboxes, and
the agent never guesses "external" (that would hand plaintext to the gateway). In order:

1. an address at a domain known to be Caducée's is internal: the agent's own domain, and
   every domain the directory or the gateway has shown to be Caducée's (remembered in the
   journal under ``internal-domains``). Whether that mailbox exists is the relay's business;
   a typo there is refused by the relay, encrypted, never sent in clear;
2. any other address is looked up in the directory (``GET /api/v1/directory/mailboxes/
   {address}/certificates``): known, it is internal (and its domain is remembered); answered
   ``unknown-mailbox``, it is external; no answer, nothing is decided (the caller retries);
3. the gateway has the last word: it refuses an address at one of Caducée's domains
   (``relay-denied``, 403) before queueing anything; that domain is then remembered.

**The hand-off** (``POST /api/v1/interop/outbound``, TLS to the server, then SMTP with TLS
to MSSanté operators): the document as a MIME message (the same shape as the inner message
of an encrypted send), for the external recipients only. The journal records it as an
outgoing file named ``<name> (MSSanté)`` with reason ``external``, keyed like every outgoing
file, with the message id chosen before the first try: a retry hands over the same
Message-ID and the gateway queues it once. Refusals (``gateway-off`` 503, ``domain-not-
trusted`` 403...) raise :class:`GatewayRefused`; the journal marks the record ``failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from caducee.agent.errors import AgentError, ServerError
from caducee.agent.inner import build_inner_message
from caducee.agent.journal import Journal

__all__ = [
    "EXTERNAL_REASON",
    "EXTERNAL_SUFFIX",
    "GatewayRefused",
    "HandOff",
    "RecipientSorter",
    "SortedRecipients",
    "domain_of",
    "external_name",
    "hand_off",
    "outbound_state",
    "travels_safely",
]

log = logging.getLogger(__name__)
EXTERNAL_SUFFIX = " (MSSanté)"
EXTERNAL_REASON = "external"
DOMAINS_KEY = "internal-domains"
GATEWAY_PATH = "/api/v1/interop/outbound"
_FINAL = frozenset({"gateway-off", "domain-not-trusted", "relay-denied", "too-large"})


class Gateway(Protocol):
    """What the sorter and the hand-off call (the ``ServerClient``)."""

    base_url: str

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response: ...


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def travels_safely(base_url: str) -> bool:
    """Plaintext goes to the server only over TLS, or without leaving this machine."""
    parts = urlsplit(base_url)
    return parts.scheme == "https" or (parts.hostname or "") in LOOPBACK_NAMES


def domain_of(address: str) -> str:
    """The domain of ``local@domain``, lower-cased (``""`` if none)."""
    _, at, domain = address.rpartition("@")
    return domain.strip().lower().rstrip(".") if at else ""


def external_name(name: str) -> str:
    """The journal's name for the external copy of an outgoing file."""
    return name + EXTERNAL_SUFFIX


class GatewayRefused(AgentError):
    """The gateway refused the hand-off for good (until a setting changes): ``code`` says why
    (``gateway-off``, ``domain-not-trusted``, ``relay-denied``, ``too-large``, ...)."""

    code = "gateway-refused"


@dataclass(frozen=True)
class SortedRecipients:
    """The recipients of one send, Caducée's own and other operators'."""

    internal: tuple[str, ...]
    external: tuple[str, ...]


class RecipientSorter:
    """Sorts recipients as the module docstring says; remembers Caducée's domains.

    ``retries`` bounds the client's retries of a look-up (a page asks for few, to answer
    at once when the server is down; the outbox keeps the client's, which pace its retries).
    """

    def __init__(
        self,
        directory: Gateway | None,
        journal: Journal,
        own_address: str,
        *,
        retries: int | None = None,
    ) -> None:
        self.directory = directory
        self.journal = journal
        self.own_domain = domain_of(own_address)
        self.retries = retries

    def internal_domains(self) -> set[str]:
        learned = {d for d in self.journal.get(DOMAINS_KEY).split(",") if d}
        return learned | {self.own_domain}

    def learn(self, domain: str) -> None:
        """Remember that ``domain`` is one of Caducée's."""
        known = self.internal_domains()
        if domain and domain not in known:
            self.journal.set(DOMAINS_KEY, ",".join(sorted(known | {domain})))
            log.info("domain %s is Caducée's", domain)

    def is_internal(self, address: str) -> bool:
        """Raises the client's ``NetworkError``/``ServerError`` when it cannot tell."""
        domain = domain_of(address)
        if domain in self.internal_domains():
            return True
        if self.directory is None:
            raise AgentError(f"cannot tell whether {address} is a Caducée address: no server")
        path = f"/api/v1/directory/mailboxes/{address}/certificates"
        try:
            self.directory.request("GET", path, retries=self.retries)
        except ServerError as exc:
            if exc.status == 404 and exc.code == "unknown-mailbox":
                return False
            raise
        self.learn(domain)
        return True

    def sort(self, addresses: Sequence[str]) -> SortedRecipients:
        internal: list[str] = []
        external: list[str] = []
        for address in addresses:
            (internal if self.is_internal(address) else external).append(address.lower())
        return SortedRecipients(tuple(internal), tuple(external))


@dataclass(frozen=True)
class HandOff:
    """An external copy the gateway queued (or had queued before: ``again``)."""

    message_id: str
    recipients: tuple[str, ...]
    again: bool = False


def hand_off(
    gateway: Gateway,
    journal: Journal,
    *,
    sender: str,
    recipients: Sequence[str],
    name: str,
    data: bytes,
    digest: str,
    message_id: str,
    companions: Sequence[tuple[str, bytes]] = (),
    sorter: RecipientSorter | None = None,
) -> HandOff:
    """Hand the document in clear to the gateway for ``recipients`` (all external).

    ``message_id`` is used unless the journal already holds one for this copy. Raises
    :class:`GatewayRefused` for a refusal, the client's errors when the server is unreachable
    or answers 5xx (the record stays ``pending``: call again with the same arguments).
    """
    if not travels_safely(gateway.base_url):
        raise GatewayRefused(
            f"le serveur {gateway.base_url} n'est pas joint en TLS : rien n'est remis en clair "
            f"/ the server {gateway.base_url} is not reached over TLS: nothing is handed over "
            "in clear",
            code="plaintext-needs-tls",
        )
    key = external_name(name)
    record = journal.begin_outgoing(digest, key, message_id)
    if record.state == "sent":
        return HandOff(record.message_id, record.recipients, again=True)
    to = [r.lower() for r in recipients]
    content = build_inner_message(
        sender=sender,
        recipients=to,
        filename=name,
        data=data,
        message_id=record.message_id,
        date=datetime.now(UTC),
        companions=companions,
    )
    headers = {"Caducee-To": ",".join(to), "Content-Type": "message/rfc822"}
    try:
        answer = gateway.request(
            "POST", GATEWAY_PATH, content=content, headers=headers, retries=1
        ).json()
    except ServerError as exc:
        if exc.retryable and exc.code not in _FINAL:
            raise
        journal.finish_outgoing(digest, key, state="failed", recipients=tuple(to), reason=exc.code)
        if exc.code == "relay-denied" and sorter is not None:
            for address in to:
                if address in exc.reason.lower():
                    sorter.learn(domain_of(address))
        raise GatewayRefused(exc.reason, code=exc.code) from None
    accepted = tuple(str(a) for a in answer.get("recipients", to))
    journal.finish_outgoing(digest, key, state="sent", recipients=accepted, reason=EXTERNAL_REASON)
    log.info("external copy %s handed to the gateway for %d recipient(s)", record.message_id,
             len(accepted))  # fmt: skip
    return HandOff(str(answer.get("message_id", record.message_id)), accepted)


def outbound_state(gateway: Gateway, message_id: str) -> list[dict[str, Any]]:
    """The gateway's queue state of an external copy, one entry per domain."""
    answer = gateway.request("GET", f"{GATEWAY_PATH}/{message_id}", retries=0).json()
    return [d for d in answer.get("domains", []) if isinstance(d, dict)]
