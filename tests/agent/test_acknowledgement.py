"""The GP's agent signs an acknowledgement after decrypting and verifying; the server records
its digest in the ConsignmentAcceptance evidence; the sender can check both without trusting
the operator. Real server process (SQLite and PostgreSQL), real agents' code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization

from caducee.agent.acknowledgement import AckSigner
from caducee.agent.config import AgentConfig
from caducee.agent.ledger_watch import LedgerWatch
from caducee.agent.names import safe_component
from caducee.crypto.cms_verify import verify_signed_data
from caducee.ledger import AckStatement, EvidenceEvent, verify_receipt
from tests.agent.conftest import GP, World, drop, open_runtime
from tests.agent.helpers import hprim_file

pytestmark = pytest.mark.slow


def test_the_signed_acknowledgement_is_recorded_and_verifies(world: World) -> None:
    _, lab, gp, _ = world
    with open_runtime(lab) as sender:
        drop(lab / "outbox", "r.hpr", hprim_file(GP, [("ACCUSE", "ALICE")], tag="7"))
        (outcome,) = sender.watcher().process_ready()
        assert outcome.state == "sent"
        with open_runtime(gp) as receiver:
            report = receiver.receiver().sync_once()
            assert report.delivered == [outcome.message_id]
        archived = f"{safe_component(outcome.message_id, limit=120)}.p7m"
        fetched = (gp / "archive" / archived).read_bytes()
        receipts = sender.client.message_receipts(outcome.message_id)
        acks = sender.client.message_acknowledgements(outcome.message_id)
        log_key = LedgerWatch(lab, sender.client).pin_key()

    records = [verify_receipt(json.dumps(r).encode(), log_key=log_key).record for r in receipts]
    accepted = [r for r in records if r.event is EvidenceEvent.CONSIGNMENT_ACCEPTANCE]
    assert len(accepted) == 1 and accepted[0].actor_id == GP
    (ack,) = acks
    der = base64.b64decode(ack["acknowledgement"])
    assert ack["recipient"] == GP
    assert accepted[0].extra["ack_sha256"] == hashlib.sha256(der).hexdigest()
    signed = verify_signed_data(der)  # the GP's own signature, checked here, offline
    gp_certificate = AgentConfig.load(gp).load_certificate()
    assert signed.signer_certificate == gp_certificate
    statement = AckStatement.from_bytes(signed.content)
    assert statement.message_id == outcome.message_id and statement.recipient == GP
    assert statement.ciphertext_sha256 == hashlib.sha256(fetched).hexdigest()


def test_a_signed_statement_is_canonical_and_names_the_mailbox(world: World) -> None:
    _, _, gp, _ = world
    config = AgentConfig.load(gp)
    with open_runtime(gp) as runtime:
        signer = AckSigner(address=GP.upper(), certificate=runtime.certificate, key=runtime.key)
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        der = signer("m@caducee.test", "ab" * 32, when)
    signed = verify_signed_data(der)
    assert signed.content == (
        b'{"ciphertext_sha256":"' + b"ab" * 32 + b'","message_id":"m@caducee.test",'
        b'"recipient":"dr.testeur@caducee.test","time":"2026-01-02T03:04:05Z",'
        b'"v":"caducee-ack/1"}'
    )
    assert signed.signer_certificate.public_bytes(
        serialization.Encoding.DER
    ) == config.load_certificate().public_bytes(serialization.Encoding.DER)
