"""Shared test material for the agent: synthetic HPRIM files, the agent CLI, enrolment.

Every person, lab and patient here is invented.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography import x509
from sqlalchemy import create_engine, update

from caducee.agent.transparency import certificate_sha256
from caducee.directory.certificates import certificate_log_id
from caducee.directory.identifiers import luhn_complete
from caducee.evidence.models import RecordRow

__all__ = [
    "PASSPHRASE",
    "agent_cli",
    "enrol_mailbox",
    "hide_from_log",
    "hprim_file",
    "operator_client",
]

PASSPHRASE = "phrase secrète de test"


def hprim_document(
    last: str, first: str, recipient: str, *, file_number: str = "D26000001", nl: str = "\r\n"
) -> str:
    lines = [
        "0000424242", last, first, "1 RUE DE L'ESSAI", "", "75011 PARIS", "17/05/1980",
        "", file_number, "02/01/2026", "LABFIC01 labo.fictif@caducee.test",
        f"DRTEST01 {recipient}", "Compte rendu fictif", "****LAB****",
        "TEX|GLYCEMIE   0,95 g/l", "RES|GLYCEMIE|GLY|N|0.95|g/l|0,70|1,10|N|F", "****FIN****",
    ]  # fmt: skip
    return nl.join(lines) + nl


def hprim_file(recipient: str, patients: list[tuple[str, str]], *, tag: str = "1") -> bytes:
    """A synthetic HPRIM médecin file with one document per (last, first) name."""
    docs = [
        hprim_document(last, first, recipient, file_number=f"D2600{tag}{i:03d}")
        for i, (last, first) in enumerate(patients)
    ]
    return ("".join(docs) + "****FINFICHIER****\r\n").encode("cp1252")


def agent_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``caducee agent ...`` (the Typer sub-app) in a subprocess."""
    env = {**os.environ, "CADUCEE_AGENT_PASSPHRASE": PASSPHRASE}
    result = subprocess.run(
        [sys.executable, "-m", "caducee.commands.agent", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def operator_client(base: str, data_dir: Path) -> httpx.Client:
    from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token

    token = ensure_operator_token(data_dir) or (data_dir / OPERATOR_TOKEN_FILE).read_text().strip()
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _created(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in (200, 201), response.text
    data: dict[str, object] = response.json()
    return data


def enrol_mailbox(admin: httpx.Client, kind: str, address: str, number: int) -> str:
    """Register an invented lab (organisational mailbox) or GP (personal); return a code."""
    if kind == "lab":
        finess = luhn_complete(f"{75000000 + number:08d}")
        _created(admin.post("/api/v1/admin/organisations", json={
            "finess": finess, "name": f"Laboratoire Fictif {number}", "type": "lab",
            "city": "PARIS", "postcode": "75011",
        }))  # fmt: skip
        body = {"address": address, "kind": "organisational", "organisation": finess}
    else:
        rpps = luhn_complete(f"{1000000000 + number:010d}")
        _created(admin.post("/api/v1/admin/people", json={
            "rpps": rpps, "given_name": "Testeur", "family_name": f"Docteur{number}",
            "profession": "Médecin", "specialty": "Médecine générale",
        }))  # fmt: skip
        body = {"address": address, "kind": "personal", "person": rpps}
    _created(admin.post("/api/v1/admin/mailboxes", json=body))
    code = _created(admin.post(f"/api/v1/admin/mailboxes/{address}/enrolment-code"))
    return str(code["code"])


def hide_from_log(database_url: str, certificate: x509.Certificate) -> None:
    """What a dishonest operator would do: the certificate stays, its records go."""
    engine = create_engine(database_url.replace("sqlite+aiosqlite", "sqlite"))
    try:
        with engine.begin() as connection:
            hidden = connection.execute(
                update(RecordRow)
                .where(RecordRow.message_id == certificate_log_id(certificate_sha256(certificate)))
                .values(message_id="hidden-by-the-test")
            )
            assert hidden.rowcount >= 1
    finally:
        engine.dispose()
