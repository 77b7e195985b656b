"""A real server (``caducee server run``) on SQLite and on PostgreSQL, and three people's agent
folders enrolled with it, for the workstation's MISS client (see ``tests.live_office``).

SYNTHETIC TEST MATERIAL: invented people and patients; keys made afresh by the agents.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caducee.instant.payloads import PatientCard
from tests.live_office import Office, open_office

__all__ = ["ALICE", "BOB", "CAROL", "PATIENT", "Office", "open_office"]

ALICE = "dr.alice.bureau@caducee.test"
BOB = "dr.bob.bureau@caducee.test"
CAROL = "dr.carol.bureau@caducee.test"
PATIENT = PatientCard("180057512345678", "Zoé SYNTHÉTIQUE-ESSAI", "1980-05-17", "séjour 42")


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp(f"miss-desktop-{request.param}")
    with open_office(
        request, root, (ALICE, BOB, CAROL), first_number=31, engine=request.param
    ) as found:
        yield found
