"""The status page, liveness and readiness, before and after `caducee server init`."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from caducee.cli import app as cli
from caducee.config import load_settings
from caducee.server import create_app


async def _client(data_dir: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(data_dir=data_dir, database_url=database_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


@pytest.fixture
async def fresh(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(tmp_path, database_url):
        yield client


async def test_a_fresh_server_is_alive_but_not_ready(fresh: httpx.AsyncClient) -> None:
    assert (await fresh.get("/healthz")).json()["status"] == "ok"
    ready = await fresh.get("/readyz")
    assert ready.status_code == 503
    assert "caducee server init" in ready.json()["reason"]
    page = await fresh.get("/", headers={"accept-language": "fr-FR"})
    assert page.status_code == 503
    assert "pas initialisé" in page.text


async def test_after_init_the_page_shows_the_ca_in_both_languages(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADUCEE_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["server", "init", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "créée / created" in result.output
    again = CliRunner().invoke(cli, ["server", "init", "--data-dir", str(tmp_path)])
    assert "déjà là / already there" in again.output  # idempotent
    async for client in _client(tmp_path, database_url):
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        french = await client.get("/")
        assert french.status_code == 200
        assert "Le service est prêt" in french.text
        assert "AC racine" in french.text
        english = await client.get("/?lang=en")
        assert "The service is ready" in english.text
        assert english.cookies.get("lang") == "en"


def test_the_ca_keys_are_private_to_their_owner(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "init", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("root.key.pem", "issuing.key.pem", "passphrase"):
        assert (tmp_path / "ca" / name).stat().st_mode & 0o077 == 0, name
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "ca" / "root.key.pem").read_bytes()


def test_a_new_data_folder_and_its_database_are_private_to_their_owner(tmp_path: Path) -> None:
    """Who wrote to whom is in the database: a new deployment's folder is 0700 and its SQLite
    file (with its -wal and -shm files) 0600, whatever the umask."""
    folder = tmp_path / "new"
    old_umask = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["server", "init", "--data-dir", str(folder)])
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    databases = sorted(folder.glob("caducee.db*"))
    assert databases and databases[0].name == "caducee.db"
    for path in databases:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
