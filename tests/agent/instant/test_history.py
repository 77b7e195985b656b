"""Whoever a case reaches reads it, with the workstation's client against a real server
process on SQLite and PostgreSQL: the escalation's backup reads the patient's card and the
question although their sender's client is closed; a participant added by hand reads the card
and what was said in the current generations, and after a removal (a rotation) a newcomer
still reads the card while the removed person reads nothing new.

SYNTHETIC TEST MATERIAL: invented people and patient (``conftest``).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from caducee.agent.errors import ServerError
from caducee.agent.instant.case import CaseState
from caducee.agent.instant.timeline import fold
from caducee.directory.identifiers import luhn_complete
from caducee.instant.errors import UnknownSenderKey
from caducee.instant.payloads import Text
from tests.agent.helpers import operator_client
from tests.agent.instant.conftest import ALICE, BOB, CAROL, PATIENT
from tests.live_office import Office, open_office

pytestmark = pytest.mark.slow

DAVE = "dr.dave.bureau@caducee.test"
ESCALATION_SECONDS = 10  # the shortest the server takes; its timer looks every 5 s
API = "/api/v1/instant"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp(f"miss-history-{request.param}")
    with open_office(
        request, root, (ALICE, BOB, CAROL, DAVE), first_number=71, engine=request.param
    ) as found:
        yield found


def texts(state: CaseState) -> list[str]:
    return [e.payload.text for e in state.entries if isinstance(e.payload, Text)]


def _created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def on_call_role(office: Office, primary: str, backup: str) -> int:
    """A cardiology role with ``primary`` on duty and ``backup`` behind, escalating fast."""
    now = datetime.now(UTC)
    shift = {
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=12)).isoformat(),
    }
    with operator_client(office.base, office.server.data_dir) as admin:
        finess = luhn_complete(f"{75000000 + int(time.time()) % 900000:08d}")
        organisation = {"finess": finess, "name": "CHU Synthèse", "type": "university_hospital"}
        assert admin.post("/api/v1/admin/organisations", json=organisation).status_code == 201
        unit = {"organisation": finess, "kind": "service", "name": "Cardiologie"}
        service = _created(admin.post(f"{API}/units", json=unit))
        role = _created(
            admin.post(
                f"{API}/units",
                json={
                    "organisation": finess,
                    "kind": "role",
                    "name": "Cardiologue de garde",
                    "service": service,
                    "escalation_seconds": ESCALATION_SECONDS,
                },
            )
        )
        for address, position in ((primary, "primary"), (backup, "backup")):
            body = {"address": address, "position": position, **shift}
            assert admin.post(f"{API}/roles/{role}/shifts", json=body).status_code == 201
    return role


def test_the_backup_reads_the_question_its_sender_gone(office: Office) -> None:
    bob, carol = office.instant(BOB), office.instant(CAROL)  # their devices exist
    role = on_call_role(office, BOB, CAROL)
    alice = office.instant(ALICE)
    case = alice.create_case([], PATIENT, "Douleur thoracique, avis ?", role=role)
    assert case.metadata["escalation_reach"] == [CAROL]
    assert case.participants == tuple(sorted([ALICE, BOB]))
    case_id = case.case_id
    del case, alice  # Alice's workstation is closed: nobody will seal anything for Carol now

    # Before the escalation Carol sees nothing of the case.
    assert case_id not in {c["case_id"] for c in carol.cases()}
    with pytest.raises(ServerError) as refused:
        carol.case(case_id).sync()
    assert refused.value.status == 404

    deadline = time.monotonic() + 60
    while case_id not in {c["case_id"] for c in carol.cases()}:
        assert time.monotonic() < deadline, "the escalation did not add the backup"
        time.sleep(1)
    carols = office.instant(CAROL).case(case_id)
    carols.sync()
    assert carols.patient() == PATIENT
    assert texts(carols) == ["Douleur thoracique, avis ?"]
    assert all(e.error is None for e in carols.entries)
    assert bob.case(case_id).sync()  # Bob, on duty, reads it too


def test_a_participant_added_by_hand_reads_the_history(office: Office) -> None:
    alice, bob, carol, dave = (office.instant(a) for a in (ALICE, BOB, CAROL, DAVE))
    case = alice.create_case([BOB], PATIENT, "Alice 1")
    bobs = bob.case(case.case_id)
    bobs.sync()
    bobs.say("Bob 1")
    case.say("Alice 2")

    case.add_participants([CAROL])
    carols = carol.case(case.case_id)
    carols.sync()
    assert carols.patient() == PATIENT
    assert texts(carols) == ["Alice 1", "Alice 2"]  # Bob's chain is not sealed to her yet
    bobs.say("Bob 2")  # Bob's client seals his chain, from its start, to Carol's device
    carols.sync()
    assert texts(carols) == ["Alice 1", "Bob 1", "Alice 2", "Bob 2"]

    # Alice removes Bob: her next message starts a new generation, the card carried into it.
    case.remove_participant(BOB)
    case.say("Alice après le retrait")
    listed = case.session.json(
        "GET",
        f"/cases/{case.case_id}/messages",
        params={"device": case.device.device_id, "after": 0, "limit": 500},
    )["messages"]
    newest = [m for m in listed if m["kind"] == "message" and m["sender"] == ALICE]
    for m in newest[-2:]:  # the card's copy and the text: Bob opens neither
        with pytest.raises(UnknownSenderKey):
            bobs.cipher.decrypt(base64.b64decode(m["ciphertext"]))
    with pytest.raises(ServerError):
        bobs.sync()

    case.add_participants([DAVE])
    daves = dave.case(case.case_id)
    daves.sync()
    assert daves.patient() == PATIENT  # the copy in Alice's current generation
    assert texts(daves) == ["Alice après le retrait"]  # earlier generations stay closed
    carols.sync()
    shown = fold(carols.entries, CAROL)
    assert [i.kind for i in shown.messages.values()].count("patient") == 1
    assert shown.patient == PATIENT
