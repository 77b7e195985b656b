"""`caducee verify` and `caducee ledger compare|check` on a real log in a data folder."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from caducee.commands import ledger
from caducee.evidence import EvidenceLog, HTTPTimestamper, load_log_identity
from caducee.evidence.models import RecordRow
from caducee.ledger import EvidenceEvent
from caducee.store import Database, upgrade_database
from tests.evidence.samples import make_record
from tests.ledger.tsa import TSA, make_tsa

T = TypeVar("T")
runner = CliRunner()
cli = typer.Typer()
cli.command("verify")(ledger.verify_command)
cli.add_typer(ledger.app, name="ledger")


def run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    return asyncio.run(wrapped())


class DataDir:
    """A data folder with a SQLite log, as `caducee server` lays it out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite+aiosqlite:///{folder / 'caducee.db'}"
        upgrade_database(self.url)
        self.identity = load_log_identity(folder, "caducee.test")
        self.key = self.identity.verifier_key_text

    async def call(self, work, *args):  # type: ignore[no-untyped-def]
        database = Database(self.url)
        try:
            return await work(EvidenceLog(database, self.identity), *args)
        finally:
            await database.close()

    def append(self, start: int, count: int, tag: str = "") -> None:
        async def work(log: EvidenceLog) -> None:
            async with log.database.transaction() as session:
                await log.append_many(
                    session, [make_record(i, tag=tag) for i in range(start, start + count)]
                )

        run(self.call(work))

    def receipt(self, index: int, timestamper: HTTPTimestamper | None = None) -> bytes:
        async def work(log: EvidenceLog) -> bytes:
            log.timestamper = timestamper
            return (await log.receipt(index, await log.checkpoint())).to_bytes()

        data: bytes = run(self.call(work))
        return data

    def checkpoint(self) -> str:
        async def work(log: EvidenceLog) -> str:
            return (await log.checkpoint()).note

        note: str = run(self.call(work))
        return note

    def consistency(self, first: int, second: int) -> str:
        async def work(log: EvidenceLog) -> list[bytes]:
            return await log.consistency(first, second)

        proof = run(self.call(work))
        hashes = [base64.b64encode(h).decode() for h in proof]
        return json.dumps({"first": first, "second": second, "proof": hashes})


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    d = DataDir(tmp_path / "data")
    d.append(0, 12)
    return d


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def test_verify_prints_what_the_record_attests(data: DataDir, tmp_path: Path) -> None:
    receipt = _write(tmp_path, "r.json", data.receipt(5))
    result = runner.invoke(cli, ["verify", receipt, "--log-key", data.key])
    assert result.exit_code == 0, result.output
    assert "Reçu valide / Valid receipt" in result.output
    assert "Déposé par lab@caducee.test le 29/11/2026 à 08:00:05 UTC" in result.output
    assert "submitted by lab@caducee.test on 2026-11-29 08:00:05 UTC" in result.output
    key_file = _write(tmp_path, "log.pub", data.key + "\n")
    assert runner.invoke(cli, ["verify", receipt, "--log-key", key_file]).exit_code == 0


def test_verify_names_what_failed(data: DataDir, tmp_path: Path) -> None:
    good = json.loads(data.receipt(5))
    moved = _write(tmp_path, "moved.json", json.dumps({**good, "leaf_index": 6}))
    result = runner.invoke(cli, ["verify", moved, "--log-key", data.key])
    assert result.exit_code == 1
    assert "Reçu invalide / Invalid receipt — ledger-inclusion-proof-invalid" in result.output
    other = load_log_identity(tmp_path / "other", "other.test").verifier_key_text
    receipt = _write(tmp_path, "r.json", json.dumps(good))
    result = runner.invoke(cli, ["verify", receipt, "--log-key", other])
    assert result.exit_code == 1 and "ledger-wrong-log" in result.output
    result = runner.invoke(cli, ["verify", _write(tmp_path, "t.json", "{"), "--log-key", data.key])
    assert result.exit_code == 1 and "ledger-malformed-receipt" in result.output


def test_verify_checks_the_time_stamp(data: DataDir, tmp_path: Path) -> None:
    tsa: TSA = make_tsa(tmp_path / "tsa")

    def reply(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/timestamp-reply"}
        return httpx.Response(200, content=tsa.reply(request.content), headers=headers)

    stamper = HTTPTimestamper("http://tsa.test/", transport=httpx.MockTransport(reply))
    stamped = _write(tmp_path, "stamped.json", data.receipt(2, stamper))
    root = str(tmp_path / "tsa" / "root.pem")
    result = runner.invoke(cli, ["verify", stamped, "--log-key", data.key, "--tsa-root", root])
    assert result.exit_code == 0, result.output
    assert "Horodaté / time-stamped" in result.output
    plain = _write(tmp_path, "plain.json", data.receipt(2))
    result = runner.invoke(cli, ["verify", plain, "--log-key", data.key, "--tsa-root", root])
    assert result.exit_code == 1 and "ledger-timestamp-invalid" in result.output


def test_compare_detects_a_fork_and_checks_growth(data: DataDir, tmp_path: Path) -> None:
    seen = _write(tmp_path, "a.txt", data.checkpoint())
    args = ["ledger", "compare", seen, seen, "--log-key", data.key]
    assert runner.invoke(cli, args).exit_code == 0
    forked = DataDir(tmp_path / "forked")  # same key, same first 10 leaves, then others
    forked.identity = data.identity
    forked.append(0, 10)
    forked.append(10, 2, tag="forged ")
    other = _write(tmp_path, "b.txt", forked.checkpoint())
    result = runner.invoke(cli, ["ledger", "compare", seen, other, "--log-key", data.key])
    assert result.exit_code == 1 and "ledger-fork-detected" in result.output
    data.append(12, 5)
    later = _write(tmp_path, "c.txt", data.checkpoint())
    args = ["ledger", "compare", seen, later, "--log-key", data.key]
    assert runner.invoke(cli, args).exit_code == 2
    proof = _write(tmp_path, "p.json", data.consistency(12, 17))
    result = runner.invoke(cli, [*args, "--proof", proof])
    assert result.exit_code == 0 and "Même histoire" in result.output, result.output
    forked.append(12, 5)
    bad = _write(tmp_path, "q.json", forked.consistency(12, 17))
    result = runner.invoke(cli, [*args, "--proof", bad])
    assert result.exit_code == 1 and "ledger-consistency-proof-invalid" in result.output


def test_check_recomputes_the_log(data: DataDir) -> None:
    data.checkpoint()
    args = ["ledger", "check", "--data-dir", str(data.folder)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Journal intègre / Log intact: 12 enregistrements" in result.output
    assert runner.invoke(cli, [*args, "--log-key", data.key]).exit_code == 0

    async def tamper(log: EvidenceLog) -> None:
        async with log.database.transaction() as session:
            stmt = update(RecordRow).where(RecordRow.leaf_index == 2).values(event="X")
            await session.execute(stmt)

    run(data.call(tamper))
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "evidence-log-corrupted: record 2: the event or message id column" in result.output


def test_check_without_the_log_key_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    result = runner.invoke(cli, ["ledger", "check", "--data-dir", str(folder)])
    assert result.exit_code == 1
    assert "Contrôle impossible / Cannot check — evidence-log-key" in result.output


@pytest.mark.parametrize("event", list(EvidenceEvent))
def test_every_evidence_event_reads_in_french_and_english(event: EvidenceEvent) -> None:
    """`caducee verify` describes any record the log can hold (a new event without its
    phrase would make it fail on that record)."""
    record = dataclasses.replace(make_record(1), event=event)
    line = ledger.describe_record(record)
    french, english = line.split(" / ")
    named = ("msg-1@caducee.test", "lab@caducee.test", "gp@caducee.test", "relay")
    assert any(name in french for name in named) and any(name in english for name in named)
    assert " le " in french and " on " in english
