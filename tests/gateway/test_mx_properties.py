"""Properties of what ``gateway.mx`` parses and orders itself (Hypothesis).

Two things are ours, not dnspython's: reading the ``outbound_dns_servers`` setting and
ordering MX records. A third property goes over the wire: any set of MX records served by
the loopback DNS server comes back in preference order, each exchanger once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.gateway.config import GatewayConfig
from caducee.gateway.mx import (
    NullMX,
    find_destinations,
    format_nameserver,
    order_exchangers,
    parse_nameserver,
)
from tests.gateway.dns_server import DNSServer

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
ports = st.integers(min_value=1, max_value=65535)
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
hosts = st.lists(labels, min_size=1, max_size=3).map(lambda parts: ".".join(parts) + ".test")
records = st.lists(st.tuples(st.integers(0, 65535), hosts), max_size=12)


@given(addresses, ports)
def test_nameserver_round_trip(address: str, port: int) -> None:
    assert parse_nameserver(format_nameserver(address, port)) == (address, port)


@given(addresses)
def test_nameserver_default_port(address: str) -> None:
    assert parse_nameserver(address) == (str(ipaddress.ip_address(address)), 53)


@given(st.text(max_size=40))
def test_nameserver_garbage_is_a_value_error(text: str) -> None:
    try:
        address, port = parse_nameserver(text)
    except ValueError:
        return
    ipaddress.ip_address(address)  # whatever is accepted is an address and a port
    assert 0 < port < 65536


@given(records, st.integers())
def test_order_is_by_preference_each_host_once(pairs: list[tuple[int, str]], seed: int) -> None:
    ordered = order_exchangers(pairs, random.Random(seed))
    best: dict[str, int] = {}
    for preference, host in pairs:
        best[host] = min(preference, best.get(host, preference))
    assert sorted(ordered) == sorted((p, h) for h, p in best.items())
    assert [p for p, _ in ordered] == sorted(p for p, _ in ordered)


@given(records)
def test_a_null_mx_anywhere_means_no_mail(pairs: list[tuple[int, str]]) -> None:
    try:
        order_exchangers([*pairs, (0, ".")])
    except NullMX:
        return
    raise AssertionError("a null MX was not recognised")


ORIGIN = "prop.test."
HEAD = "$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.text(alphabet="abcdefghij", min_size=1, max_size=6),
        st.integers(0, 100),
        min_size=1,
        max_size=6,
    )
)
def test_served_mx_records_come_back_in_order(exchangers: dict[str, int]) -> None:
    zone = HEAD + "".join(
        f"@ IN MX {preference} {label}\n{label} IN A 127.0.1.{i + 1}\n"
        for i, (label, preference) in enumerate(exchangers.items())
    )
    with DNSServer({ORIGIN: zone}) as server:
        config = GatewayConfig(
            outbound_dns_servers=(server.address,), outbound_dns_timeout_seconds=2.0
        )
        found = asyncio.run(find_destinations("prop.test", config))
    assert sorted(d.name for d in found) == sorted(f"{label}.prop.test" for label in exchangers)
    assert [d.preference for d in found] == sorted(exchangers.values())
    for d in found:
        assert d.preference == exchangers[d.name.split(".")[0]] and d.port == 25
