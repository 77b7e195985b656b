"""A small authoritative DNS server for tests: UDP on loopback, answering from zone text.

Built on dnspython (``dns.zone`` reads the zones, ``dns.message`` reads queries and writes
replies) and run in a thread, so the code under test talks real DNS over a real socket.
It answers as an authoritative server does (RFC 1034 §4.3.2): the records asked for, with
CNAMEs followed inside its zones; NOERROR and the zone's SOA when the name exists without
that type (RFC 2308 "NODATA"); NXDOMAIN and the SOA when it does not; REFUSED outside its
zones. Names in ``failing`` get SERVFAIL and names in ``silent`` no reply at all (the
resolver times out): DNS trouble as a resolver really sees it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

__all__ = ["DNSServer"]

MAX_CNAME_CHAIN = 8


class DNSServer:
    """Serve ``zones`` (origin → zone text) on ``host``, a port the kernel chooses."""

    def __init__(self, zones: Mapping[str, str], *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.zones: dict[dns.name.Name, dns.zone.Zone] = {}
        self.failing: set[str] = set()  # names answered SERVFAIL ("mx.example.test.")
        self.silent: set[str] = set()  # names never answered
        self.queries: list[tuple[str, str]] = []  # (name, type) in arrival order
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, 0))
        self._socket.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)
        self.load(zones)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def address(self) -> str:
        """As ``outbound_dns_servers`` wants it: ``ip:port``."""
        return f"{self.host}:{self.port}"

    def load(self, zones: Mapping[str, str]) -> None:
        """Replace every zone (zone text in master-file format, RFC 1035 §5)."""
        parsed = {
            dns.name.from_text(origin): dns.zone.from_text(text, origin=origin, relativize=False)
            for origin, text in zones.items()
        }
        with self._lock:
            self.zones = parsed

    def start(self) -> DNSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.answer(wire)
            if reply is not None:
                with contextlib.suppress(OSError):
                    self._socket.sendto(reply, client)

    def _zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        matches = [origin for origin in self.zones if name.is_subdomain(origin)]
        return self.zones[max(matches, key=len)] if matches else None

    def answer(self, wire: bytes) -> bytes | None:
        """The reply to one query in wire format, or ``None`` to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: nothing to say
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        with self._lock:
            self.queries.append((name.to_text(), dns.rdatatype.to_text(rdtype)))
            zones_silent, zones_failing = set(self.silent), set(self.failing)
        if name.to_text().lower() in zones_silent:
            return None
        if name.to_text().lower() in zones_failing:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        with self._lock:
            self._resolve(response, name, rdtype)
        return response.to_wire()

    def _resolve(
        self, response: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> None:
        zone = self._zone_for(name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return
        response.flags |= dns.flags.AA
        for _ in range(MAX_CNAME_CHAIN):
            node = zone.get_node(name)
            if node is None:
                if not response.answer:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                self._soa(response, zone)
                return
            found = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if found is not None:
                response.answer.append(dns.rrset.from_rdata_list(name, found.ttl, list(found)))
                return
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or rdtype == dns.rdatatype.CNAME:
                self._soa(response, zone)  # NODATA
                return
            response.answer.append(dns.rrset.from_rdata_list(name, cname.ttl, list(cname)))
            name = cname[0].target
            next_zone = self._zone_for(name)
            if next_zone is None:
                return  # the resolver follows it elsewhere
            zone = next_zone

    @staticmethod
    def _soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        origin = zone.origin
        assert origin is not None  # zones are read with their origin
        soa = zone.find_rdataset(origin, dns.rdatatype.SOA)
        response.authority.append(dns.rrset.from_rdata_list(origin, soa.ttl, list(soa)))
