"""Settings of the SMTP edge, with the embedded defaults.

``caducee.config.Settings`` does not hold them yet: ``GatewayConfig.from_settings`` reads a
``smtp_<field>`` attribute when the settings object has one, else the default here, so
adding the fields to ``Settings`` later needs no change in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
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

    @property
    def data_size_limit(self) -> int:
        """The SMTP DATA limit (RFC 1870 SIZE): base64 of the largest ciphertext + headers."""
        return int(self.max_message_size * BASE64_OVERHEAD) + HEADER_ALLOWANCE

    def is_internal(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.internal_domains

    def with_(self, **changes: Any) -> GatewayConfig:
        return replace(self, **changes)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> GatewayConfig:
        """Build from a ``Settings``: ``mail_domain``, ``data_dir``, ``max_message_size`` and
        any ``smtp_<field>`` it has; ``overrides`` win."""
        values: dict[str, Any] = {}
        for name in ("mail_domain", "data_dir", "max_message_size"):
            if hasattr(settings, name):
                values[name] = getattr(settings, name)
        for item in fields(cls):
            key = f"smtp_{item.name}"
            if hasattr(settings, key) and getattr(settings, key) is not None:
                values[item.name] = getattr(settings, key)
        for name in ("internal_domains", "trust_list_local"):
            if isinstance(values.get(name), str):
                values[name] = tuple(p for p in values[name].replace(",", " ").split() if p)
        values.update(overrides)
        return cls(**values)
