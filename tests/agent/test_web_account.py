"""The account pages against a real server process (SQLite and PostgreSQL): the support
contact, limits and sanctions, application passwords, the manager's establishment, and bad
input that changes nothing. One server per engine for the whole module (its set-up takes
~25 s); ``account_world`` is shared with the Chromium tests. Every person is invented."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.keystore import load_key
from caducee.agent.runtime import initialise
from caducee.agent.web import create_web_app
from caducee.directory.identifiers import luhn_complete
from tests.agent.helpers import PASSPHRASE, enrol_mailbox, operator_client
from tests.conftest import create_postgres_database, drop_postgres_database, free_port
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow
FR = {"accept-language": "fr-FR"}

GP = "dr.compte@caducee.test"
MANAGER = "direction.compte@caducee.test"
CHARTER = "Charte de bon usage (synthétique)\nPas d'envois en nombre.\n"


@dataclass
class AccountWorld:
    server: ServerProcess
    manager: AgentConfig
    gp: AgentConfig
    finess: str
    manager_rpps: str


def agent_client(config: AgentConfig, *, retries: int = 1) -> ServerClient:
    """The client ``caducee agent run`` gives the pages: logged in with the agent's key."""
    key = load_key(config, PASSPHRASE.encode())
    return ServerClient(
        config.server, Credentials(config.address, config.serial_hex, key), retries=retries
    )


def _join(folder: Path, server: str, code: str, address: str) -> AgentConfig:
    return initialise(
        folder, server=server, code=code, address=address, key="key.pem", secret=PASSPHRASE.encode()
    )


@contextmanager
def account_world(folder: Path, database_url: str) -> Iterator[AccountWorld]:
    """Server; a GP enrolled; an establishment registered with its manager; the charter
    published (not signed); the manager enrolled (managers may enrol before signing)."""
    env = {
        "CADUCEE_DATABASE_URL": database_url,
        # passwords are for the mail edge: the page offers them only when it runs
        "CADUCEE_SMTP_ENABLED": "true",
        "CADUCEE_SMTP_SUBMISSION_PORT": str(free_port()),
        "CADUCEE_SMTP_INBOUND_PORT": str(free_port()),
    }
    server = ServerProcess(folder / "server", env)
    server.start()
    try:
        finess = luhn_complete("66000001")
        rpps = luhn_complete("6600000001")
        with operator_client(server.base, server.data_dir) as admin:
            gp_code = enrol_mailbox(admin, "gp", GP, 41)
            gp = _join(folder / "gp", server.base, gp_code, GP)
            response = admin.post("/api/v1/console/establishments", json={
                "finess": finess, "name": "Centre de santé synthétique", "type": "general_hospital",
                "city": "Nantes", "region": "Pays de la Loire",
                "manager": {"rpps": rpps, "given_name": "Camille",
                            "family_name": "DIRECTION", "mailbox": MANAGER},
            })  # fmt: skip
            assert response.status_code == 201, response.text
            response = admin.post("/api/v1/console/charter", json={"text": CHARTER})
            assert response.status_code == 201, response.text
            response = admin.post(f"/api/v1/admin/mailboxes/{MANAGER}/enrolment-code")
            assert response.status_code == 201, response.text
            manager = _join(folder / "manager", server.base, response.json()["code"], MANAGER)
        yield AccountWorld(server, manager, gp, finess, rpps)
    finally:
        server.stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AccountWorld]:
    folder = tmp_path_factory.mktemp(f"account-{request.param}")
    if request.param == "sqlite":
        with account_world(folder, f"sqlite+aiosqlite:///{folder / 'caducee.db'}") as found:
            yield found
        return
    admin = request.getfixturevalue("postgres_server")
    name, url = create_postgres_database(admin)
    try:
        with account_world(folder, url) as found:
            yield found
    finally:
        drop_postgres_database(admin, name)


def _pages(world: AccountWorld, who: str) -> TestClient:
    config = world.manager if who == "manager" else world.gp
    app = create_web_app(config, agent_client(config))
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


@pytest.fixture
def gp(world: AccountWorld) -> Iterator[TestClient]:
    with _pages(world, "gp") as client:
        yield client


@pytest.fixture
def manager(world: AccountWorld) -> Iterator[TestClient]:
    with _pages(world, "manager") as client:
        yield client


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found is not None, "the page has no form token"
    return found.group(1)


def server_passwords(world: AccountWorld) -> list[dict[str, Any]]:
    """What the server holds for the GP, read with the GP's own key (not through the page)."""
    with agent_client(world.gp) as client:
        rows: list[dict[str, Any]] = client.request("GET", "/api/v1/interop/app-passwords").json()[
            "passwords"
        ]
    return rows


def server_people(world: AccountWorld) -> list[str]:
    with agent_client(world.manager) as client:
        path = f"/api/v1/establishments/{world.finess}/people"
        return [p["rpps"] for p in client.request("GET", path).json()["people"]]


def server_signed(world: AccountWorld) -> bool:
    with agent_client(world.manager) as client:
        [entry] = client.request("GET", "/api/v1/establishments/mine").json()["establishments"]
    return not entry["needs_signature"]


# -- /account -------------------------------------------------------------------------------


def test_support_limits_and_sanctions_in_plain_words(world: AccountWorld, gp: TestClient) -> None:
    page = gp.get("/account", headers=FR)
    assert page.status_code == 200, page.text
    text = page.text
    assert "support@caducee.test" in text and "Horaires" in text
    assert "/charter" in text and "Charte de bon usage" in text
    with agent_client(world.gp) as client:
        limits = client.request("GET", "/api/v1/policy/limits").json()
    assert f"à {limits['recipients_per_message']} destinataires au plus" in text
    assert f"{limits['messages_per_hour']} messages par heure" in text
    assert "Aucune sanction" in text
    assert "/account/establishment" not in text  # a GP manages nothing
    assert gp.get("/account/establishment", headers=FR).status_code == 404

    with operator_client(world.server.base, world.server.data_dir) as admin:
        response = admin.post("/api/v1/console/sanctions", json={
            "address": world.gp.address, "level": "warning",
            "reason": "Annonce de départ en retraite à 900 destinataires (synthétique)",
        })  # fmt: skip
        assert response.status_code == 201, response.text
        try:
            warned = gp.get("/account?lang=en").text
            assert 'data-sanction="warning"' in warned and "Warning" in warned
            assert "Annonce de départ en retraite" in warned and "in force" in warned
            assert "Aucune sanction" not in warned and "No sanction" not in warned
        finally:
            lifted = admin.post(f"/api/v1/console/sanctions/{response.json()['id']}/lift")
            assert lifted.status_code == 200, lifted.text
    assert "lifted on" in gp.get("/account?lang=en").text


def test_an_app_password_is_shown_once_then_revoked(
    world: AccountWorld, gp: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = len(server_passwords(world))
    token = token_of(gp.get("/account").text)
    created = gp.post("/account/app-passwords", data={"token": token, "label": "Thunderbird"})
    assert created.status_code == 303, created.text
    shown_at = created.headers["location"]
    page = gp.get(shown_at, headers=FR).text
    password = re.search(r'id="new-password">([^<]+)<', page)
    assert password is not None, page
    secret = password.group(1)
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", secret)
    assert "Thunderbird" in page and "STARTTLS" in page and world.gp.address in page
    autoconfig = f"{world.server.base}/.well-known/autoconfig/mail/config-v1.1.xml"
    assert autoconfig in page
    xml = httpx.get(autoconfig, timeout=10)
    assert xml.status_code == 200 and "<clientConfig" in xml.text  # the URL shown is served
    assert secret not in gp.get(shown_at).text, "a password is shown only once"
    assert secret not in gp.get("/account").text

    rows = server_passwords(world)
    assert len(rows) == before + 1
    new = max(rows, key=lambda r: r["id"])
    assert new["label"] == "Thunderbird" and new["revoked_at"] is None
    listed = gp.get("/account").text
    assert f'data-password="{new["id"]}"' in listed

    revoked = gp.post(f"/account/app-passwords/{new['id']}/revoke", data={"token": token})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account?done=revoked"
    after = gp.get("/account?done=revoked", headers=FR).text
    assert "Mot de passe révoqué" in after and "révoqué le" in after
    [row] = [r for r in server_passwords(world) if r["id"] == new["id"]]
    assert row["revoked_at"] is not None
    unknown = gp.post("/account/app-passwords/999999/revoke", data={"token": token}, headers=FR)
    assert unknown.status_code == 404 and "n&#39;existe pas" in unknown.text

    assert secret not in caplog.text, "the password reached the agent's log"
    server_log = (world.server.data_dir / "server.log").read_text("utf-8", errors="replace")
    assert secret not in server_log, "the password reached the server's log"


def test_bad_input_is_refused_clearly_and_changes_nothing(
    world: AccountWorld, gp: TestClient, manager: TestClient
) -> None:
    token = token_of(gp.get("/account").text)
    passwords = server_passwords(world)
    for data, status, words in (
        ({"token": token, "label": "  "}, 422, "Indiquez un libellé"),
        ({"token": token, "label": "x" * 101}, 422, "Indiquez un libellé"),
        ({"token": "faux", "label": "Thunderbird"}, 403, "jeton de sécurité"),
        ({"label": "Thunderbird"}, 403, "jeton de sécurité"),
    ):
        response = gp.post("/account/app-passwords", data=data, headers=FR)
        assert response.status_code == status and words in response.text, data
        assert 'role="alert"' in response.text
    active = next((p for p in passwords if p["revoked_at"] is None), None)
    if active is None:
        made = gp.post("/account/app-passwords", data={"token": token, "label": "Garde"})
        assert made.status_code == 303
        passwords = server_passwords(world)
        active = next(p for p in passwords if p["revoked_at"] is None)
    refused = gp.post(f"/account/app-passwords/{active['id']}/revoke", data={"token": "x"})
    assert refused.status_code == 403
    assert server_passwords(world) == passwords

    token = token_of(manager.get("/account/establishment").text)
    people = server_people(world)
    good = {"token": token, "rpps": luhn_complete("6600000901"), "given_name": "Alex",
            "family_name": "INTRUS", "profession": "infirmier",
            "mailbox": "alex.intrus@caducee.test"}  # fmt: skip
    bad_key = good["rpps"][:-1] + str((int(good["rpps"][-1]) + 1) % 10)
    for changes, status, words in (
        ({"rpps": bad_key}, 422, "RPPS invalide"),
        ({"rpps": "1234"}, 422, "RPPS invalide"),
        ({"rpps": "abcdefghijk"}, 422, "RPPS invalide"),
        ({"family_name": ""}, 422, "obligatoires"),
        ({"mailbox": "pas une adresse"}, 422, "Adresse de messagerie invalide"),
        ({"token": "faux"}, 403, "jeton de sécurité"),
    ):
        response = manager.post(
            f"/account/establishment/{world.finess}/people", data=good | changes, headers=FR
        )
        assert response.status_code == status and words in response.text, changes
    assert server_people(world) == people
    signed = server_signed(world)
    response = manager.post(
        f"/account/establishment/{world.finess}/sign", data={"token": "faux", "charter_sha256": ""}
    )
    assert response.status_code == 403 and server_signed(world) == signed
    other = luhn_complete("66000099")
    own = manager.get(f"/account/establishment?finess={other}").text  # shows only their own
    assert f'data-finess="{world.finess}"' in own and other not in own
    response = manager.post(f"/account/establishment/{other}/people", data=good, headers=FR)
    assert response.status_code == 403 and "Vous ne gérez pas" in response.text
    assert server_people(world) == people


def test_a_taken_address_adds_no_one(world: AccountWorld, manager: TestClient) -> None:
    token = token_of(manager.get("/account/establishment").text)
    people = server_people(world)
    rpps = luhn_complete("6600000401")
    response = manager.post(f"/account/establishment/{world.finess}/people", data={
        "token": token, "rpps": rpps, "given_name": "Eden", "family_name": "DOUBLON",
        "profession": "kinésithérapeute", "mailbox": world.manager.address,
    }, headers=FR)  # fmt: skip
    assert response.status_code == 409 and "déjà enregistrée" in response.text
    assert server_people(world) == people


# -- the manager's page ------------------------------------------------------------------------


def test_the_manager_signs_adds_a_person_and_gets_a_code(
    world: AccountWorld, manager: TestClient, tmp_path: Path
) -> None:
    account = manager.get("/account", headers=FR).text
    assert 'href="/account/establishment"' in account
    page = manager.get("/account/establishment", headers=FR)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Centre de santé synthétique" in text and world.finess in text
    assert "Pas d&#39;envois en nombre." in text or "Pas d'envois en nombre." in text
    digest = re.search(r'id="charter-digest">([0-9a-f]{64})<', text)
    assert digest is not None
    assert not server_signed(world), "this module signs the charter in this test only"
    assert 'data-state="missing"' in text and 'id="sign-form"' in text
    token = token_of(text)

    rpps = luhn_complete("6600000201")
    mailbox = "sacha.membre@caducee.test"
    added = manager.post(f"/account/establishment/{world.finess}/people", data={
        "token": token, "rpps": rpps, "given_name": "Sacha", "family_name": "MEMBRE",
        "profession": "infirmière", "specialty": "", "mailbox": mailbox,
    })  # fmt: skip
    assert added.status_code == 303, added.text
    listed = manager.get(added.headers["location"], headers=FR).text
    assert "Membre ajouté" in listed and f'data-rpps="{rpps}"' in listed
    assert rpps in server_people(world)

    code_path = f"/account/establishment/{world.finess}/people/{rpps}/code"
    refused = manager.post(code_path, data={"token": token}, headers=FR)
    assert refused.status_code == 409 and "accepter la charte" in refused.text
    assert 'id="enrolment-code"' not in refused.text

    signed = manager.post(
        f"/account/establishment/{world.finess}/sign",
        data={"token": token, "charter_sha256": digest.group(1)},
    )
    assert signed.status_code == 303, signed.text
    after = manager.get(signed.headers["location"], headers=FR).text
    assert "Charte signée" in after and 'data-state="signed"' in after
    assert 'id="sign-form"' not in after and server_signed(world)

    made = manager.post(code_path, data={"token": token})
    assert made.status_code == 303, made.text
    shown = manager.get(made.headers["location"], headers=FR).text
    code = re.search(r'id="enrolment-code">([^<]+)<', shown)
    assert code is not None and mailbox in shown and "valable jusqu" in shown
    assert code.group(1) not in manager.get(made.headers["location"]).text  # shown once
    joined = initialise(
        tmp_path / "member",
        server=world.server.base,
        code=code.group(1),
        address=mailbox,
        key="key.pem",
        secret=PASSPHRASE.encode(),
    )
    assert joined.address == mailbox and joined.serial_hex  # the code enrols the person


def test_the_charter_text_is_the_one_published(world: AccountWorld, manager: TestClient) -> None:
    text = manager.get("/account/establishment").text
    body = re.search(r'id="charter-text">([^<]*)<', text)
    assert body is not None and "Charte de bon usage (synthétique)" in body.group(1)
    assert CHARTER.splitlines()[0] in body.group(1)
