"""The agent's folder and its settings (``agent.json``, or a hand-written ``agent.toml``).

An agent folder holds the settings, the certificate, the pinned CA certificates, the journal
and (by default) the key file and the exchange folders::

    agent.json  certificate.pem  root.pem  issuing.pem  key.pem  journal.sqlite
    outbox/  sent/  errors/  inbox/  archive/  quarantine/  to-match/

Relative paths in the settings are relative to the folder. ``key`` is a file path or a
``pkcs11:`` URI (RFC 7512). ``output_format`` is how results are written into the inbox:
``split``/``hprim`` (HPRIM as received, one file per document), ``original`` (the file as
sent), ``hl7`` (HL7 v2 ORU^R01) or ``fhir`` (FHIR R4B JSON). ``patients_csv`` names the
practice's patient list (a CSV export); when set, documents are matched to its patients.
``workers`` bounds the threads that sign, encrypt and submit (and fetch, decrypt, verify).
``outbox_allows_external`` (default ``false``): a file dropped in the outbox for recipients
outside Caducée (other MSSanté operators) is handed in clear, over TLS, to the operator's
gateway for them; while it is off such a file goes to ``errors/`` with the reason, since
nobody is there to read the warning the local pages show before such a send.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cryptography import x509

from caducee.agent.errors import ConfigError

__all__ = ["CONFIG_JSON", "CONFIG_TOML", "FOLDERS", "OUTPUT_FORMATS", "AgentConfig"]

CONFIG_JSON = "agent.json"
CONFIG_TOML = "agent.toml"
FOLDERS = ("outbox", "sent", "errors", "inbox", "archive", "quarantine", "to_match")
OUTPUT_FORMATS = ("split", "original", "hprim", "hl7", "fhir")  # "hprim" is "split"


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent needs to act for one mailbox."""

    directory: Path
    server: str
    address: str
    key: str = "key.pem"
    certificate: str = "certificate.pem"
    serial_hex: str = ""
    root: str = "root.pem"
    issuing: str = "issuing.pem"
    outbox: str = "outbox"
    sent: str = "sent"
    errors: str = "errors"
    inbox: str = "inbox"
    archive: str = "archive"
    quarantine: str = "quarantine"
    to_match: str = "to-match"
    output_format: str = "split"
    patients_csv: str = ""
    settle_seconds: float = 2.0
    poll_timeout: float = 30.0
    workers: int = 16  # parallel sends; parallel fetch, decrypt and acks when receiving
    outbox_allows_external: bool = False  # outbox files may leave end-to-end encryption
    extra: dict[str, Any] = field(default_factory=dict)

    # -- paths -------------------------------------------------------------------------
    def path(self, value: str) -> Path:
        """A setting's path, made absolute against the agent folder."""
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.directory / candidate

    def folder(self, name: str) -> Path:
        """One of ``FOLDERS`` as an absolute path."""
        if name not in FOLDERS:
            raise ConfigError(f"unknown folder {name!r}")
        return self.path(str(getattr(self, name)))

    @property
    def patients_path(self) -> Path | None:
        """The practice's patient list, when one is configured."""
        return self.path(self.patients_csv) if self.patients_csv else None

    @property
    def journal_path(self) -> Path:
        return self.directory / "journal.sqlite"

    @property
    def key_is_token(self) -> bool:
        return self.key.startswith("pkcs11:")

    def ensure_folders(self) -> None:
        """Create the exchange folders (mode 0700) when missing."""
        for name in FOLDERS:
            self.folder(name).mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- certificates --------------------------------------------------------------------
    def load_certificate(self) -> x509.Certificate:
        return _load_pem(self.path(self.certificate))

    def load_root(self) -> x509.Certificate:
        return _load_pem(self.path(self.root))

    def load_issuing(self) -> x509.Certificate:
        return _load_pem(self.path(self.issuing))

    # -- persistence ---------------------------------------------------------------------
    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> AgentConfig:
        """Read ``agent.json`` (or ``agent.toml``) of ``directory``."""
        folder = Path(directory).expanduser().resolve()
        try:
            if (folder / CONFIG_JSON).exists():
                data = json.loads((folder / CONFIG_JSON).read_text("utf-8"))
            elif (folder / CONFIG_TOML).exists():
                data = tomllib.loads((folder / CONFIG_TOML).read_text("utf-8"))
            else:
                raise ConfigError(
                    f"{folder} is not an agent folder: run `caducee agent init` first"
                )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"unreadable agent settings in {folder}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("the agent settings must be a table of keys")
        known = {f.name for f in fields(cls)} - {"directory", "extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        for required in ("server", "address"):
            if not isinstance(values.get(required), str) or not values[required]:
                raise ConfigError(f"the agent settings lack {required!r}")
        config = cls(directory=folder, extra=extra, **values)
        if not isinstance(config.outbox_allows_external, bool):
            raise ConfigError("outbox_allows_external must be true or false")
        if config.output_format not in OUTPUT_FORMATS:
            raise ConfigError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}")
        return config

    def save(self) -> Path:
        """Write ``agent.json`` atomically (temporary file, then rename)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {k: v for k, v in asdict(self).items() if k not in ("directory", "extra")}
        data.update(self.extra)
        fd, temp = tempfile.mkstemp(prefix=".agent-", suffix=".json", dir=self.directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        target = self.directory / CONFIG_JSON
        os.replace(temp, target)
        return target

    def with_changes(self, **changes: Any) -> AgentConfig:
        return replace(self, **changes)


def _load_pem(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the certificate {path.name}: {exc}") from None
