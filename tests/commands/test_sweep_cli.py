"""``caducee server sweep-blobs``: a dry run by default, ``--apply`` deletes, bad input refused.

The data folder is laid out as ``caducee server`` does (local blobs under ``blobs/``), on
SQLite and on PostgreSQL (``CADUCEE_DATABASE_URL``). Old blobs are made old by moving their
files' modification time back two hours.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caducee.commands.server import app
from caducee.directory import DirectoryService, luhn_complete
from caducee.relay.models import Message
from caducee.store import Database, open_blob_store
from caducee.store.blobs import blob_key
from tests.server.conftest import (  # noqa: F401  (fixtures)
    migrated_url,
    postgres_migrated,
    sqlite_template,
)

runner = CliRunner()


def _prepare(url: str, data_dir: Path) -> tuple[str, str, str]:
    """A referenced old blob, an orphan old blob and a fresh orphan; their digests."""

    async def work() -> tuple[str, str, str]:
        database = Database(url)
        try:
            directory = DirectoryService(database)
            rpps = luhn_complete("1000000001")
            await directory.register_person(
                rpps=rpps, given_name="A", family_name="B", profession="médecin"
            )
            mailbox = await directory.create_mailbox(
                address="gp@caducee.test", kind="personal", person_rpps=rpps
            )
            blobs = open_blob_store((data_dir / "blobs").resolve().as_uri())
            referenced = await blobs.put(b"\x30\x82 synthetic ciphertext 1")
            orphan = await blobs.put(b"\x30\x82 synthetic ciphertext 2")
            fresh = await blobs.put(b"\x30\x82 synthetic ciphertext 3")
            async with database.transaction() as session:
                session.add(
                    Message(
                        message_id="cli-sweep-1",
                        sender_mailbox_id=mailbox,
                        size=24,
                        ciphertext_sha256=referenced,
                        envelope_from="gp@caducee.test",
                        envelope_to=["gp@caducee.test"],
                        envelope_date="Sun, 29 Nov 2026 08:00:00 +0100",
                        subject="x",
                        accepted_at=datetime.now(UTC),
                    )
                )
            return referenced, orphan, fresh
        finally:
            await database.close()

    digests = asyncio.run(work())
    old = time.time() - 7200
    for digest in digests[:2]:
        os.utime(data_dir / "blobs" / blob_key(digest), (old, old))
    return digests


@pytest.fixture
def data_dir(migrated_url: str, tmp_path: Path) -> Path:  # noqa: F811
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


def _invoke(data_dir: Path, url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["sweep-blobs", "--data-dir", str(data_dir), *args],
        env={"CADUCEE_DATABASE_URL": url, "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_dry_run_then_apply(data_dir: Path, migrated_url: str) -> None:  # noqa: F811
    referenced, orphan, fresh = _prepare(migrated_url, data_dir)
    path = data_dir / "blobs"
    code, output = _invoke(data_dir, migrated_url)
    assert code == 0, output
    assert "scanned: 3" in output and "orphans: 1 (25 octets/bytes)" in output
    assert "supprimés / deleted: 0" in output and "Dry run" in output
    assert all((path / blob_key(d)).exists() for d in (referenced, orphan, fresh))

    code, output = _invoke(data_dir, migrated_url, "--apply")
    assert code == 0, output
    assert "supprimés / deleted: 1 (25 octets/bytes)" in output and "Dry run" not in output
    assert not (path / blob_key(orphan)).exists()
    assert (path / blob_key(referenced)).exists() and (path / blob_key(fresh)).exists()

    code, output = _invoke(data_dir, migrated_url, "--apply")  # nothing left to do
    assert code == 0 and "orphans: 0" in output


def test_grace_option(data_dir: Path, migrated_url: str) -> None:  # noqa: F811
    _, orphan, _ = _prepare(migrated_url, data_dir)
    path = data_dir / "blobs" / blob_key(orphan)
    code, output = _invoke(data_dir, migrated_url, "--apply", "--grace", "3h")
    assert code == 0 and "orphans: 0" in output and path.exists()  # two hours is not enough
    for bad in ("30s", "abc", "-5m", "1.5h", ""):
        code, output = _invoke(data_dir, migrated_url, "--apply", "--grace", bad)
        assert code == 2, (bad, output)
        assert path.exists()
    code, output = _invoke(data_dir, migrated_url, "--apply", "--grace", "90m")
    assert code == 0 and not path.exists()


def test_an_uninitialised_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    url = f"sqlite+aiosqlite:///{folder / 'caducee.db'}"
    code, output = _invoke(folder, url, "--apply")
    assert code == 2 and "caducee server init" in output
    assert list(folder.iterdir()) == []  # nothing created


def test_a_database_without_the_schema_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    (folder / "caducee.db").touch()  # a file, but no tables
    blob = folder / "blobs" / blob_key("ab" * 32)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"an old blob")
    old = time.time() - 7200
    os.utime(blob, (old, old))
    code, output = _invoke(folder, f"sqlite+aiosqlite:///{folder / 'caducee.db'}", "--apply")
    assert code == 2 and "caducee server init" in output
    assert blob.exists()  # without the schema, nothing can be known referenced: no deletion
