"""``make run``'s command: the demonstration delivers a result from the lab to a GP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port_block


def test_the_demo_delivers_a_result_and_starts_again(tmp_path: Path) -> None:
    port = free_port_block(4)  # the three agents' pages take the next three ports
    command = [
        sys.executable,
        "-m",
        "caducee.cli",
        "demo",
        "--dir",
        str(tmp_path),
        "--port",
        str(port),
        "--once",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADUCEE_")}
    for run in (1, 2):  # the second run reuses the deployment and the enrolled agents
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Arrivé, déchiffré et vérifié" in result.stdout, result.stdout
        inbox = list((tmp_path / "alice.imaginaire" / "inbox").glob("*FICTIF-Camille*"))
        assert len(inbox) == run
        assert b"****LAB****" in inbox[0].read_bytes()
    assert list((tmp_path / "labo.demo" / "sent").glob("resultat-*.hpr"))
    assert not list((tmp_path / "alice.imaginaire" / "quarantine").glob("*"))
