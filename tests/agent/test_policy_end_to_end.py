"""End to end through a real server: the operator's content policy reaches the lab's agent.

STRICT pdf-only for the lab's organisation: a PDF alone dropped in the lab's outbox lands in
``errors/`` with the reason (an HPRIM report with its PDF beside it still leaves). ADVISORY:
the PDF is sent, arrives in the GP's inbox and is flagged there (journal and local pages).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from caducee.agent.config import AgentConfig
from caducee.agent.runtime import AgentRuntime
from caducee.agent.web import create_web_app
from caducee.directory.identifiers import luhn_complete
from tests.agent.helpers import PASSPHRASE, agent_cli, enrol_mailbox, hprim_file, operator_client
from tests.servers import running_server

LAB = "labo.politique@caducee.test"
GP = "dr.politique@caducee.test"
PDF = b"%PDF-1.7\n% compte rendu fictif\n%%EOF\n"

pytestmark = pytest.mark.slow


def _init(base: str, code: str, address: str, folder: Path) -> None:
    root = x509.load_pem_x509_certificate(httpx.get(f"{base}/pki/root.pem").content)
    pin = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
    agent_cli("init", "--server", base, "--code", code, "--address", address,
              "--dir", str(folder), "--root-sha256", pin)  # fmt: skip
    settings = json.loads((folder / "agent.json").read_text())
    settings["settle_seconds"] = 0.2
    (folder / "agent.json").write_text(json.dumps(settings))


def _drop(outbox: Path, name: str, data: bytes, to: str | None = GP) -> None:
    if to is not None:
        (outbox / f"{name}.to").write_text(to)
    temp = outbox / f".{name}.tmp"
    temp.write_bytes(data)
    past = time.time() - 5
    os.utime(temp, (past, past))
    temp.rename(outbox / name)


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_operator_policy_applies_to_the_lab(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADUCEE_AGENT_PASSPHRASE", PASSPHRASE)
    data_dir = tmp_path / "server"
    lab, gp = tmp_path / "lab", tmp_path / "gp"
    env = {"CADUCEE_DATABASE_URL": database_url}
    with running_server(data_dir, env=env) as base, operator_client(base, data_dir) as admin:
        _init(base, enrol_mailbox(admin, "lab", LAB, 41), LAB, lab)
        _init(base, enrol_mailbox(admin, "gp", GP, 42), GP, gp)
        finess = luhn_complete(f"{75000000 + 41:08d}")
        path = f"/api/v1/admin/organisations/{finess}/content-policy"
        strict = admin.put(path, json={"modes": {"pdf-only": "strict"}})
        assert strict.status_code == 200, strict.text

        with (
            AgentRuntime.open(AgentConfig.load(lab)) as lab_agent,
            AgentRuntime.open(AgentConfig.load(gp)) as gp_agent,
        ):
            assert lab_agent.policy.refresh().pdf_only == "strict"
            watcher = lab_agent.watcher()

            # STRICT: the PDF alone is refused before anything is encrypted.
            _drop(lab / "outbox", "cr.pdf", PDF)
            assert [(o.state, o.reason) for o in watcher.once()] == [("failed", "content-refused")]
            assert _visible(lab / "errors") == ["cr.pdf", "cr.pdf.reason.txt", "cr.pdf.to"]
            reason = (lab / "errors" / "cr.pdf.reason.txt").read_text("utf-8")
            assert reason.index("Français") < reason.index("English") and "HPRIM" in reason

            # The HPRIM report with its PDF beside it is one message, accepted.
            _drop(lab / "outbox", "CR7.hpr", hprim_file(GP, [("FICTIF", "ALICE")]), None)
            _drop(lab / "outbox", "CR7.pdf", PDF + b"%7\n", None)
            assert [o.state for o in watcher.once()] == ["sent"]

            # ADVISORY: sent with a warning, received and flagged.
            advisory = admin.put(path, json={"modes": {"pdf-only": "advisory"}})
            assert advisory.status_code == 200, advisory.text
            lab_agent.policy.refresh()  # what the hourly refresh does
            _drop(lab / "outbox", "cr2.pdf", PDF + b"%2\n")
            (outcome,) = watcher.once()
            assert outcome.state == "sent" and outcome.warnings == ("pdf-only",)
            record = lab_agent.journal.outgoing(
                hashlib.sha256(PDF + b"%2\n").hexdigest(), "cr2.pdf"
            )
            assert record is not None and record.reason == "advisory: pdf-only"
            cached = json.loads((lab / "content-policy.json").read_text())
            assert cached["modes"]["pdf-only"] == "advisory"

            report = gp_agent.receiver().sync_once()
            assert len(report.delivered) == 2 and report.flagged == [outcome.message_id]
            inbox = _visible(gp / "inbox")
            assert sorted(n.rsplit(".", 1)[1] for n in inbox) == ["hpr", "pdf", "pdf"]
            flags = gp_agent.journal.document_flags()
            flagged = [n for n in inbox if "pdf-only" in flags.get(n, set())]
            assert len(flagged) == 1 and "cr2" in flagged[0]

    status = agent_cli("status", "--dir", str(lab)).stdout
    assert "advisory: pdf-only" in status and '"pdf-only": "advisory"' in status
    config = AgentConfig.load(gp)
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as client:
        page = client.get("/inbox", headers={"accept-language": "en"}).text
        assert page.count(">PDF only<") == 1
