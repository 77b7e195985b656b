"""Where mail for an external domain goes: its mail exchangers in DNS (RFC 5321 §5.1).

- MX records, lowest preference first, equal preferences shuffled (§5.1: "SHOULD randomize");
- no MX record (the name exists): the domain itself, an implicit MX of preference 0;
- a null MX (``0 .``, RFC 7505 §3): the domain accepts no mail, a permanent 556 5.1.10;
- a domain that does not exist, or exchangers with no address: a permanent 550 5.1.2;
- DNS trouble (SERVFAIL, timeout, no server answering): a temporary 451 4.4.3, retried.

A route pinned in the settings (``outbound_routes``) wins and asks DNS nothing. The
resolver is ``outbound_dns_servers`` when set (tests run their own), else the system's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import SMTPRefusal

__all__ = [
    "DNSFailure",
    "Destination",
    "NoSuchMailDomain",
    "NullMX",
    "find_destinations",
    "format_nameserver",
    "order_exchangers",
    "parse_nameserver",
]

log = logging.getLogger(__name__)

MAX_DESTINATIONS = 10  # addresses tried per attempt; the rest wait for the next attempt


class NullMX(SMTPRefusal):
    """The domain publishes ``MX 0 .``: it accepts no mail (RFC 7505 §4.1 reply)."""

    code, smtp_code, status = "null-mx", 556, "5.1.10"


class NoSuchMailDomain(SMTPRefusal):
    """The domain does not exist, or none of its exchangers has an address (RFC 5321 §5.1)."""

    code, smtp_code, status = "no-mail-domain", 550, "5.1.2"


class DNSFailure(SMTPRefusal):
    """DNS did not answer usefully: try again later (RFC 3463 4.4.3)."""

    code, smtp_code, status = "dns-failure", 451, "4.4.3"


@dataclass(frozen=True)
class Destination:
    """One place to connect: ``name`` is what TLS verifies, ``address`` where to connect."""

    name: str
    address: str
    port: int
    preference: int = 0

    @property
    def remote(self) -> str:
        """For DSNs (Remote-MTA) and evidence: ``name[address]:port``."""
        if self.name == self.address:
            return f"{self.name}:{self.port}"
        return f"{self.name}[{self.address}]:{self.port}"


def parse_nameserver(text: str) -> tuple[str, int]:
    """``"192.0.2.1"``, ``"192.0.2.1:5353"``, ``"::1"`` or ``"[::1]:5353"`` → (address, port)."""
    value = text.strip()
    host, port = value, 53
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"not a DNS server address: {text!r}")
        port = _port(rest[1:], text) if rest else 53
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = _port(port_text, text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"not a DNS server address (an IP address is needed): {text!r}") from None
    return str(address), port


def format_nameserver(address: str, port: int) -> str:
    """The inverse of ``parse_nameserver``."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _port(text: str, whole: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"not a DNS server port: {whole!r}")
    return int(text)


def order_exchangers(
    records: Iterable[tuple[int, str]], rng: random.Random | None = None
) -> list[tuple[int, str]]:
    """MX (preference, host) pairs in the order to try them; ``NullMX`` for ``0 .``.

    Host names are compared without case or final dot; duplicates are dropped.
    """
    rng = rng or random.Random()  # spreads load over equal exchangers; no secrecy needed
    by_host: dict[str, int] = {}
    for preference, host in records:
        name = host.rstrip(".").lower()
        if not name:
            raise NullMX("the domain accepts no mail (null MX, RFC 7505)")
        by_host[name] = min(preference, by_host.get(name, preference))
    ordered: list[tuple[int, str]] = []
    for preference in sorted(set(by_host.values())):
        same = [host for host, p in by_host.items() if p == preference]
        rng.shuffle(same)
        ordered.extend((preference, host) for host in same)
    return ordered


def _resolver(config: GatewayConfig) -> dns.asyncresolver.Resolver:
    if config.outbound_dns_servers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(entry))
            for entry in config.outbound_dns_servers
        ]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            raise DNSFailure("no DNS resolver is configured on this server") from exc
    resolver.lifetime = config.outbound_dns_timeout_seconds
    resolver.timeout = config.outbound_dns_timeout_seconds
    return resolver


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> dns.resolver.Answer | None:
    """The answer, ``None`` for "no such record", ``NoSuchMailDomain`` for NXDOMAIN."""
    try:
        return await resolver.resolve(dns.name.from_text(name), rdtype, search=False)
    except dns.resolver.NoAnswer:
        return None
    except dns.resolver.NXDOMAIN as exc:
        raise NoSuchMailDomain(f"the domain {name} does not exist in DNS") from exc
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise DNSFailure(f"DNS did not answer for {name} {rdtype}: retry later") from exc
    except dns.exception.DNSException as exc:
        raise DNSFailure(f"DNS lookup of {name} {rdtype} failed ({type(exc).__name__})") from exc


async def _addresses(resolver: dns.asyncresolver.Resolver, host: str) -> list[str]:
    """The host's IPv4 then IPv6 addresses ([] when it has none)."""
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = await _query(resolver, host, rdtype)
        except NoSuchMailDomain:
            return []
        if answer is not None:
            found.extend(str(r.address) for r in answer if hasattr(r, "address"))
    return found


async def find_destinations(
    domain: str, config: GatewayConfig, *, rng: random.Random | None = None
) -> list[Destination]:
    """Where to try delivering mail for ``domain``, in order; raises a ``SMTPRefusal``."""
    pinned = config.pinned_route(domain)
    if pinned is not None:
        return [Destination(pinned[0], pinned[0], pinned[1])]
    name = domain.strip().rstrip(".").lower()
    resolver = _resolver(config)
    answer = await _query(resolver, name, "MX")
    records = [(int(r.preference), str(r.exchange)) for r in answer or () if hasattr(r, "exchange")]
    try:
        exchangers = order_exchangers(records, rng) if records else [(0, name)]  # implicit MX
    except NullMX:
        raise NullMX(f"the domain {name} accepts no mail (null MX, RFC 7505)") from None
    results = await asyncio.gather(
        *(_addresses(resolver, host) for _, host in exchangers), return_exceptions=True
    )
    destinations = _destinations(exchangers, results, config.outbound_mx_port)
    failures = [r for r in results if isinstance(r, BaseException)]
    if not destinations:
        if failures:
            raise failures[0]
        raise NoSuchMailDomain(f"no mail exchanger of {name} has an address")
    log.info("outbound to %s: %d mail exchanger address(es)", name, len(destinations))
    return destinations[:MAX_DESTINATIONS]


def _destinations(
    exchangers: Sequence[tuple[int, str]],
    results: Sequence[list[str] | BaseException],
    port: int,
) -> list[Destination]:
    destinations: list[Destination] = []
    for (preference, host), addresses in zip(exchangers, results, strict=True):
        if isinstance(addresses, BaseException):
            continue  # this exchanger's addresses did not resolve now; the others may
        destinations.extend(Destination(host, a, port, preference) for a in addresses)
    return destinations
