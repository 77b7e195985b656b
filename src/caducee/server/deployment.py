"""A deployment's operator CA: created once by ``caducee server init``, loaded at start-up.

The CA keys live in ``<data>/ca`` as encrypted PKCS#8. Their passphrase comes from
``CADUCEE_CA_PASSPHRASE``, or for the embedded default from ``<data>/ca/passphrase``
(random, mode 0600): good enough for a demonstration, not for production, and said so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from caducee.config import Settings
from caducee.pki.authority import (
    CertificateAuthority,
    create_issuing_ca,
    create_root_ca,
    load_authority,
    save_authority,
)
from caducee.pki.profiles import PKIURLs

__all__ = ["Deployment", "init_deployment", "is_initialised", "load_deployment", "pki_urls"]

ROOT = "root"
ISSUING = "issuing"


@dataclass(frozen=True)
class Deployment:
    """The operator's two CAs, as loaded from the data folder."""

    root: CertificateAuthority
    issuing: CertificateAuthority
    created: bool  # True when this call made them

    @property
    def root_fingerprint(self) -> str:
        return self.root.certificate.fingerprint(hashes.SHA256()).hex()


def pki_urls(settings: Settings) -> PKIURLs:
    """Where relying parties find CRLs, CA certificates and OCSP: ``<public_url>/pki/``."""
    return PKIURLs(settings.public_url.rstrip("/") + "/pki")


def _passphrase(settings: Settings, *, create: bool) -> bytes:
    if settings.ca_passphrase:
        return settings.ca_passphrase.encode()
    path = settings.ca_dir / "passphrase"
    if not path.exists() and create:
        settings.ca_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def _exists(folder: Path) -> bool:
    return (folder / f"{ISSUING}.cert.pem").exists()


def init_deployment(settings: Settings) -> Deployment:
    """Create the root and issuing CAs unless they exist; idempotent."""
    if _exists(settings.ca_dir):
        return load_deployment(settings)
    passphrase = _passphrase(settings, create=True)
    urls = pki_urls(settings)
    root = create_root_ca(f"{settings.operator_name} — AC racine", urls)
    issuing = create_issuing_ca(root, f"{settings.operator_name} — AC émettrice")
    save_authority(root, settings.ca_dir, ROOT, passphrase)
    save_authority(issuing, settings.ca_dir, ISSUING, passphrase)
    return Deployment(root, issuing, created=True)


def load_deployment(settings: Settings) -> Deployment:
    """Load both CAs; raises (``WrongPassphrase``, ``AuthorityError``) when it cannot."""
    passphrase = _passphrase(settings, create=False)
    urls = pki_urls(settings)
    root = load_authority(settings.ca_dir, ROOT, passphrase, urls)
    issuing = load_authority(settings.ca_dir, ISSUING, passphrase, urls)
    return Deployment(root, issuing, created=False)


def is_initialised(settings: Settings) -> bool:
    return _exists(settings.ca_dir)
