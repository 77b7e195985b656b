"""The agent's journal opened by several threads at once, as its loops and pages do at
start-up: each open succeeds (the demo's CI run once lost an agent to "database is
locked" here)."""

from __future__ import annotations

import threading
from pathlib import Path

from caducee.agent.journal import Journal


def test_threads_opening_a_new_journal_together_all_succeed(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for attempt in range(60):  # before the fix, about 1 open in 70 failed
        path = tmp_path / f"{attempt}" / "journal.db"
        barrier = threading.Barrier(6)

        def open_once(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                Journal(path).close()
            except BaseException as exc:  # collected: a thread's error would be lost
                failures.append(exc)

        threads = [threading.Thread(target=open_once) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    with Journal(tmp_path / "0" / "journal.db") as journal:  # and the file is whole
        assert journal.recent_outgoing() == [] and journal.incoming_state("absent") is None
