"""``make run``'s command: the demonstration delivers a result from the lab to a GP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port_block


def test_the_demo_delivers_a_result_and_starts_again(tmp_path: Path) -> None:
    demo = tmp_path / "demo"  # made by the demo
    port = free_port_block(4)  # the three agents' pages take the next three ports
    command = [
        sys.executable,
        "-m",
        "caducee.cli",
        "demo",
        "--dir",
        str(demo),
        "--port",
        str(port),
        "--once",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADUCEE_")}
    for run in (1, 2):  # the second run reuses the deployment and the enrolled agents
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Arrivé, déchiffré et vérifié" in result.stdout, result.stdout
        inbox = list((demo / "alice.imaginaire" / "inbox").glob("*FICTIF-Camille*"))
        assert len(inbox) == run
        assert b"****LAB****" in inbox[0].read_bytes()
    assert list((demo / "labo.demo" / "sent").glob("resultat-*.hpr"))
    assert not list((demo / "alice.imaginaire" / "quarantine").glob("*"))
    # Synthetic data, kept as real data would be: the owner's only.
    for folder in (demo, demo / "server", demo / "labo.demo", demo / "alice.imaginaire"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder.name
    assert stat.S_IMODE((demo / "server" / "caducee.db").stat().st_mode) == 0o600
