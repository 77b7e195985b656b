"""Key transparency with a real server: the agent encrypts only for certificates the evidence
log proves, and raises an alarm on a certificate of its own it never asked for.

The server runs as a subprocess (SQLite and PostgreSQL). To play a dishonest operator the
test edits the server's database directly (a certificate's records hidden from the log) or
asks for a certificate with another key, as a substituted key would be.
"""

from __future__ import annotations

import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from caducee.agent.config import AgentConfig
from caducee.agent.keystore import build_csr
from caducee.agent.ledger_watch import ALARM_FILE, KEY_FILE, read_alarm
from tests.agent.conftest import World, drop, open_runtime
from tests.agent.helpers import agent_cli, hide_from_log, hprim_file

LAB = "labo.fictif@caducee.test"
GP = "dr.testeur@caducee.test"

pytestmark = pytest.mark.slow


def test_a_certificate_in_the_log_is_used_one_not_in_the_log_is_refused(
    world: World,
) -> None:
    _, lab, gp, database_url = world
    with open_runtime(lab) as runtime:
        watcher = runtime.watcher()
        drop(lab / "outbox", "avant.hpr", hprim_file(GP, [("AVANT", "ALICE")], tag="1"))
        assert [o.state for o in watcher.process_ready()] == ["sent"]

    hide_from_log(database_url, AgentConfig.load(gp).load_certificate())
    with open_runtime(lab) as runtime:  # a new process: nothing cached
        watcher = runtime.watcher()
        drop(lab / "outbox", "apres.hpr", hprim_file(GP, [("APRES", "BRUNO")], tag="2"))
        (outcome,) = watcher.process_ready()
    assert (outcome.state, outcome.reason) == ("failed", "certificate-not-in-log")
    reason = (lab / "errors" / "apres.hpr.reason.txt").read_text()
    assert "code: certificate-not-in-log" in reason and "journal de preuves" in reason
    assert (lab / "errors" / "apres.hpr").exists() and not (lab / "outbox" / "apres.hpr").exists()


def test_a_receipt_that_does_not_verify_against_the_pinned_key_is_refused(
    world: World,
) -> None:
    _, lab, _, _ = world
    other = "caducee.invalid/autre-journal+01020304+" + "A" * 43 + "="
    (lab / KEY_FILE).write_text(other + "\n")  # as if the server had swapped its log key
    with open_runtime(lab) as runtime:
        watcher = runtime.watcher()
        drop(lab / "outbox", "r.hpr", hprim_file(GP, [("CLE", "CHARLES")], tag="3"))
        (outcome,) = watcher.process_ready()
    assert (outcome.state, outcome.reason) == ("failed", "certificate-not-in-log")
    assert "does not verify" in (lab / "errors" / "r.hpr.reason.txt").read_text()


def test_a_certificate_of_mine_i_did_not_ask_for_raises_the_alarm(
    world: World,
) -> None:
    _, _, gp, _ = world
    with open_runtime(gp) as runtime:
        receiver = runtime.receiver()
        receiver.check_ledger()
        assert read_alarm(gp) is None  # its own certificate is known: no alarm
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        answer = runtime.client._send(
            "POST", "/api/v1/certificates/renew", json={"csr_pem": build_csr(stranger, GP)}
        ).json()  # someone with a token for this mailbox has a key certified
        issued = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
        receiver._certificates_checked = float("-inf")
        receiver.check_ledger()
    alarm = read_alarm(gp)
    assert alarm is not None and "unexpected-certificate" in alarm
    assert issued.fingerprint(hashes.SHA256()).hex() in alarm
    status = agent_cli("status", "--dir", str(gp))
    assert "ALARM" in status.stdout and "unexpected-certificate" in status.stdout
    with open_runtime(gp) as runtime:  # checked again later: the alarm is not repeated
        runtime.receiver().check_ledger()
    assert (gp / ALARM_FILE).read_text().count("unexpected-certificate") == 1


def test_a_certificate_kept_in_the_history_raises_no_alarm(
    world: World,
) -> None:
    _, _, gp, _ = world
    with open_runtime(gp) as runtime:
        renewed = runtime.client._send(
            "POST", "/api/v1/certificates/renew", json={"csr_pem": build_csr(runtime.key, GP)}
        ).json()
    history = gp / "certificate-history"
    history.mkdir()
    pem = x509.load_pem_x509_certificate(renewed["certificate_pem"].encode())
    (history / "renewed.pem").write_bytes(pem.public_bytes(serialization.Encoding.PEM))
    with open_runtime(gp) as runtime:
        runtime.receiver().check_ledger()
    assert read_alarm(gp) is None
    assert json.loads((gp / "agent.json").read_text())["address"] == GP
