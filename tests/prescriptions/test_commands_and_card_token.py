"""The commands (drug import, test card CA, test card on SoftHSM2) and a real token card.

The card's key is generated ON a SoftHSM2 token by ``caducee prescriptions test-card`` and
never leaves it: the challenge is signed by the token through PKCS#11, then checked by the
server like any card.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from caducee.cli import app
from caducee.crypto.pkcs11_keys import load_token_key
from caducee.prescriptions import CardVerifier
from caducee.prescriptions.drugs import DrugCatalogue
from caducee.server.routes_prescriptions import load_card_anchors, service
from caducee.store import Database
from tests.prescriptions.helpers import NIR_LEA, Card, card_in, deposit, pharmacy
from tests.server.conftest import World
from tests.softhsm import PIN, softhsm_token

API = "/api/v1/prescriptions"
BDPM = Path(__file__).parents[2] / "src/caducee/prescriptions/data"


def test_import_drugs_replaces_the_catalogue(tmp_path: Path) -> None:
    cis = tmp_path / "CIS_bdpm.txt"
    cip = tmp_path / "CIS_CIP_bdpm.txt"
    cis.write_bytes((BDPM / "CIS_bdpm.txt").read_bytes())
    rows = (BDPM / "CIS_CIP_bdpm.txt").read_bytes().splitlines()
    bad = b"99999999\t1\tx\t\t\t\t3400939000054\t"  # unknown CIS
    wrong_key = rows[0].replace(b"3400939000053", b"3400939000054")
    cip.write_bytes(b"\r\n".join([*rows, bad, wrong_key]) + b"\r\n")
    result = CliRunner().invoke(
        app, ["prescriptions", "import-drugs", str(cis), str(cip), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "14 présentations importées" in result.output
    assert "unknown CIS" in result.output and "invalid-drug-code" in result.output

    async def found() -> list[str]:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'caducee.db'}")
        try:
            return [d.cip13 for d in await DrugCatalogue(database).search("paracetamol 500")]
        finally:
            await database.close()

    assert set(asyncio.run(found())) == {"3400939000053", "3400939008578"}  # + codeine combo


@pytest.fixture
def token_card(tmp_path: Path) -> tuple[Path, Card, Path]:
    """A test card CA (installed in a data folder) and a card on a SoftHSM2 token."""
    runner = CliRunner(env={"CADUCEE_CARD_CA_PASSPHRASE": "phrase de test"})
    data = tmp_path / "data"
    made = runner.invoke(
        app, ["prescriptions", "card-ca", "--dir", str(tmp_path / "ca"), "--data-dir", str(data)]
    )
    assert made.exit_code == 0, made.output
    with softhsm_token(tmp_path / "hsm", "CARTE-VITALE"):
        uri = "pkcs11:token=CARTE-VITALE"
        issued = runner.invoke(
            app,
            [
                "prescriptions", "test-card", "--ca-dir", str(tmp_path / "ca"), "--nir", NIR_LEA,
                "--token-uri", uri, "--pin", PIN, "--out", str(tmp_path / "card.pem"),
            ],
        )  # fmt: skip
        assert issued.exit_code == 0, issued.output
        certificate = x509.load_pem_x509_certificate((tmp_path / "card.pem").read_bytes())
        key = load_token_key(f"{uri};object=carte-vitale;type=private", PIN)
        yield (
            data,
            Card(key, certificate.public_bytes(serialization.Encoding.DER), NIR_LEA),
            (tmp_path / "ca"),
        )
        key.close()


async def test_a_card_on_a_token(world: World, token_card: tuple[Path, Card, Path]) -> None:
    data, card, _ca = token_card
    anchors = load_card_anchors(data / "prescriptions" / "card-ca")
    assert len(anchors) == 1
    service(world.state).access.verifier = CardVerifier(anchors)
    doctor = await world.person("Martin")
    shop = await pharmacy(world)
    task_id, _ = await deposit(world, doctor)
    granted = await card_in(world, card, shop)
    assert granted.status_code == 200, granted.text
    listed = await world.client.get(
        f"{API}/patient/prescriptions",
        headers=shop.headers | {"X-Card-Access": granted.json()["access_token"]},
    )
    assert [t["id"] for t in listed.json()["tasks"]] == [task_id]


async def test_prescriber_signs_with_a_token(world: World, tmp_path: Path) -> None:
    """The prescriber's key lives on a PKCS#11 token (a CPS card in production)."""
    from caducee.crypto.keyfile import KeyKind
    from caducee.crypto.pkcs11_keys import generate_token_key
    from tests.prescriptions.helpers import bundle_for, sign

    with softhsm_token(tmp_path / "cps", "CPS-TEST"):
        uri = "pkcs11:token=CPS-TEST"
        generate_token_key(uri, label="cps-sign", key_id=b"\x07", kind=KeyKind.EC_P256, pin=PIN)
        key = load_token_key(f"{uri};object=cps-sign;type=private", PIN)
        try:
            doctor = await world.person("Martin")
            on_token = await world.certify(doctor.address, key)
            on_token.extra["rpps"] = doctor.extra["rpps"]
            await world.login(on_token)
            created = await world.client.post(f"{API}/tasks", headers=on_token.headers)
            task_id = created.json()["id"]
            signed = sign(on_token, bundle_for(task_id, on_token))
            activated = await world.client.post(
                f"{API}/tasks/{task_id}/activate",
                json={"signed_bundle": signed},
                headers=on_token.headers,
            )
            assert activated.status_code == 200, activated.text
            assert activated.json()["status"] == "ready"
        finally:
            key.close()
