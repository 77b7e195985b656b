"""A relay on each engine with a local blob store and three mailboxes (one closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from caducee.directory import DirectoryService, luhn_complete
from caducee.evidence import EvidenceLog, LogIdentity
from caducee.relay import GroupCommitter, InProcessNotifier, RelayService
from caducee.store import Database, open_blob_store
from tests.evidence.samples import ORIGIN, identity_key
from tests.server.conftest import (  # noqa: F401  (fixtures)
    FakeClock,
    migrated_url,
    postgres_migrated,
    sqlite_template,
)


@dataclass
class Relay:
    service: RelayService
    notifier: InProcessNotifier
    clock: FakeClock
    ids: dict[str, int]
    evidence: EvidenceLog


@pytest.fixture
async def relay(migrated_url: str, tmp_path: Path) -> AsyncIterator[Relay]:  # noqa: F811
    database = Database(migrated_url)
    try:
        yield await _relay(database, tmp_path)
    finally:
        await database.close()


async def _relay(database: Database, tmp_path: Path) -> Relay:
    clock = FakeClock()
    directory = DirectoryService(database, now=clock)
    lab = luhn_complete("69000001")
    await directory.register_organisation(finess=lab, name="Laboratoire", type="lab")
    ids = {}
    for name, number in (("gp", "1000000001"), ("other", "1000000002"), ("closed", "1000000003")):
        rpps = luhn_complete(number)
        await directory.register_person(
            rpps=rpps, given_name="A", family_name=name, profession="médecin"
        )
        ids[name] = await directory.create_mailbox(
            address=f"{name}@caducee.test", kind="personal", person_rpps=rpps
        )
    ids["lab"] = await directory.create_mailbox(
        address="lab@caducee.test", kind="applicative", organisation_finess=lab
    )
    await directory.set_active("closed@caducee.test", False)
    notifier = InProcessNotifier()
    blobs = open_blob_store((tmp_path / "blobs").as_uri())
    evidence = EvidenceLog(database, LogIdentity(ORIGIN, identity_key()), now=clock)
    committer = GroupCommitter(database, evidence=evidence)
    service = RelayService(
        database,
        blobs,
        notifier,
        max_size=64 * 1024,
        now=clock,
        committer=committer,
        evidence=evidence,
    )
    return Relay(service, notifier, clock, ids, evidence)
