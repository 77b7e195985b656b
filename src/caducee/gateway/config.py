"""Settings of the SMTP edge, outbound queue and Dovecot, with the embedded defaults.

``caducee.config.Settings`` holds a few of them: ``GatewayConfig.from_settings`` reads a
``smtp_<field>`` attribute when the settings object has one, then the environment variable
``CADUCEE_SMTP_<FIELD>`` (e.g. ``CADUCEE_SMTP_OUTBOUND_ROUTES``,
``CADUCEE_SMTP_DOVECOT_ENABLED``), else the default here. Tuples are comma-separated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["SMTP_RECEIVED_LIMIT", "GatewayConfig"]

SMTP_RECEIVED_LIMIT = 30  # RFC 5321 §6.3: "a rather large number, e.g. 100"; MTAs use ~30
BASE64_OVERHEAD = 4 / 3
HEADER_ALLOWANCE = 256 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """Where the two SMTP servers listen and what they accept."""

    mail_domain: str = "caducee.test"
    hostname: str = ""  # EHLO/banner name; default: the mail domain
    internal_domains: tuple[str, ...] = ()  # default: (mail_domain,)
    submission_enabled: bool = True
    submission_host: str = "127.0.0.1"
    submission_port: int = 587  # RFC 6409 §3.1 (message submission)
    inbound_enabled: bool = True
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 25  # RFC 5321 §4.5.4.2 (relay between operators)
    inbound_require_tls: bool = False  # STARTTLS always offered (RFC 3207)
    tls_cert_file: Path | None = None  # default: a self-signed pair in the data folder
    tls_key_file: Path | None = None
    trust_list_source: str | None = None  # URL or path of listeblanchemssante.xml
    trust_list_refresh_seconds: float = 3600.0
    trust_list_local: tuple[str, ...] = ()  # extra allowed sender domains
    max_received_headers: int = SMTP_RECEIVED_LIMIT
    max_message_size: int = 25 * 1024 * 1024  # the relay's ciphertext limit
    gateway_sender_address: str = ""  # default: mssante-gateway@<mail_domain>
    data_dir: Path = field(default=Path("var"))
    # Outbound queue (RFC 5321 §4.5.4.1: retry, give up after days, then a DSN, RFC 3464).
    outbound_enabled: bool = True
    outbound_routes: tuple[str, ...] = ()  # "domain=host:port", "*=host:port"; else domain:25
    outbound_ca_file: Path | None = None  # CAs for the peers' TLS; default: the system's
    outbound_tls_domains: tuple[str, ...] = ("mssante.fr",)  # TLS required (and subdomains)
    outbound_retry_seconds: tuple[float, ...] = (60.0, 300.0, 900.0, 1800.0, 3600.0)
    outbound_max_age_seconds: float = 5 * 24 * 3600.0
    outbound_poll_seconds: float = 5.0
    outbound_timeout_seconds: float = 60.0
    # MX lookup (RFC 5321 §5.1) for domains without a route in ``outbound_routes``.
    outbound_dns_servers: tuple[str, ...] = ()  # "ip" or "ip:port"; default: resolv.conf
    outbound_dns_timeout_seconds: float = 10.0  # one lookup; past it, a retry later
    outbound_mx_port: int = 25  # port of exchangers found in DNS (tests: a loopback MTA)
    mss_nil: str = "CADUCEE"  # X-MSS-NIL product reference (convergence.esante.gouv.fr)
    # Dovecot (IMAP for standard mail clients), started by Caducée on loopback.
    dovecot_enabled: bool = False
    dovecot_binary: str = "dovecot"
    dovecot_dir: Path | None = None  # default: <data_dir>/dovecot (must be reachable by
    # Dovecot's accounts when Caducée runs as root: every parent needs o+x)
    imap_host: str = "127.0.0.1"
    imap_port: int = 10143
    lmtp_port: int = 10024

    def __post_init__(self) -> None:
        domain = self.mail_domain.strip().lower()
        object.__setattr__(self, "mail_domain", domain)
        if not self.hostname:
            object.__setattr__(self, "hostname", domain)
        if not self.internal_domains:
            object.__setattr__(self, "internal_domains", (domain,))
        object.__setattr__(
            self, "internal_domains", tuple(d.strip().lower() for d in self.internal_domains)
        )
        if not self.gateway_sender_address:
            object.__setattr__(self, "gateway_sender_address", f"mssante-gateway@{domain}")

    def route(self, domain: str) -> tuple[str, int]:
        """Where to send mail for ``domain``: a configured route, else the domain on port 25
        (the implicit MX; ``gateway.mx.find_destinations`` asks DNS for the real ones)."""
        return self.pinned_route(domain) or (domain, 25)

    def pinned_route(self, domain: str) -> tuple[str, int] | None:
        """The route ``outbound_routes`` pins for ``domain`` (or ``*``); it wins over DNS."""
        routes = dict(r.split("=", 1) for r in self.outbound_routes if "=" in r)
        target = routes.get(domain.lower()) or routes.get("*")
        if target is None:
            return None
        host, _, port = target.rpartition(":")
        return (host, int(port)) if host else (target, 25)

    def requires_tls(self, domain: str) -> bool:
        """TLS is required towards MSSanté domains (Référentiel #1: SMTP with STARTTLS)."""
        name = domain.lower().rstrip(".")
        return any(name == d or name.endswith("." + d) for d in self.outbound_tls_domains)

    @property
    def data_size_limit(self) -> int:
        """The SMTP DATA limit (RFC 1870 SIZE): base64 of the largest ciphertext + headers."""
        return int(self.max_message_size * BASE64_OVERHEAD) + HEADER_ALLOWANCE

    def is_internal(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.internal_domains

    def with_(self, **changes: Any) -> GatewayConfig:
        return replace(self, **changes)

    @classmethod
    def from_settings(
        cls, settings: Any, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> GatewayConfig:
        """Build from a ``Settings``: ``mail_domain``, ``data_dir``, ``max_message_size``,
        any ``smtp_<field>`` it has, then ``CADUCEE_SMTP_<FIELD>``; ``overrides`` win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in ("mail_domain", "data_dir", "max_message_size"):
            if hasattr(settings, name):
                values[name] = getattr(settings, name)
        for item in fields(cls):
            key = f"smtp_{item.name}"
            if hasattr(settings, key) and getattr(settings, key) is not None:
                values[item.name] = getattr(settings, key)
            elif f"CADUCEE_{key.upper()}" in environ:
                text = environ[f"CADUCEE_{key.upper()}"]
                values[item.name] = (
                    Path(text)
                    if item.name.endswith(("_file", "_dir"))
                    else _coerce(item.default, text)
                )
        for item in fields(cls):
            if isinstance(item.default, tuple) and isinstance(values.get(item.name), str):
                values[item.name] = _coerce(item.default, values[item.name])
        values.update(overrides)
        return cls(**values)


def _coerce(default: Any, text: str) -> Any:
    """An environment string as the type of the field's default."""
    if default is MISSING or default is None or isinstance(default, str):
        return text
    if isinstance(default, bool):
        return text.strip().lower() in ("1", "true", "yes", "on", "oui")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, tuple):
        parts = tuple(p for p in text.replace(",", " ").split() if p)
        if default and isinstance(default[0], float):
            return tuple(float(p) for p in parts)
        return parts
    if isinstance(default, Path):
        return Path(text)
    return text
