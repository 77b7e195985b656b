"""An in-process server on each database engine, and synthetic identities to call it with.

Identities are made here: an EC P-256 (or RSA) key, a certificate from a throwaway test CA
(cryptography's CertificateBuilder), stored as IssuedCertificate + MailboxCertificate the
way enrolment stores them, then a real challenge/token exchange through the API.
"""

from __future__ import annotations

import base64
import itertools
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from sqlalchemy import update

from caducee.config import load_settings
from caducee.directory.credentials import digest
from caducee.directory.identifiers import luhn_complete
from caducee.directory.models import MailboxCertificate
from caducee.server import create_app
from caducee.server.state import ServerState
from caducee.store import Database, upgrade_database
from caducee.store.models import IssuedCertificate
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.relay.cms_samples import fake_enveloped

OPERATOR_TOKEN = "operator-test-token"
_counter = itertools.count(1)
_CA_KEY = ec.generate_private_key(ec.SECP256R1())
_CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Caducée test CA")])


class FakeClock:
    """The server's clock, moved by tests (tokens and challenges expire with it)."""

    def __init__(self) -> None:
        self.value = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass
class Identity:
    """A mailbox the test controls: its key, certificate and current access token."""

    address: str
    key: PrivateKey
    certificate: x509.Certificate
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def serial_hex(self) -> str:
        return format(self.certificate.serial_number, "x")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sign(self, data: bytes, *, pss: bool = False) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                if pss
                else padding.PKCS1v15()
            )
            return self.key.sign(data, pad, hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def make_certificate(
    address: str, key: PrivateKey, *, not_before: datetime, days: int = 365
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, address)]))
        .issuer_name(_CA_NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .sign(_CA_KEY, hashes.SHA256())
    )


class World:
    """Seeds the directory through the admin API and logs identities in through the API."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.app = app
        self.client = client
        self.clock = clock

    @property
    def state(self) -> ServerState:
        state: ServerState = self.app.state.caducee
        return state

    async def admin(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        return await self.client.post(f"/api/v1/admin{path}", json=body, headers=headers)

    async def organisation(self, name: str = "Laboratoire Synthèse", **fields: Any) -> str:
        finess = luhn_complete(f"{750000000 + next(_counter):08d}"[-8:])
        body = {"finess": finess, "name": name, "type": "lab", "city": "Lyon", **fields}
        response = await self.admin("/organisations", body)
        assert response.status_code == 201, response.text
        return finess

    async def person(
        self, family_name: str = "Martin", organisation: str | None = None, **fields: Any
    ) -> Identity:
        """A person with a personal mailbox, a certificate, and an access token."""
        rpps = luhn_complete(f"{1000000000 + next(_counter):010d}")
        body = {
            "rpps": rpps,
            "given_name": "Claire",
            "family_name": family_name,
            "profession": "médecin",
            "specialty": "médecine générale",
            "organisation": organisation,
            **fields,
        }
        response = await self.admin("/people", body)
        assert response.status_code == 201, response.text
        address = f"{family_name.lower()}.{rpps}@caducee.test"
        return await self.mailbox(address, "personal", person=rpps, rpps=rpps)

    async def mailbox(
        self,
        address: str,
        kind: str,
        *,
        person: str | None = None,
        organisation: str | None = None,
        rpps: str | None = None,
        key: PrivateKey | None = None,
    ) -> Identity:
        body = {"address": address, "kind": kind, "person": person, "organisation": organisation}
        response = await self.admin("/mailboxes", body)
        assert response.status_code == 201, response.text
        identity = await self.certify(address, key or ec.generate_private_key(ec.SECP256R1()))
        identity.extra["rpps"] = rpps
        await self.login(identity)
        return identity

    async def certify(self, address: str, key: PrivateKey, *, days: int = 365) -> Identity:
        """Store a new certificate for ``address`` as enrolment would."""
        certificate = make_certificate(
            address, key, not_before=self.clock() - timedelta(hours=1), days=days
        )
        serial_hex = format(certificate.serial_number, "x")
        mailbox = await _directory(self).get_mailbox(address)
        async with self.state.database.transaction() as session:
            session.add(
                IssuedCertificate(
                    serial_hex=serial_hex,
                    profile="person",
                    subject=f"E={address}",
                    email=address,
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                    der=certificate.public_bytes(serialization.Encoding.DER),
                )
            )
            await session.flush()
            session.add(MailboxCertificate(mailbox_id=mailbox.id, serial_hex=serial_hex))
        return Identity(address=address, key=key, certificate=certificate)

    async def login(self, identity: Identity, *, pss: bool = False) -> str:
        response = await self.client.post(
            "/api/v1/auth/challenge", json={"address": identity.address}
        )
        assert response.status_code == 200, response.text
        challenge = response.json()["challenge"]
        response = await self.client.post(
            "/api/v1/auth/token",
            json={
                "address": identity.address,
                "challenge": challenge,
                "signature": base64.b64encode(identity.sign(challenge.encode(), pss=pss)).decode(),
                "certificate_serial": identity.serial_hex,
            },
        )
        assert response.status_code == 200, response.text
        identity.token = response.json()["access_token"]
        return identity.token

    async def revoke(self, identity: Identity) -> None:
        async with self.state.database.transaction() as session:
            await session.execute(
                update(IssuedCertificate)
                .where(IssuedCertificate.serial_hex == identity.serial_hex)
                .values(revoked_at=self.clock(), revocation_reason="keyCompromise")
            )

    async def send(
        self,
        sender: Identity,
        to: list[str],
        *,
        message_id: str | None = None,
        body: bytes | None = None,
        sender_address: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        payload = {
            "message_id": message_id or f"msg-{next(_counter)}@caducee.test",
            "from": sender_address or sender.address,
            "to": to,
            "date": "Sun, 29 Nov 2026 08:00:00 +0100",
            "subject": "Document concernant votre patient",
            "ciphertext": base64.b64encode(body or fake_enveloped()).decode(),
        }
        return await self.client.post(
            "/api/v1/messages", json=payload, headers=sender.headers if headers is None else headers
        )


def _directory(world: World) -> Any:
    from caducee.directory import DirectoryService

    return DirectoryService(world.state.database, now=world.clock)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "caducee.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database migrated once per session; each test starts from empty tables."""
    name, url = create_postgres_database(postgres_server)
    upgrade_database(url)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_server, name)


def _truncate_all(url: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        tables = ", ".join(f'"{name}"' for (name,) in rows)
        connection.execute(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each engine (faster than migrating per test)."""
    if request.param == "sqlite":
        path = tmp_path / "caducee.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    _truncate_all(url)
    return url


@pytest.fixture
async def migrated_database(migrated_url: str) -> AsyncIterator[Database]:
    db = Database(migrated_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def world(migrated_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A migrated server on each engine, with a controlled clock and a known operator token."""
    async with open_world(migrated_url, tmp_path) as opened:
        yield opened


@asynccontextmanager
async def open_world(migrated_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The ``world`` fixture's server, for a test that stops it itself."""
    settings = load_settings(data_dir=tmp_path / "data", database_url=migrated_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        clock = FakeClock()
        state: ServerState = app.state.caducee
        state.extras["clock"] = clock
        state.extras["operator_token_sha256"] = digest(OPERATOR_TOKEN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://caducee.test") as client:
            yield World(app, client, clock)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is a problem+json with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body
