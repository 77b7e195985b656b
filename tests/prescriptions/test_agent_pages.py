"""The agent's prescription pages in Chromium, against a real server process.

A doctor's and a pharmacy's agents are enrolled on a running ``caducee server`` (whose data
folder trusts the test card CA made by ``caducee prescriptions card-ca``); a card (software
key file here, the SoftHSM2 card is exercised in test_commands_and_card_token.py) sits in
the pharmacy's reader. The doctor prescribes in French, prints the paper copy; the
pharmacist reads the card, accepts, dispenses and sees the verified receipt; the patient
sees every access and refuses access to the history; the pages fit a phone.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from caducee.agent.config import AgentConfig
from caducee.agent.prescriptions.messages import MESSAGES
from caducee.agent.web import create_web_app
from caducee.cli import app as cli
from caducee.directory.identifiers import luhn_complete
from tests.agent.helpers import PASSPHRASE, agent_cli, operator_client
from tests.conftest import free_port
from tests.prescriptions.helpers import NIR_LEA
from tests.servers import running_server

pytestmark = pytest.mark.slow
DOCTOR = "dr.prescriptrice@caducee.test"
SHOP = "pharmacie.fictive@caducee.test"
CARD_PIN = "1234-carte"


def test_catalogues_have_the_same_keys() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])


def _created(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, object] = response.json()
    return body


def _enrol(admin: httpx.Client) -> tuple[str, str]:
    rpps = luhn_complete("1000000900")
    _created(admin.post("/api/v1/admin/people", json={
        "rpps": rpps, "given_name": "Claire", "family_name": "Prescriptrice",
        "profession": "Médecin", "specialty": "Médecine générale",
    }))  # fmt: skip
    _created(admin.post("/api/v1/admin/mailboxes", json={
        "address": DOCTOR, "kind": "personal", "person": rpps}))  # fmt: skip
    finess = luhn_complete("44000090")
    _created(admin.post("/api/v1/admin/organisations", json={
        "finess": finess, "name": "Pharmacie Fictive", "type": "pharmacy", "city": "NANTES",
    }))  # fmt: skip
    _created(admin.post("/api/v1/admin/mailboxes", json={
        "address": SHOP, "kind": "organisational", "organisation": finess}))  # fmt: skip
    codes = [
        str(_created(admin.post(f"/api/v1/admin/mailboxes/{a}/enrolment-code"))["code"])
        for a in (DOCTOR, SHOP)
    ]
    return codes[0], codes[1]


def _init_agent(base: str, code: str, address: str, folder: Path) -> AgentConfig:
    root = x509.load_pem_x509_certificate(httpx.get(f"{base}/pki/root.pem").content)
    pin = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
    agent_cli(
        "init", "--server", base, "--code", code, "--address", address, "--dir", str(folder),
        "--root-sha256", pin,
    )  # fmt: skip
    return AgentConfig.load(folder)


def _serve(config: AgentConfig) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_web_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/prescriptions/new", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return base, server, thread


@pytest.fixture
def workstations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("CADUCEE_AGENT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CADUCEE_CARD_CA_PASSPHRASE", "phrase de test")
    monkeypatch.setenv("CADUCEE_CARD_PIN", CARD_PIN)
    data_dir = tmp_path / "server"
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["prescriptions", "card-ca", "--dir", str(tmp_path / "ca"), "--data-dir", str(data_dir)],
    )
    assert made.exit_code == 0, made.output
    with running_server(data_dir) as base:
        with operator_client(base, data_dir) as admin:
            doctor_code, shop_code = _enrol(admin)
        doctor = _init_agent(base, doctor_code, DOCTOR, tmp_path / "doctor")
        shop_dir = tmp_path / "pharmacy"
        shop = _init_agent(base, shop_code, SHOP, shop_dir)
        card = runner.invoke(
            cli,
            [
                "prescriptions", "test-card", "--ca-dir", str(tmp_path / "ca"), "--nir", NIR_LEA,
                "--key-file", str(shop_dir / "carte.key.pem"), "--out", str(shop_dir / "carte.pem"),
            ],
        )  # fmt: skip
        assert card.exit_code == 0, card.output
        settings = json.loads((shop_dir / "agent.json").read_text())
        settings["card"] = {"key": "carte.key.pem", "certificate": "carte.pem"}
        (shop_dir / "agent.json").write_text(json.dumps(settings))
        shop = AgentConfig.load(shop_dir)
        served = [_serve(doctor), _serve(shop)]
        try:
            yield served[0][0], served[1][0]
        finally:
            for _base, server, thread in served:
                server.should_exit = True
                thread.join(timeout=10)


def test_prescribe_dispense_and_patient_log_in_chromium(workstations: tuple[str, str]) -> None:
    from tests.browser import chromium

    doctor, shop = workstations
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        # 1. The doctor searches a drug, fills the form, signs and deposits.
        page.goto(doctor + "/prescriptions/new")
        assert page.locator("h1").inner_text() == "Nouvelle ordonnance"
        page.fill("#q", "paracétamol 500")
        page.press("#q", "Enter")
        page.wait_for_selector("#drugs")
        assert "3400939000053" in page.locator("#drugs").inner_text()
        page.fill("input[name=nir]", NIR_LEA)
        page.fill("input[name=family]", "IMAGINAIRE")
        page.fill("input[name=given]", "Léa")
        page.fill("input[name=birth_date]", "1953-07-14")
        page.fill("input[name=line1_amount]", "1")
        page.fill("input[name=line1_frequency]", "3")
        page.fill("input[name=line1_duration]", "5")
        page.fill("input[name=line1_quantity]", "2")
        page.fill("input[name=line2_preparation]", "Sirop magistral synthétique")
        page.fill("input[name=line2_amount]", "5")
        page.select_option("select[name=line2_unit]", "mL")
        page.fill("input[name=line2_frequency]", "2")
        page.fill("input[name=line2_duration]", "5")
        page.click("text=Signer et déposer")
        assert "signée et déposée" in page.locator("[role=status]").inner_text()
        assert page.locator("#status").get_attribute("data-status") == "ready"
        number = page.locator("h1").inner_text().split()[-1]

        # An impossible dosage is refused with its reason, nothing deposited.
        page.goto(doctor + "/prescriptions/new")
        page.fill("input[name=nir]", NIR_LEA)
        page.fill("input[name=family]", "IMAGINAIRE")
        page.fill("input[name=given]", "Léa")
        page.fill("input[name=birth_date]", "1953-07-14")
        page.fill("input[name=line1_code]", "3400939000053")
        page.fill("input[name=line1_amount]", "1000")
        page.fill("input[name=line1_frequency]", "1")
        page.fill("input[name=line1_duration]", "5")
        page.click("text=Signer et déposer")
        assert "dose par prise trop élevée" in page.locator("[role=alert]").inner_text()

        # 2. The paper copy carries the QR code.
        page.goto(f"{doctor}/prescriptions/{number}/print")
        assert page.locator("#number").inner_text() == number
        assert page.locator("#qr svg").count() == 1

        # 3. The pharmacist reads the card, accepts, dispenses, sees the verified receipt.
        counter = browser.new_page(locale="fr-FR")
        counter.goto(shop + "/counter")
        counter.click("#read-card")
        assert counter.locator("#card-ok").count() == 1, counter.content()[-3000:]
        section = counter.locator(f"section[data-task='{number}']")
        assert "PARACÉTAMOL" in section.inner_text()
        section.locator("text=Prendre en charge").click()
        counter.select_option("select[name=line2_outcome]", "not-dispensed")
        counter.fill("input[name=line2_quantity]", "0")
        counter.fill("input[name=line2_reason]", "préparation indisponible")
        counter.click("#close")
        assert "vérifié" in counter.locator("#receipt-ok").inner_text()

        # 4. The doctor sees what was dispensed.
        page.goto(f"{doctor}/prescriptions/{number}")
        assert page.locator("#status").get_attribute("data-status") == "completed"
        assert "non délivré" in page.locator("#dispense").inner_text()

        # 5. The patient inserts the card: every access, then refuses the history.
        patient = browser.new_page(locale="fr-FR")
        patient.goto(shop + "/patient")
        patient.click("#insert-card")
        accesses = patient.locator("#accesses").inner_text()
        for what in ("dépôt de l'ordonnance", "prise en charge", "délivrance", SHOP, DOCTOR):
            assert what in accesses, what
        patient.click("#toggle-history")
        assert "refusez" in patient.locator("#choice").inner_text()

        # 6. The pharmacist, even with consent, cannot read the history now.
        counter.goto(shop + "/counter")
        counter.check("input[name=consent]")
        counter.click("text=Voir l'historique")
        assert "refusé" in counter.locator("[role=alert]").inner_text()

        # 7. English, and a phone's width.
        page.goto(doctor + "/prescriptions?lang=en")
        assert page.locator("h1").inner_text() == "My prescriptions"
        phone = browser.new_page(viewport={"width": 360, "height": 740}, locale="fr-FR")
        for url in (doctor + "/prescriptions/new", shop + "/counter", shop + "/patient"):
            phone.goto(url)
            wide = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert wide is False, f"{url} scrolls sideways on a phone"
