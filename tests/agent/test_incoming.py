"""The receiver with a fake server and a real (synthetic) PKI: deliver, quarantine, retry."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.inbox import InboxWriter
from caducee.agent.incoming import Receiver
from caducee.agent.journal import Journal
from caducee.agent.outgoing import build_inner_message
from caducee.agent.trust import smime_to_der
from caducee.crypto.keyfile import KeyKind, PrivateKey, generate_private_key
from caducee.crypto.smime import build_smime
from caducee.crypto.x509_validation import PathValidator, StaticRevocationSource
from caducee.pki import (
    Holder,
    PKIURLs,
    Profile,
    create_issuing_ca,
    create_root_ca,
    issue_certificate,
)
from caducee.pki.revocation import RevokedEntry, build_crl
from tests.agent.helpers import hprim_file

LAB, GP, OTHER = "labo.fictif@caducee.test", "dr.testeur@caducee.test", "autre@caducee.test"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Party:
    key: PrivateKey
    certificate: x509.Certificate


@functools.cache
def _pki() -> tuple[Any, Any, dict[str, Party]]:
    root = create_root_ca(
        "Racine Fictive", PKIURLs("http://pki.caducee.test"), kind=KeyKind.EC_P256, now=NOW
    )
    issuing = create_issuing_ca(root, "Emettrice Fictive", kind=KeyKind.EC_P256, now=NOW)
    parties = {}
    for address in (LAB, GP, OTHER):
        key = generate_private_key(KeyKind.RSA_2048)
        holder = Holder(common_name=address.split("@")[0], email=address, organisation="Fictif")
        cert = issue_certificate(
            issuing, key.public_key(), Profile.ORGANISATION_MAILBOX, holder, now=NOW
        )
        parties[address] = Party(key, cert)
    return root, issuing, parties


def _validator(revoked: tuple[int, ...] = ()) -> PathValidator:
    root, issuing, _ = _pki()
    entries = [RevokedEntry(serial, NOW) for serial in revoked]
    crls = [build_crl(root, [], 1, now=NOW), build_crl(issuing, entries, 2, now=NOW)]
    return PathValidator(
        [root.certificate],
        intermediates=[issuing.certificate],
        revocation=StaticRevocationSource(crls),
    )


def _message(sender: str, to: str, data: bytes, message_id: str) -> bytes:
    _, issuing, parties = _pki()
    inner = build_inner_message(
        sender=sender,
        recipients=[to],
        filename="res.hpr",
        data=data,
        message_id=message_id,
        date=NOW,
    )
    signer = parties[sender]
    smime = build_smime(
        inner,
        signer.certificate,
        signer.key,
        [parties[to].certificate],
        extra_certs=[issuing.certificate],
    )
    return smime_to_der(smime)


class FakeClient:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.bodies: dict[str, bytes] = {}
        self.acked: list[str] = []
        self.fail_fetch = 0
        self.fail_ids: set[str] = set()  # fetching these fails once, whatever the order
        self.fail_ack: set[str] = set()
        self.gone: set[str] = set()
        self.down_acks = 0  # acknowledgement requests lost whole (network)
        self.requests = 0  # acknowledgement requests that reached the "server"
        self.together: list[list[str]] = []  # fetch_many requests
        self.alone: list[str] = []  # fetch requests
        self.down_fetches = 0  # fetch_many requests lost whole

    def add(self, message_id: str, sender: str, der: bytes, *, listed_size: bool = False) -> None:
        sequence = len(self.bodies) + 1
        item: dict[str, Any] = {"sequence": sequence, "message_id": message_id, "sender": sender}
        if listed_size:  # as the server lists it: then small ones are fetched together
            item["size"] = len(der)
        self.items.append(item)
        self.bodies[message_id] = der

    def fetch_many(self, message_ids: list[str]) -> dict[str, bytes]:
        self.together.append(list(message_ids))
        if self.down_fetches:
            self.down_fetches -= 1
            raise NetworkError("down")
        return {m: self.bodies[m] for m in message_ids}

    def list_messages(self, cursor: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        found = [
            i for i in self.items if i["sequence"] > cursor and i["message_id"] not in self.acked
        ]
        return found, found[-1]["sequence"] if found else cursor

    def fetch(self, message_id: str) -> bytes:
        self.alone.append(message_id)
        if message_id in self.fail_ids:
            self.fail_ids.discard(message_id)
            raise NetworkError("down")
        if self.fail_fetch:
            self.fail_fetch -= 1
            raise NetworkError("down")
        return self.bodies[message_id]

    def ack_many(
        self, acknowledgements: list[tuple[str, bytes | None]]
    ) -> dict[str, ServerError | None]:
        """As the server answers: one outcome per message; ``down_acks`` loses whole requests."""
        if self.down_acks:
            self.down_acks -= 1
            raise NetworkError("down")
        outcomes: dict[str, ServerError | None] = {}
        for message_id, _ in acknowledgements:
            if message_id in self.fail_ack:
                self.fail_ack.discard(message_id)
                outcomes[message_id] = ServerError("busy", status=503, code="http-503")
            elif message_id in self.gone:
                outcomes[message_id] = ServerError("gone", status=404, code="unknown-message")
            else:
                self.acked.append(message_id)
                outcomes[message_id] = None
        self.requests += 1
        return outcomes


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Receiver, FakeClient, Path]:
    client = FakeClient()
    journal = Journal(tmp_path / "journal.sqlite")
    writer = InboxWriter(
        journal, inbox=tmp_path / "inbox", archive=tmp_path / "archive", quarantine=tmp_path / "q"
    )
    gp = _pki()[2][GP]
    receiver = Receiver(
        client,  # type: ignore[arg-type]
        journal,
        writer,
        certificate=gp.certificate,
        key=gp.key,
        validator=_validator(),
    )
    return receiver, client, tmp_path


def _reasons(folder: Path) -> list[str]:
    return [p.read_text() for p in sorted(folder.glob("*.reason.txt"))]


def test_a_good_message_is_delivered_and_acknowledged(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    client.add("m1", LAB, _message(LAB, GP, hprim_file(GP, [("FICTIF", "ALICE")]), "m1"))
    report = receiver.sync_once()
    assert report.delivered == ["m1"] and report.files == 1 and client.acked == ["m1"]
    assert receiver.journal.cursor == 1
    assert len(list((root / "inbox").iterdir())) == 1


def test_garbage_goes_to_quarantine(setup: tuple[Receiver, FakeClient, Path]) -> None:
    receiver, client, root = setup
    client.add("m1", LAB, b"\x30\x03\x02\x01\x00")
    assert receiver.sync_once().quarantined == ["m1"]
    assert client.acked == ["m1"]
    assert "code: malformed-message" in _reasons(root / "q")[0]


def test_a_sender_other_than_the_authenticated_one_is_quarantined(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    client.add("m1", OTHER, _message(LAB, GP, b"texte", "m1"))  # the server says OTHER sent it
    assert receiver.sync_once().quarantined == ["m1"]
    assert "code: sender-mismatch" in _reasons(root / "q")[0]
    assert list((root / "inbox").glob("*")) == []


def test_a_message_for_someone_else_is_quarantined(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    client.add("m1", LAB, _message(LAB, OTHER, b"texte", "m1"))
    assert receiver.sync_once().quarantined == ["m1"]
    assert "code: no-recipient-for-key" in _reasons(root / "q")[0]


def test_a_revoked_signer_is_quarantined(setup: tuple[Receiver, FakeClient, Path]) -> None:
    receiver, client, root = setup
    receiver.validator = _validator(revoked=(_pki()[2][LAB].certificate.serial_number,))
    client.add("m1", LAB, _message(LAB, GP, b"texte", "m1"))
    assert receiver.sync_once().quarantined == ["m1"]
    assert "code: certificate-revoked" in _reasons(root / "q")[0]


def test_network_trouble_postpones_without_acknowledging(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, _ = setup
    client.add("m1", LAB, _message(LAB, GP, b"un", "m1"))
    client.add("m2", LAB, _message(LAB, GP, b"deux", "m2"))
    client.fail_ids = {"m1"}
    report = receiver.sync_once()
    assert report.failed == "network-error" and client.acked == [] and receiver.journal.cursor == 0
    assert receiver.sync_once().delivered == ["m1", "m2"]
    assert client.acked == ["m1", "m2"]


def test_a_message_handled_before_a_lost_ack_is_only_acknowledged(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    client.add("m1", LAB, _message(LAB, GP, b"un", "m1"))
    receiver.sync_once()
    client.acked.clear()  # the ack never reached the server
    receiver.journal.cursor = 0
    report = receiver.sync_once()
    assert report.delivered == [] and client.acked == ["m1"]
    assert len(list((root / "inbox").iterdir())) == 1


def test_a_crl_that_cannot_be_fetched_postpones(setup: tuple[Receiver, FakeClient, Path]) -> None:
    receiver, client, root = setup

    class Unreachable:
        def validate(self, *args: Any, **kwargs: Any) -> Any:
            raise NetworkError("the CRL could not be fetched")

    receiver.validator = Unreachable()
    client.add("m1", LAB, _message(LAB, GP, b"texte", "m1"))
    assert receiver.sync_once().failed == "network-error"
    assert client.acked == [] and list((root / "q").glob("*")) == []


def test_an_unforeseen_failure_quarantines_instead_of_blocking(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup

    class Broken:
        def validate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("bug")

    receiver.validator = Broken()
    client.add("m1", LAB, _message(LAB, GP, b"texte", "m1"))
    client.add("m2", LAB, _message(LAB, GP, b"texte 2", "m2"))
    assert receiver.sync_once().quarantined == ["m1", "m2"]
    assert "code: unreadable" in _reasons(root / "q")[0]


def test_a_failure_in_the_middle_keeps_what_came_before(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    """m2 cannot be fetched: m1 is written and acknowledged, the cursor stops before m2."""
    receiver, client, root = setup
    for number in range(1, 5):
        client.add(f"m{number}", LAB, _message(LAB, GP, f"doc {number}".encode(), f"m{number}"))
    client.fail_ids = {"m2"}
    report = receiver.sync_once()
    assert report.failed == "network-error" and report.delivered == ["m1"]
    assert client.acked == ["m1"] and receiver.journal.cursor == 1
    assert receiver.sync_once().delivered == ["m2", "m3", "m4"]
    assert sorted(client.acked) == ["m1", "m2", "m3", "m4"] and receiver.journal.cursor == 4
    assert len(list((root / "inbox").iterdir())) == 4


def test_a_lost_ack_is_sent_again_and_nothing_is_written_twice(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    for number in range(1, 4):
        client.add(f"m{number}", LAB, _message(LAB, GP, f"doc {number}".encode(), f"m{number}"))
    client.fail_ack = {"m2"}
    report = receiver.sync_once()
    assert report.delivered == ["m1", "m2", "m3"] and not report.failed
    assert sorted(client.acked) == ["m1", "m3"] and receiver.journal.cursor == 3
    assert [row[0] for row in receiver.journal.unacknowledged()] == ["m2"]
    again = receiver.sync_once()  # the journal remembers: m2 is acknowledged now
    assert again.delivered == [] and not again.failed
    assert sorted(client.acked) == ["m1", "m2", "m3"] and receiver.journal.unacknowledged() == []
    assert len(list((root / "inbox").iterdir())) == 3


def test_a_batch_is_acknowledged_in_one_request_and_a_lost_request_is_sent_again(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    for number in range(1, 6):
        client.add(f"m{number}", LAB, _message(LAB, GP, f"doc {number}".encode(), f"m{number}"))
    client.down_acks = 1
    report = receiver.sync_once()
    assert len(report.delivered) == 5 and client.acked == [] and client.requests == 0
    assert len(receiver.journal.unacknowledged()) == 5
    again = receiver.sync_once()
    assert again.delivered == [] and sorted(client.acked) == [f"m{n}" for n in range(1, 6)]
    assert client.requests == 1 and receiver.journal.unacknowledged() == []
    assert len(list((root / "inbox").iterdir())) == 5


def test_small_messages_are_fetched_together_and_big_ones_alone(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, root = setup
    for number in range(1, 4):
        der = _message(LAB, GP, f"doc {number}".encode(), f"m{number}")
        client.add(f"m{number}", LAB, der, listed_size=True)
    big = _message(LAB, GP, b"x" * (300 * 1024), "m4")
    client.add("m4", LAB, big, listed_size=True)
    assert receiver.sync_once().delivered == ["m1", "m2", "m3", "m4"]
    assert client.together == [["m1", "m2", "m3"]] and client.alone == ["m4"]
    assert len(list((root / "inbox").iterdir())) == 4


def test_a_lost_fetch_together_falls_back_to_one_by_one(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, _ = setup
    for number in range(1, 3):
        der = _message(LAB, GP, f"doc {number}".encode(), f"m{number}")
        client.add(f"m{number}", LAB, der, listed_size=True)
    client.down_fetches = 1
    assert receiver.sync_once().delivered == ["m1", "m2"]
    assert client.together == [["m1", "m2"]] and sorted(client.alone) == ["m1", "m2"]


def test_an_ack_for_a_message_gone_from_the_mailbox_is_not_retried(
    setup: tuple[Receiver, FakeClient, Path],
) -> None:
    receiver, client, _ = setup
    client.add("m1", LAB, _message(LAB, GP, b"un", "m1"))
    client.gone = {"m1"}
    receiver.sync_once()
    assert receiver.journal.unacknowledged() == []


def test_a_batch_is_opened_in_parallel(setup: tuple[Receiver, FakeClient, Path]) -> None:
    receiver, client, root = setup
    seen: set[str] = set()
    fetch = client.fetch

    def fetch_in_thread(message_id: str) -> bytes:
        import threading

        seen.add(threading.current_thread().name)
        return fetch(message_id)

    client.fetch = fetch_in_thread  # type: ignore[method-assign]
    for number in range(1, 13):
        client.add(f"m{number}", LAB, _message(LAB, GP, f"doc {number}".encode(), f"m{number}"))
    report = receiver.sync_once()
    assert report.delivered == [f"m{n}" for n in range(1, 13)]  # written in the mailbox's order
    assert len(seen) > 1 and all(name.startswith("receive") for name in seen)
    assert len(list((root / "inbox").iterdir())) == 12
