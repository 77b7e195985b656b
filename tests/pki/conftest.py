"""Fixtures of the test PKI (see ``pki_factory``) and PEM files for OpenSSL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from caducee.pki import CertificateAuthority, build_crl
from tests.peers import require_tool
from tests.pki import pki_factory as f


@dataclass(frozen=True)
class PEMFiles:
    root: Path
    issuing: Path
    root_crl: Path


@pytest.fixture(scope="session")
def root() -> CertificateAuthority:
    return f.root_ca()


@pytest.fixture(scope="session")
def issuing() -> CertificateAuthority:
    return f.issuing_ca()


@pytest.fixture(scope="session")
def openssl() -> str:
    return require_tool("openssl", "openssl")


@pytest.fixture()
def pem(tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority) -> PEMFiles:
    """The CA certificates and an empty root CRL as files, for ``openssl verify``."""
    return PEMFiles(
        root=f.write_pem(tmp_path / "root.pem", [root.certificate]),
        issuing=f.write_pem(tmp_path / "issuing.pem", [issuing.certificate]),
        root_crl=f.write_pem(tmp_path / "root-crl.pem", [build_crl(root, [], 1, now=f.NOW)]),
    )
