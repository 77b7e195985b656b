"""RFC 3161 time-stamped checkpoints (openssl ts behind an httpx transport) and the log key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from caducee.evidence import (
    EvidenceLog,
    HTTPTimestamper,
    LogCorrupted,
    LogKeyError,
    check_log,
    load_log_identity,
    load_log_key,
    load_or_create_log_key,
    log_origin,
)
from caducee.evidence.models import CheckpointRow
from caducee.ledger import parse_verifier_key, verify_receipt
from tests.evidence.conftest import fill
from tests.ledger.tsa import TSA, make_tsa


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> TSA:
    return make_tsa(tmp_path_factory.mktemp("tsa"))


def _transport(tsa: TSA, seen: list[httpx.Request]) -> httpx.MockTransport:
    """The TSA's HTTP face (RFC 3161 §3.4): the body goes to `openssl ts -reply`."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers["content-type"] != "application/timestamp-query":
            return httpx.Response(415)
        reply = tsa.reply(request.content)
        return httpx.Response(
            200, content=reply, headers={"content-type": "application/timestamp-reply"}
        )

    return httpx.MockTransport(handle)


async def test_a_time_stamped_checkpoint_makes_time_stamped_receipts(
    log: EvidenceLog, tsa: TSA
) -> None:
    seen: list[httpx.Request] = []
    log.timestamper = HTTPTimestamper("http://tsa.test/ts", transport=_transport(tsa, seen))
    await fill(log, 6)
    checkpoint = await log.checkpoint()
    assert checkpoint.timestamp is not None and len(seen) == 1
    receipt = (await log.receipt(4, checkpoint)).to_bytes()
    verified = verify_receipt(receipt, log_key=log.verifier_key, tsa_roots=[tsa.root])
    assert verified.timestamp is not None
    await check_log(log.database, log.verifier_key, tsa_roots=[tsa.root])
    async with log.database.transaction() as session:
        row = await session.get(CheckpointRow, checkpoint.id)
        assert row is not None and row.timestamp_token is not None
        row.timestamp_token = row.timestamp_token[:-1] + bytes([row.timestamp_token[-1] ^ 1])
    with pytest.raises(LogCorrupted, match=f"checkpoint {checkpoint.id}: "):
        await check_log(log.database, log.verifier_key, tsa_roots=[tsa.root])


async def test_a_failing_tsa_leaves_the_checkpoint_without_token(log: EvidenceLog) -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(503))
    log.timestamper = HTTPTimestamper("http://tsa.test/ts", transport=transport)
    await fill(log, 2)
    checkpoint = await log.checkpoint()
    assert checkpoint.timestamp is None and checkpoint.tree_size == 2


def test_the_log_key_is_created_once_private_and_reloaded(tmp_path: Path) -> None:
    key = load_or_create_log_key(tmp_path)
    path = tmp_path / "ledger" / "log.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_or_create_log_key(tmp_path)
    assert again.private_bytes_raw() == key.private_bytes_raw()
    identity = load_log_identity(tmp_path, "caducee.test")
    assert identity.origin == log_origin("caducee.test") == "caducee.test/caducee-log"
    assert parse_verifier_key(identity.verifier_key_text) == identity.verifier_key
    os.chmod(path, 0o644)
    with pytest.raises(LogKeyError, match="readable by others"):
        load_log_key(tmp_path)


def test_a_passphrase_encrypts_the_key(tmp_path: Path) -> None:
    key = load_or_create_log_key(tmp_path, b"secret phrase")
    path = tmp_path / "ledger" / "log.key"
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_log_key(tmp_path, b"secret phrase").private_bytes_raw() == key.private_bytes_raw()
    with pytest.raises(LogKeyError, match="wrong passphrase"):
        load_log_key(tmp_path, b"wrong")
    with pytest.raises(LogKeyError, match="cannot read"):
        load_log_key(tmp_path / "nowhere")
