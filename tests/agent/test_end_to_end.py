"""End to end through real processes: a server, a lab's agent and a GP's agent.

A synthetic HPRIM file dropped in the lab's outbox arrives in the GP's inbox as one file
per document, decrypted and verified; the same file again is recorded, not written twice;
a message whose sender certificate is revoked before the GP syncs goes to quarantine.
Runs on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, select, update

from caducee.agent.config import AgentConfig
from caducee.agent.outbox import OutboxWatcher
from caducee.agent.runtime import AgentRuntime
from caducee.store.models import IssuedCertificate, utcnow
from tests.agent.helpers import PASSPHRASE, agent_cli, enrol_mailbox, hprim_file, operator_client
from tests.conftest import free_port
from tests.servers import running_server

AGENT = (sys.executable, "-m", "caducee.commands.agent")
LAB = "labo.fictif@caducee.test"
GP = "dr.testeur@caducee.test"
NAME = re.compile(r"^\d{8}-\d{6}_labo\.fictif_[A-Za-z0-9.\-]+_[0-9a-f]{8}\.hpr$")

pytestmark = pytest.mark.slow


def _init_agent(base: str, code: str, address: str, folder: Path) -> None:
    root = x509.load_pem_x509_certificate(httpx.get(f"{base}/pki/root.pem").content)
    pin = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
    args = ["init", "--server", base, "--code", code, "--address", address, "--dir", str(folder)]
    wrong = agent_cli(*args, "--root-sha256", "00" * 32, check=False)
    assert wrong.returncode == 2 and "fingerprint" in wrong.stdout + wrong.stderr
    agent_cli(*args, "--root-sha256", pin)  # the code was not spent by the refused attempt
    settings = json.loads((folder / "agent.json").read_text())
    settings["settle_seconds"] = 0.3  # a test need not wait two seconds for stable files
    (folder / "agent.json").write_text(json.dumps(settings))


def _drop(outbox: Path, name: str, data: bytes) -> None:
    temp = outbox / f".{name}.tmp"
    temp.write_bytes(data)
    past = time.time() - 5
    os.utime(temp, (past, past))
    temp.rename(outbox / name)


def _revoke(database_url: str, serial_hex: str) -> None:
    url = database_url.replace("sqlite+aiosqlite", "sqlite")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            serials = connection.execute(select(IssuedCertificate.serial_hex)).scalars().all()
            mine = [s for s in serials if int(s, 16) == int(serial_hex, 16)]
            assert mine, "the lab's certificate is not in the CA's records"
            connection.execute(
                update(IssuedCertificate)
                .where(IssuedCertificate.serial_hex == mine[0])
                .values(revoked_at=utcnow(), revocation_reason="keyCompromise")
            )
    finally:
        engine.dispose()


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _page(url: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        try:
            return httpx.get(url, timeout=5).text
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _received_while_running(gp: Path, watcher: OutboxWatcher, outbox: Path) -> list[Path]:
    before = set(_visible(gp / "inbox"))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caducee.commands.agent",
            "run",
            "--dir",
            str(gp),
            "--web-port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CADUCEE_AGENT_PASSPHRASE": PASSPHRASE},
    )
    try:
        time.sleep(3)  # let it log in and start waiting
        _drop(outbox, "suivant.hpr", hprim_file(GP, [("SUIVANT", "DENIS")], tag="5"))
        assert [o.state for o in watcher.once()] == ["sent"]
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and set(_visible(gp / "inbox")) == before:
            if process.poll() is not None:
                break
            time.sleep(0.2)
        new = sorted(set(_visible(gp / "inbox")) - before)
        assert len(new) == 1 and "SUIVANT" in new[0].name, (new, process.poll())
        assert new[0].name in _page(f"http://127.0.0.1:{port}/inbox")  # the local pages
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert b"SUIVANT" not in output and b"DENIS" not in output  # logs carry no content
    return new


def _sync(runtime: AgentRuntime) -> str:
    report = runtime.receiver().sync_once()
    return (
        f"delivered={len(report.delivered)} files={report.files} "
        f"duplicates={report.duplicates} quarantined={len(report.quarantined)}"
    )


def test_lab_to_gp(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADUCEE_AGENT_PASSPHRASE", PASSPHRASE)
    data_dir = tmp_path / "server"
    with running_server(data_dir, env={"CADUCEE_DATABASE_URL": database_url}) as base:
        with operator_client(base, data_dir) as admin:
            lab_code = enrol_mailbox(admin, "lab", LAB, 1)
            gp_code = enrol_mailbox(admin, "gp", GP, 2)
        lab, gp = tmp_path / "lab", tmp_path / "gp"
        with ThreadPoolExecutor(2) as pool:  # two workstations enrol at the same time
            list(pool.map(_init_agent, [base, base], [lab_code, gp_code], [LAB, GP], [lab, gp]))

        # 1. Two documents in one file, recipient on HPRIM line 12 (through the CLI).
        payload = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO")])
        _drop(lab / "outbox", "resultats.hpr", payload)
        out = agent_cli("watch", "--once", "--dir", str(lab)).stdout
        assert out.startswith("sent\tresultats.hpr\t"), out
        assert _visible(lab / "outbox") == []
        assert [p.name for p in _visible(lab / "sent")] == ["resultats.hpr"]

        result = agent_cli("sync", "--once", "--dir", str(gp)).stdout
        assert "delivered=1 files=2 duplicates=0 quarantined=0" in result, result
        written = _visible(gp / "inbox")
        assert len(written) == 2
        assert all(NAME.match(p.name) for p in written), [p.name for p in written]
        texts = {p.read_bytes().decode("cp1252") for p in written}
        assert any("FICTIF" in t and "ALICE" in t and "BRUNO" not in t for t in texts)
        assert any("ESSAI" in t and "BRUNO" in t and "ALICE" not in t for t in texts)
        assert all(t.rstrip().endswith("****FINFICHIER****") for t in texts)
        assert len(_visible(gp / "archive")) == 1

        with (
            AgentRuntime.open(AgentConfig.load(lab)) as lab_agent,
            AgentRuntime.open(AgentConfig.load(gp)) as gp_agent,
        ):
            watcher = lab_agent.watcher()

            # 1b. `caducee agent run` on the GP's side: mail arrives by itself (long poll).
            written = _received_while_running(gp, watcher, lab / "outbox") + written

            # 2. The same content again under another name: sent, received, not written twice.
            _drop(lab / "outbox", "copie.hpr", payload)
            assert [o.state for o in watcher.once()] == ["sent"]
            assert _sync(gp_agent) == "delivered=1 files=0 duplicates=2 quarantined=0"
            assert _visible(gp / "inbox") == sorted(written)

            # 2b. `caducee agent send -` from standard input, to an explicit recipient.
            sent = subprocess.run(
                [*AGENT, "send", "-", "--to", GP, "--name", "lettre.txt", "--dir", str(lab)],
                input=b"Lettre fictive au Dr Testeur\n",
                capture_output=True,
                env={**os.environ, "CADUCEE_AGENT_PASSPHRASE": PASSPHRASE},
                timeout=60,
                check=True,
            )
            assert sent.stdout.strip().endswith(b"@caducee.test")
            assert _sync(gp_agent) == "delivered=1 files=1 duplicates=0 quarantined=0"
            letters = list((gp / "inbox").glob("*_labo.fictif_lettre_*.txt"))
            assert [p.read_bytes() for p in letters] == [b"Lettre fictive au Dr Testeur\n"]
            written += letters

            # 3. The lab's certificate is revoked before the GP syncs: quarantine, reason.
            _drop(lab / "outbox", "tardif.hpr", hprim_file(GP, [("TARDIF", "CLARA")], tag="9"))
            assert [o.state for o in watcher.once()] == ["sent"]
            _revoke(database_url, lab_agent.config.serial_hex)
            assert _sync(gp_agent) == "delivered=0 files=0 duplicates=0 quarantined=1"
            assert _visible(gp / "inbox") == sorted(written)
            reasons = list((gp / "quarantine").glob("*.reason.txt"))
            assert len(reasons) == 1
            assert "code: certificate-revoked" in reasons[0].read_text()
            assert len(list((gp / "quarantine").glob("*.p7m"))) == 1

            # 4. Nothing is left to fetch: acknowledged messages are not listed again.
            assert _sync(gp_agent) == "delivered=0 files=0 duplicates=0 quarantined=0"
        status = agent_cli("status", "--dir", str(gp)).stdout
        assert "received quarantined" in status and "received delivered" in status
        # The agent pinned the evidence log's key when it joined, and checked the log at sync.
        assert (gp / "ledger-key.txt").exists() and (gp / "ledger-checkpoint.txt").exists()
        assert "evidence log: consistent so far" in status
