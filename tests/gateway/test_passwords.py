"""Application passwords: shown once, Argon2id at rest, revocable (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from caducee.gateway import AppPasswordService, BadCredentials
from caducee.gateway.errors import TooManyPasswords, UnknownPassword
from caducee.gateway.passwords import MAX_ACTIVE_PASSWORDS, AppPassword
from caducee.store import downgrade_database, upgrade_database
from tests.gateway.conftest import EdgeWorld


async def test_create_authenticate_revoke(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice", password=False)
    service: AppPasswordService = edge_world.passwords
    created = await service.create(alice.address.upper(), "  Thunderbird\n portable ")
    assert created.label == "Thunderbird portable"
    assert len(created.password) == 23 and created.password.count("-") == 3
    async with edge_world.database.sessions() as session:
        stored = (await session.scalars(select(AppPassword))).one()
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert created.password not in stored.password_hash
    identity = await service.authenticate(f" {alice.address.upper()} ", created.password)
    assert (identity.address, identity.mailbox_id) == (alice.address, alice.mailbox_id)
    for address, password in [
        (alice.address, created.password + "x"),
        ("nobody@caducee.test", created.password),
        (alice.address, ""),
        ("a\x00b", "x"),
    ]:
        with pytest.raises(BadCredentials):
            await service.authenticate(address, password)
    (info,) = await service.list_passwords(alice.address)
    assert info.last_used_at is not None and info.revoked_at is None
    await service.revoke(alice.address, created.id)
    await service.revoke(alice.address, created.id)  # idempotent
    assert not await service.still_valid(identity)
    with pytest.raises(BadCredentials):
        await service.authenticate(alice.address, created.password)
    with pytest.raises(UnknownPassword):
        await service.revoke(alice.address, created.id + 1000)


async def test_limits_and_closed_mailboxes(edge_world: EdgeWorld) -> None:
    alice = await edge_world.person("Alice", password=False)
    bob = await edge_world.person("Bob")
    service = edge_world.passwords
    for _ in range(MAX_ACTIVE_PASSWORDS):
        await service.create(alice.address, "client")
    with pytest.raises(TooManyPasswords):
        await service.create(alice.address, "one too many")
    with pytest.raises(UnknownPassword):
        await service.create("nobody@caducee.test", "x")
    with pytest.raises(UnknownPassword):  # another mailbox's password is not yours to revoke
        await service.revoke(alice.address, (await service.list_passwords(bob.address))[0].id)
    await edge_world.directory.set_active(bob.address, False)
    with pytest.raises(BadCredentials):
        await service.authenticate(bob.address, bob.password)


def test_migration_0004_down_and_up(database_url: str) -> None:
    """The table comes and goes with revision 0004 on each engine."""
    from sqlalchemy import create_engine, inspect

    from caducee.store.migrate import sync_url

    upgrade_database(database_url)
    downgrade_database(database_url, "0003")
    engine = create_engine(sync_url(database_url))
    try:
        assert "gateway_app_password" not in inspect(engine).get_table_names()
        upgrade_database(database_url)
        inspector = inspect(engine)
        assert "gateway_app_password" in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("gateway_app_password")}
        assert columns == {
            "id",
            "mailbox_id",
            "label",
            "password_hash",
            "created_at",
            "last_used_at",
            "revoked_at",
        }
    finally:
        engine.dispose()


def test_migration_0009_down_and_up(database_url: str) -> None:
    """The outbound queue and IMAP cursor tables come and go with revision 0009."""
    from sqlalchemy import create_engine, inspect

    from caducee.store.migrate import sync_url

    upgrade_database(database_url)
    downgrade_database(database_url, "0008")
    engine = create_engine(sync_url(database_url))
    try:
        names = inspect(engine).get_table_names()
        assert "gateway_outbound" not in names and "gateway_imap_cursor" not in names
        upgrade_database(database_url)
        inspector = inspect(engine)
        assert {"gateway_outbound", "gateway_imap_cursor"} <= set(inspector.get_table_names())
        indexes = {i["name"] for i in inspector.get_indexes("gateway_outbound")}
        assert "ix_gateway_outbound_next_attempt_at" in indexes
    finally:
        engine.dispose()
