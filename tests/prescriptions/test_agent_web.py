"""The agent's prescription pages in process: CSRF, ids, the card reader's refusals.

No server is needed for these refusals: they happen before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caducee.agent.config import AgentConfig
from caducee.agent.prescriptions.card_reader import CardReaderError, read_card
from caducee.agent.web import create_web_app


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    config = AgentConfig(directory=tmp_path, server="http://127.0.0.1:9", address="x@caducee.test")
    config.ensure_folders()
    return config


@pytest.fixture
def client(config: AgentConfig) -> Iterator[TestClient]:
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as client:
        yield client


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    for path in (
        "/prescriptions/new",
        "/prescriptions/160.123.456.789.123.58/cancel",
        "/counter/card",
        "/counter/code",
        "/patient/card",
        "/patient/history",
    ):
        answer = client.post(path, data={"token": "faux"})
        assert answer.status_code == 403, path


def test_malformed_ids_are_not_found(client: TestClient) -> None:
    for path in ("/prescriptions/123", "/prescriptions/..%2Fagent.json/print"):
        assert client.get(path).status_code == 404


def test_empty_counter_and_patient_pages_in_both_languages(client: TestClient) -> None:
    counter = client.get("/counter", headers={"accept-language": "fr-FR"})
    assert counter.status_code == 200 and "Lire la carte Vitale" in counter.text
    patient = client.get("/patient?lang=en")
    assert "Insert my card" in patient.text
    assert patient.headers["cache-control"] == "no-store"


def test_no_card_reader_configured(config: AgentConfig) -> None:
    with pytest.raises(CardReaderError, match="no card reader"):
        read_card(config, "n" * 64, "pharmacie@x.test")


def test_card_pulled_out(config: AgentConfig, tmp_path: Path) -> None:
    """The card's key is gone (a token removed): a clear refusal, nothing signed."""
    (tmp_path / "carte.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    pulled = config.with_changes(extra={"card": {"key": "absent.pem", "certificate": "carte.pem"}})
    with pytest.raises(CardReaderError, match="removed"):
        read_card(pulled, "n" * 64, "pharmacie@x.test")
    token = config.with_changes(
        extra={"card": {"key": "pkcs11:token=ABSENTE;object=carte", "certificate": "carte.pem"}}
    )
    with pytest.raises(CardReaderError, match="removed"):
        read_card(token, "n" * 64, "pharmacie@x.test")
