"""Settings: the one place that reads the environment (``CADUCEE_*`` variables).

Defaults give the embedded deployment: everything under ``./var`` (SQLite database, local
blob folder, CA files). Point ``CADUCEE_DATABASE_URL`` at PostgreSQL and
``CADUCEE_BLOB_URL`` at S3 for the scale-out.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Every setting Caducée reads, with the embedded default."""

    model_config = SettingsConfigDict(env_prefix="CADUCEE_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Folder for all local state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data folder.",
    )
    blob_url: str | None = Field(
        default=None,
        description="file:///path or s3://bucket; default: a folder in the data folder.",
    )
    s3_endpoint: str | None = Field(default=None, description="S3 endpoint (moto, MinIO...).")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_allow_http: bool = False

    max_message_size: int = Field(
        default=25 * 1024 * 1024, description="Largest ciphertext the relay accepts, in bytes."
    )
    relay_inline_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        le=1024 * 1024,
        description="Ciphertexts up to this size are kept in their message's database row "
        "(one durable write with the message); bigger ones go to the blob store. 0: all do.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8400", description="Base URL clients and certificates use."
    )
    host: str = "127.0.0.1"
    port: int = 8400
    operator_name: str = "Caducée (démonstration)"
    mail_domain: str = "caducee.test"
    support_contact: str = "support@caducee.test"
    support_hours: str = "lun.–ven. 8 h–19 h"
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamping authority (URL) for the evidence log's checkpoints.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="The server's log (JSON lines on standard error, ids and digests only); "
        "debug adds a line per message accepted, fetched or acknowledged.",
    )
    smtp_enabled: bool = Field(
        default=False,
        description="Run the SMTP edge (submission and inbound from MSSanté operators).",
    )
    smtp_submission_port: int = 587
    smtp_inbound_port: int = 25
    smtp_trust_list_source: str | None = Field(
        default=None, description="URL or path of the MSSanté white list (listeblanche XML)."
    )
    smtp_trust_list_local: str | None = Field(
        default=None, description="Extra sender domains allowed, comma-separated."
    )
    blob_sweep_interval_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Run the orphan blob sweep in the server every N seconds; off when unset "
        "(`caducee server sweep-blobs --apply` does it by hand).",
    )
    blob_sweep_grace_seconds: float = Field(
        default=3600.0,
        ge=60.0,
        description="Blobs written less than this long ago are never swept (in-flight "
        "submissions); at least 60 s.",
    )
    ca_passphrase: str | None = Field(
        default=None,
        description="Passphrase protecting the CA keys; default: a random one kept in the "
        "data folder with mode 0600 (fine for a demonstration, not for production).",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite+aiosqlite:///<data_dir>/caducee.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'caducee.db').resolve()}"

    @cached_property
    def resolved_blob_url(self) -> str:
        """The blob store URL, defaulting to ``file://<data_dir>/blobs``."""
        if self.blob_url:
            return self.blob_url
        return (self.data_dir / "blobs").resolve().as_uri()

    @property
    def ca_dir(self) -> Path:
        return self.data_dir / "ca"


def load_settings(**overrides: object) -> Settings:
    """Read the environment, then apply explicit overrides (command-line options, tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
