"""kill -9 of a process appending in a loop: what committed is whole, and appends go on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from caducee.evidence import EvidenceLog, check_log
from caducee.ledger import verify_receipt
from tests.evidence.conftest import fill

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(url: str, start: int, wait_for: int) -> int:
    """Start the appender, let it commit ``wait_for`` transactions, SIGKILL it mid-loop."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.evidence.appender", url, str(start)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"},
    )
    assert process.stdout is not None
    last = start
    try:
        for _ in range(wait_for):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "the appender died"
            last = int(line)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    return last


async def test_a_killed_appender_leaves_a_sound_log(log: EvidenceLog, migrated_url: str) -> None:
    await fill(log, 5)
    await log.checkpoint()
    committed = _run_and_kill(migrated_url, 5, 25)
    report = await check_log(log.database, log.verifier_key)
    assert report.tree_size >= committed and report.tree_size % 4 == 1  # whole transactions
    await fill(log, 3, start=report.tree_size)
    checkpoint = await log.checkpoint()
    assert checkpoint.tree_size == report.tree_size + 3
    after = await check_log(log.database, log.verifier_key)
    assert after.root_hash == checkpoint.root_hash
    for index in (0, report.tree_size - 1, checkpoint.tree_size - 1):
        receipt = await log.receipt(index, checkpoint)
        verify_receipt(receipt.to_bytes(), log_key=log.verifier_key)
