"""kill -9 the server, then the receiving agent, while a few hundred documents travel.

Real processes only: ``caducee server run`` and two ``caducee agent run`` (a lab sending
from its outbox, a GP receiving into its inbox). The server is killed while the lab's agent
sends and the GP's receives, then the GP's agent while it writes; each is started again.
At the end every document is in the GP's inbox exactly once, byte for byte, nothing is in
``errors/`` or ``quarantine/``, and the outbox is empty. Runs on SQLite and PostgreSQL.
Under two minutes on a quiet machine (most of it is the server starting again).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from caducee.agent.recipients import split_hprim
from tests.agent.helpers import PASSPHRASE, agent_cli, enrol_mailbox, hprim_file, operator_client
from tests.servers import ServerProcess

LAB = "labo.fictif@caducee.test"
GP = "dr.testeur@caducee.test"
DOCUMENTS = 200
DEADLINE = 240.0  # seconds for the whole journey, restarts included (a loaded machine)

pytestmark = pytest.mark.slow


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []


class Agent:
    """``caducee agent run --no-web`` on one folder, which the test may kill -9 and restart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "agent.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "caducee.commands.agent", "run", "--dir", str(self.folder),
             "--no-web"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CADUCEE_AGENT_PASSPHRASE": PASSPHRASE},
        )  # fmt: skip
        log.close()

    def kill_hard(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _init(base: str, code: str, address: str, folder: Path) -> Path:
    agent_cli("init", "--server", base, "--code", code, "--address", address, "--dir", str(folder))
    settings = json.loads((folder / "agent.json").read_text())
    settings["settle_seconds"] = 0.3  # the files are complete when they appear
    (folder / "agent.json").write_text(json.dumps(settings))
    return folder


def _wait(condition: Callable[[], bool], what: str, until: float) -> None:
    while not condition():
        if time.monotonic() > until:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_every_document_lands_once_through_kill_9_of_server_and_receiver(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(tmp_path / "server", {"CADUCEE_DATABASE_URL": database_url})
    server.start()
    agents: list[Agent] = []
    try:
        with operator_client(server.base, server.data_dir) as admin:
            lab_code = enrol_mailbox(admin, "lab", LAB, 1)
            gp_code = enrol_mailbox(admin, "gp", GP, 2)
        lab = _init(server.base, lab_code, LAB, tmp_path / "lab")
        gp = _init(server.base, gp_code, GP, tmp_path / "gp")
        expected: list[bytes] = []
        for number in range(DOCUMENTS):  # invented patients, one document per file
            data = hprim_file(GP, [(f"CRASH{number:04d}", "FICTIF")], tag=f"{number:04d}")
            assert len(split_hprim(data)) == 1  # written into the inbox as it is
            expected.append(data)
            temporary = lab / "outbox" / f".r{number:04d}.hpr.tmp"
            temporary.write_bytes(data)
            past = time.time() - 5
            os.utime(temporary, (past, past))
            temporary.rename(lab / "outbox" / f"r{number:04d}.hpr")
        sender, receiver = Agent(lab), Agent(gp)
        agents = [sender, receiver]
        sender.start()
        receiver.start()
        until = time.monotonic() + DEADLINE
        sent = lambda: len(_visible(lab / "sent"))  # noqa: E731
        received = lambda: len(_visible(gp / "inbox"))  # noqa: E731

        _wait(lambda: sent() >= DOCUMENTS * 0.3, "30% sent", until)
        server.kill_hard()  # the server dies while the lab's agent sends and the GP's receives
        time.sleep(0.5)
        server.start()
        _wait(lambda: received() >= DOCUMENTS * 0.6, "60% received", until)
        receiver.kill_hard()  # the receiving agent dies while writing
        receiver.start()
        _wait(lambda: received() >= DOCUMENTS and not _visible(lab / "outbox"), "all", until)
        time.sleep(1.0)  # anything written twice would show up now

        contents = Counter(p.read_bytes() for p in _visible(gp / "inbox"))
        assert sum(contents.values()) == DOCUMENTS, "a document was written twice"
        assert contents == Counter(expected), "the inbox does not hold exactly the documents"
        assert _visible(lab / "errors") == [] and _visible(gp / "quarantine") == []
        assert len(_visible(lab / "sent")) == DOCUMENTS
    finally:
        for agent in agents:
            agent.stop()
        server.stop()
