"""The server fixtures (a migrated server on SQLite and PostgreSQL, a moved clock) and a card CA."""

from __future__ import annotations

import pytest

from caducee.pki import CertificateAuthority
from caducee.prescriptions import create_card_ca
from tests.server.conftest import (  # noqa: F401 (fixtures)
    migrated_database,
    migrated_url,
    postgres_migrated,
    sqlite_template,
    world,
)


@pytest.fixture(scope="session")
def card_ca() -> CertificateAuthority:
    """The test "health insurance" CA."""
    return create_card_ca()


@pytest.fixture(scope="session")
def rogue_ca() -> CertificateAuthority:
    """Another CA, with the very same name, that the server does not trust."""
    return create_card_ca()
