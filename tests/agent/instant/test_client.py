"""The workstation's MISS client against a real server, on SQLite and PostgreSQL: two people
on the same Python client open a case and talk (text, reply, edit, delete, read, "I'm
handling it", a photo); a restarted client reads its own earlier messages; the scheduled
rotation after the message limit and after the age limit; a removed participant cannot read
what follows; the device keys file is sealed and private, and the device it holds is
post-quantum (ML-KEM-768 + X25519); a device certified by a certificate the directory lists
but the evidence log does not hold gets no key.

SYNTHETIC TEST MATERIAL: invented people and patient (``conftest``).
"""

from __future__ import annotations

import base64
import json
import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.errors import ServerError
from caducee.agent.instant.case import CaseState
from caducee.agent.instant.cipher import RotationLimits, generation_of
from caducee.agent.instant.device import API, DEVICE_FILE, b64, load_device
from caducee.agent.instant.errors import NotYourMessage
from caducee.agent.instant.timeline import fold
from caducee.agent.keystore import build_csr
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.errors import UnknownSenderKey
from caducee.instant.payloads import Edit, Text
from tests.agent.helpers import agent_cli, hide_from_log
from tests.agent.instant.conftest import ALICE, BOB, CAROL, PATIENT, Office

pytestmark = pytest.mark.slow

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def texts(state: CaseState) -> list[str]:
    return [e.payload.text for e in state.entries if isinstance(e.payload, Text)]


def own_generations(state: CaseState, kind: str = "message") -> list[int]:
    """The generations of this device's messages, read from their headers in the log."""
    answer = state.session.json(
        "GET",
        f"/cases/{state.case_id}/messages",
        params={"device": state.device.device_id, "after": 0, "limit": 500},
    )
    found = []
    for m in answer["messages"]:
        if m["sender_device_id"] == state.device.device_id and m["kind"] == kind:
            header = generation_of(base64.b64decode(m["ciphertext"]))
            assert header is not None
            found.append(header[1])
    return found


def test_two_people_talk_in_a_case(office: Office) -> None:
    alice, bob = office.instant(ALICE), office.instant(BOB)
    case = alice.create_case([BOB], PATIENT, "Bonjour Bob, avis sur cet ECG ?")
    assert case.case_id in {c["case_id"] for c in bob.cases()}

    theirs = bob.case(case.case_id)
    theirs.sync()
    assert theirs.patient() == PATIENT
    assert texts(theirs) == ["Bonjour Bob, avis sur cet ECG ?"]
    assert theirs.unread() == 2  # the patient's card and the question
    first = next(e for e in theirs.entries if isinstance(e.payload, Text))
    reply = theirs.say("Rythme sinusal, rien d'aigu.", reply_to=first.message_id)
    photo = theirs.attach("ecg.png", "image/png", PNG, caption="tracé du jour")
    assert theirs.mark_read() and not theirs.mark_read()  # once, then nothing new
    assert theirs.unread() == 0
    theirs.acknowledge()

    case.sync()
    timeline = fold(case.entries, ALICE)
    answered = timeline.messages[reply]
    assert answered.quoted is not None and answered.quoted.sender == ALICE
    assert answered.quoted.excerpt == "Bonjour Bob, avis sur cet ECG ?"
    shown = timeline.messages[photo]
    assert (
        shown.attachment is not None and shown.attachment.inline and shown.text == "tracé du jour"
    )
    assert case.by_id[photo].payload.data == PNG  # type: ignore[union-attr]
    assert timeline.reads[BOB][0] == timeline.messages[first.message_id].sequence
    assert [(e.kind, e.sender) for e in timeline.acknowledgements] == [("ack", BOB)]
    assert case.refresh()["participants"] == [ALICE, BOB]

    # Alice edits then deletes her question; Bob sees both, never a silent change.
    question = timeline.messages[first.message_id]
    assert question.read_by and question.read_by[0][0] == BOB
    case.edit(question.message_id, "Bonjour Bob, avis sur cet ECG de 8 h ?")
    with pytest.raises(NotYourMessage):
        case.edit(reply, "pas le mien")
    theirs.sync()
    edited = fold(theirs.entries, BOB).messages[question.message_id]
    assert edited.text == "Bonjour Bob, avis sur cet ECG de 8 h ?" and edited.edited_at
    assert [v.text for v in edited.versions] == ["Bonjour Bob, avis sur cet ECG ?"]
    case.delete(question.message_id)
    theirs.sync()
    gone = fold(theirs.entries, BOB).messages[question.message_id]
    assert gone.deleted_by == ALICE and gone.deleted_at is not None and gone.text is None
    # Bob's own reply still quotes it, as deleted.
    requoted = fold(theirs.entries, BOB).messages[reply].quoted
    assert requoted is not None and requoted.deleted

    # An edit of someone else's message, forged by a client: refused on every side.
    theirs.send(Edit(first.message_id, "x"))
    case.sync()
    assert len(fold(case.entries, ALICE).refused) == 1


def test_own_messages_read_after_a_restart(office: Office) -> None:
    alice = office.instant(ALICE)
    case = alice.create_case([BOB, CAROL], PATIENT, "Premier message de la session 1")
    case.say("Deuxième message de la session 1")
    before = own_generations(case)

    again = office.instant(ALICE)  # the agent restarted: a new process, same device file
    assert again.device.device_id == alice.device.device_id
    replayed = again.case(case.case_id)
    replayed.sync()
    assert all(e.error is None for e in replayed.entries), [e.error for e in replayed.entries]
    assert replayed.patient() == PATIENT
    assert texts(replayed) == [
        "Premier message de la session 1",
        "Deuxième message de la session 1",
    ]
    replayed.say("Message de la session 2")
    after = own_generations(replayed)
    assert after[-1] > max(before)  # a fresh generation, above the earlier session's

    # Both sessions' messages are read by the others, and by a third restart.
    bob = office.instant(BOB).case(case.case_id)
    bob.sync()
    assert texts(bob) == [
        "Premier message de la session 1",
        "Deuxième message de la session 1",
        "Message de la session 2",
    ]
    third = office.instant(ALICE).case(case.case_id)
    third.sync()
    assert texts(third) == texts(bob)


def test_scheduled_rotation_after_the_message_limit_and_the_age(office: Office) -> None:
    now = [1000.0]
    limits = RotationLimits(messages=3, seconds=3600, clock=lambda: now[0])
    alice = office.instant(ALICE, limits=limits)
    case = alice.create_case([BOB], PATIENT)  # the patient's card is message 1 of the chain
    for n in range(4):
        case.say(f"message {n}")
    # card, 0, 1 | the card carried into the new generation (for newcomers), 2, 3
    generations = own_generations(case)
    assert len(generations) == 6
    assert generations[:3] == [generations[0]] * 3 and generations[3] > generations[0]
    assert generations[3:] == [generations[3]] * 3
    now[0] += timedelta(hours=2).total_seconds()  # older than the limit
    case.say("après deux heures")
    generations = own_generations(case)
    assert generations[-1] == generations[-2] > generations[-3]
    keys = own_generations(case, kind="key")
    assert len(set(keys)) == 3  # each generation sealed once (to Bob's device and to itself)

    bob = office.instant(BOB).case(case.case_id)
    bob.sync()
    assert texts(bob) == [f"message {n}" for n in range(4)] + ["après deux heures"]
    assert bob.patient() == PATIENT
    assert sum(s.kind == "patient" for s in fold(bob.entries, BOB).messages.values()) == 1


def test_a_removed_participant_cannot_read_what_follows(office: Office) -> None:
    alice, bob, carol = office.instant(ALICE), office.instant(BOB), office.instant(CAROL)
    case = alice.create_case([BOB, CAROL], PATIENT, "Avant le retrait")
    carols = carol.case(case.case_id)
    carols.sync()
    assert texts(carols) == ["Avant le retrait"]
    carols.say("Carol était là")

    case.remove_participant(CAROL)
    case.say("Après le retrait de Carol")
    bobs = bob.case(case.case_id)
    bobs.sync()
    assert texts(bobs) == ["Avant le retrait", "Carol était là", "Après le retrait de Carol"]

    # Carol sees nothing of the case any more...
    with pytest.raises(ServerError) as refused:
        carols.sync()
    assert refused.value.status == 404
    assert case.case_id not in {c["case_id"] for c in carol.cases()}
    # ...and the ciphertext, if she got it, does not open with what she holds.
    listed = case.session.json(
        "GET",
        f"/cases/{case.case_id}/messages",
        params={"device": case.device.device_id, "after": 0, "limit": 500},
    )["messages"]
    last = [m for m in listed if m["kind"] == "message" and m["sender"] == ALICE][-1]
    with pytest.raises(UnknownSenderKey):
        carols.cipher.decrypt(base64.b64decode(last["ciphertext"]))
    # Bob's next message rotates too: Carol's device held his chain.
    bobs.say("Bob après le retrait")
    listed = case.session.json(
        "GET",
        f"/cases/{case.case_id}/messages",
        params={"device": case.device.device_id, "after": 0, "limit": 500},
    )["messages"]
    his = [m for m in listed if m["kind"] == "message" and m["sender"] == BOB][-1]
    with pytest.raises(UnknownSenderKey):
        carols.cipher.decrypt(base64.b64decode(his["ciphertext"]))


def test_the_device_keys_file_is_sealed_and_private(office: Office) -> None:
    alice = office.instant(ALICE)
    config = office.configs[ALICE]
    path = config.directory / DEVICE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["device_id"] == alice.device.device_id
    raw = path.read_bytes()
    assert alice.device.hpke_key.private_bytes() not in raw
    assert base64.b64encode(alice.device.hpke_key.private_bytes()) not in raw
    reopened = load_device(config, office.keys[ALICE], config.load_certificate())
    assert reopened is not None
    assert reopened.public() == alice.device.public()
    # Registered once, active, listed among the person's devices.
    devices = office.client(ALICE).request("GET", "/api/v1/instant/devices").json()["devices"]
    assert [d["device_id"] for d in devices if not d["revoked_at"]] == [alice.device.device_id]
    # Post-quantum by default (issue #8): the device the agent made publishes the hybrid KEM.
    assert alice.device.hpke_key.kem is Kem.MLKEM768_X25519 and Kem.MLKEM768_X25519.value == 0x647A
    assert document["kem"] == 0x647A
    assert [d["kem"] for d in devices if not d["revoked_at"]] == [0x647A]
    listed = office.client(BOB).request("GET", f"{API}/people/{ALICE}/devices").json()["devices"]
    assert {d["device_id"]: d["kem"] for d in listed} == {alice.device.device_id: 0x647A}


def test_the_command_line_lists_and_shows_a_case(office: Office) -> None:
    bob = office.instant(BOB)  # Bob's device exists before Alice writes to him
    case = office.instant(ALICE).create_case([BOB], PATIENT, "Vu en consultation ce matin.")
    folder = str(office.configs[BOB].directory)
    listed = agent_cli("cases", "list", "--dir", folder).stdout
    line = next(row for row in listed.splitlines() if row.startswith(case.case_id))
    assert PATIENT.name in line and ALICE in line and "unread: 2" in line
    shown = agent_cli("cases", "show", case.case_id, "--dir", folder).stdout
    assert f"Patient : {PATIENT.name}" in shown and "Vu en consultation ce matin." in shown
    missing = agent_cli("cases", "show", "00000000-0000-4000-8000-000000000000", "--dir", folder,
                        check=False)  # fmt: skip
    assert missing.returncode == 2 and "instant-case-not-found" in missing.stderr
    assert bob.device.device_id in {
        d["device_id"]
        for d in office.client(BOB).request("GET", "/api/v1/instant/devices").json()["devices"]
    }


def test_a_revoked_device_gives_way_and_the_others_rotate(office: Office) -> None:
    alice, bob = office.instant(ALICE), office.instant(BOB)
    case = bob.create_case([ALICE], PATIENT, "Avant la révocation")
    before, old = case.cipher.generation, alice.device.device_id
    assert old in case.sealed_to
    office.client(ALICE).request("DELETE", f"/api/v1/instant/devices/{old}")  # from her phone
    case.say("Après la révocation")
    assert case.cipher.generation > before and old not in case.sealed_to

    again = office.instant(ALICE)  # the next use of the workstation: a new device
    assert again.device.device_id != old
    mine = again.case(case.case_id)
    mine.sync()
    assert texts(mine) == []  # what came before was sealed to the revoked device only
    assert {e.error for e in mine.entries} == {"instant-unknown-sender-key"}
    case.say("Pour le nouvel appareil")
    mine.sync()
    # Sealed to the new device from the generation's start: what was said since the
    # rotation reads too, and the card Bob carried into it; the older generation stays closed.
    assert texts(mine) == ["Après la révocation", "Pour le nouvel appareil"]
    assert mine.patient() == PATIENT


def test_a_device_whose_certificate_is_not_in_the_log_gets_no_key(
    office: Office, caplog: pytest.LogCaptureFixture
) -> None:
    carol = office.instant(CAROL)  # her device, certified by her logged certificate
    # A dishonest operator certifies a key of its own for Carol and hides it from the log:
    # the directory lists the certificate (it validates), the log does not hold it.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issued = (
        office.client(CAROL)
        ._send("POST", "/api/v1/certificates/renew", json={"csr_pem": build_csr(stranger, CAROL)})
        .json()
    )
    hidden = x509.load_pem_x509_certificate(issued["certificate_pem"].encode())
    hide_from_log(office.database_url, hidden)
    rogue = DeviceKeys.generate("rogue-device", CAROL)
    with ServerClient(
        office.base, Credentials(CAROL, str(issued["serial_hex"]), stranger)
    ) as operator:
        operator.request(
            "POST",
            f"{API}/devices",
            json={"statement": b64(certify_device(rogue.public(), stranger))},
        )
    listed = office.client(ALICE).request("GET", f"{API}/people/{CAROL}/devices").json()
    assert {d["device_id"] for d in listed["devices"]} == {carol.device.device_id, "rogue-device"}

    with caplog.at_level("WARNING", logger="caducee.agent.instant.peers"):
        case = office.instant(ALICE).create_case([CAROL], PATIENT, "Pour Carol seulement")
    assert carol.device.device_id in case.sealed_to and "rogue-device" not in case.sealed_to
    assert "rogue-device" not in case.cipher.member_device_ids()
    left_out = [r.getMessage() for r in caplog.records if "rogue-device" in r.getMessage()]
    assert left_out and "not proven in the evidence log" in left_out[0]
    assert "Pour Carol" not in caplog.text  # ids only in the log
    theirs = carol.case(case.case_id)
    theirs.sync()
    assert texts(theirs) == ["Pour Carol seulement"] and theirs.patient() == PATIENT
