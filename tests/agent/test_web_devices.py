"""The "Mes appareils / My devices" page against a real server process (SQLite and PostgreSQL):
the person's MISS devices with their state, key kind and approval; revoking one through the
confirmation and the form; the workstation's own device; a forged or missing token, an
unknown device and a server that does not answer change nothing and say so; both languages.

SYNTHETIC TEST MATERIAL: invented people; device keys made afresh.
"""

from __future__ import annotations

import base64
import html
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.devices import approve, fetch_pairing, list_devices
from caducee.agent.instant.device import DeviceSession, ensure_device
from caducee.agent.web import create_web_app
from caducee.agent.web.account_messages import MESSAGES
from caducee.agent.web.devices import DONE, KEM_WORDS
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.endorsement import endorse_device
from tests.conftest import free_port
from tests.live_office import Office, open_office

pytestmark = pytest.mark.slow
PERSON = "dr.appareils.bureau@caducee.test"
FR = {"accept-language": "fr-FR"}
API = "/api/v1/instant"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    root = tmp_path_factory.mktemp(f"devices-{request.param}")
    with open_office(request, root, (PERSON,), first_number=71, engine=request.param) as found:
        yield found


@contextmanager
def pages(office: Office) -> Iterator[TestClient]:
    app = create_web_app(office.configs[PERSON], office.client(PERSON))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def token_of(text: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', text)
    assert found is not None, "the page has no form token"
    return found.group(1)


def ask_pairing(base: str, keys: DeviceKeys, label: str = "Téléphone de garde") -> str:
    """What a browser does to be paired: its public keys under a code (no token)."""
    public = keys.public()
    body = {
        "address": public.address,
        "device_id": public.device_id,
        "label": label,
        "kem": public.kem.value,
        "hpke_public": base64.b64encode(public.hpke_public).decode(),
        "signing_public": base64.b64encode(public.signing_public).decode(),
        "created_at": int(public.created_at.timestamp()),
    }
    response = httpx.post(f"{base}{API}/pairing", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


def browser(office: Office) -> DeviceKeys:
    """A browser (X25519 alone, as an older one) approved by the workstation's certificate,
    as ``caducee agent devices approve`` does it."""
    keys = DeviceKeys.generate(f"web-{uuid.uuid4()}", PERSON, kem=Kem.X25519)
    code = ask_pairing(office.base, keys, "Téléphone de garde")
    client = office.client(PERSON)
    approve(client, office.keys[PERSON], fetch_pairing(client, code))
    return keys


def endorsed_by(office: Office, endorser: DeviceKeys) -> DeviceKeys:
    """A browser approved by another device (an endorsement made with that device's key)."""
    keys = DeviceKeys.generate(f"web-{uuid.uuid4()}", PERSON)
    code = ask_pairing(office.base, keys, "Tablette <salle 2>")
    session = DeviceSession(office.client(PERSON), endorser)
    endorsement = base64.b64encode(endorse_device(keys.public(), endorser)).decode()
    session.request("POST", f"/pairing/{code}/endorsement", json={"endorsement": endorsement})
    return keys


def on_server(office: Office) -> dict[str, dict[str, Any]]:
    """The person's devices as the server has them (read with the person's own key)."""
    return {d["device_id"]: d for d in list_devices(office.client(PERSON))}


def row(text: str, device_id: str) -> str:
    found = re.search(rf'<tr data-device="{re.escape(device_id)}".*?</tr>', text, re.S)
    assert found is not None, f"{device_id} is not listed"
    return html.unescape(found.group(0))


def test_the_page_lists_the_devices_and_revokes_one(office: Office) -> None:
    workstation = ensure_device(office.configs[PERSON], office.client(PERSON))
    phone = browser(office)
    tablet = endorsed_by(office, workstation)
    with pages(office) as client:
        page = client.get("/account/devices", headers=FR)
        assert page.status_code == 200, page.text
        own = row(page.text, workstation.device_id)
        assert 'data-this="1"' in own and "Ce poste" in own
        assert 'data-state="active"' in own and ">actif<" in own
        assert 'data-kem="pq"' in own and "post-quantique" in own
        assert "votre certificat" in own and "Révoquer" in own
        # Each under the name it was given: the machine's, or the browser's when it asked
        # (kept by the server through the approval, and through an endorsement).
        assert f"<strong>Poste / workstation {socket.gethostname()}</strong>" in own
        assert "<strong>Téléphone de garde</strong>" in row(page.text, phone.device_id)
        assert "<strong>Tablette <salle 2></strong>" in row(page.text, tablet.device_id)
        assert "Tablette &lt;salle 2&gt;" in page.text  # escaped in the page's markup
        listed = row(page.text, phone.device_id)
        assert 'data-this="1"' not in listed and "Ce poste" not in listed
        assert 'data-kem="classic"' in listed and "non post-quantique" in listed
        assert "votre certificat" in listed
        theirs = row(page.text, tablet.device_id)
        assert f"l'appareil <code>{workstation.device_id}</code>" in theirs

        confirm = client.get(f"/account/devices/confirm?device={phone.device_id}", headers=FR)
        assert confirm.status_code == 200, confirm.text
        words = html.unescape(confirm.text)
        assert "ne peut plus lire les nouveaux messages" in words and phone.device_id in words
        assert "s'arrête sur ce poste" not in words  # not this workstation's device
        assert on_server(office)[phone.device_id]["revoked_at"] is None, "asking revoked it"

        form = {"token": token_of(confirm.text), "device": phone.device_id}
        done = client.post("/account/devices/revoke", data=form)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/account/devices?done=revoked"
        server = on_server(office)
        assert server[phone.device_id]["revoked_at"] is not None
        assert server[workstation.device_id]["revoked_at"] is None
        assert server[tablet.device_id]["revoked_at"] is None

        after = client.get(done.headers["location"], headers=FR)
        assert "Appareil révoqué" in html.unescape(after.text)
        gone = row(after.text, phone.device_id)
        assert 'data-state="revoked"' in gone and "révoqué le" in gone
        assert "<button" not in gone, "a revoked device offers no revocation"
        assert 'data-state="active"' in row(after.text, workstation.device_id)

        again = client.post("/account/devices/revoke", data=form)
        assert again.headers["location"] == "/account/devices?done=already"
        twice = client.get(f"/account/devices/confirm?device={phone.device_id}", headers=FR)
        assert twice.status_code == 409 and "déjà révoqué" in html.unescape(twice.text)


def test_revoking_this_workstation_says_messaging_stops_here(office: Office) -> None:
    config = office.configs[PERSON]
    workstation = ensure_device(config, office.client(PERSON))
    tablet = endorsed_by(office, workstation)
    with pages(office) as client:
        confirm = client.get(f"/account/devices/confirm?device={workstation.device_id}")
        words = html.unescape(confirm.text)
        assert confirm.status_code == 200
        assert 'id="this-workstation-warning"' in words
        assert "la messagerie instantanée s'arrête sur ce poste" in words
        assert 'id="endorsed-too"' in words and tablet.device_id in words  # revoked with it

        form = {"token": token_of(confirm.text), "device": workstation.device_id}
        done = client.post("/account/devices/revoke", data=form)
        assert done.headers["location"] == "/account/devices?done=self"
        server = on_server(office)
        assert server[workstation.device_id]["revoked_at"] is not None
        assert server[tablet.device_id]["revoked_at"] is not None
        after = html.unescape(client.get(done.headers["location"], headers=FR).text)
        assert "Appareil de ce poste révoqué" in after
        assert 'data-state="revoked"' in row(after, workstation.device_id)
    renewed = ensure_device(config, office.client(PERSON))  # MISS here starts again, anew
    assert renewed.device_id != workstation.device_id


def test_a_forged_or_missing_token_or_an_unknown_device_changes_nothing(office: Office) -> None:
    workstation = ensure_device(office.configs[PERSON], office.client(PERSON))
    phone = browser(office)
    before = on_server(office)
    with pages(office) as client:
        token = token_of(client.get(f"/account/devices/confirm?device={phone.device_id}").text)
        for data in (
            {"token": "faux", "device": phone.device_id},
            {"device": phone.device_id},
            {"token": "", "device": workstation.device_id},
        ):
            refused = client.post("/account/devices/revoke", data=data, headers=FR)
            assert refused.status_code == 403, data
            assert "jeton de sécurité" in refused.text and 'role="alert"' in refused.text
        for device, status in (
            ("web-inconnu", 404),  # the server's refusal, in words
            ("../../people", 404),  # refused here: never sent
        ):
            refused = client.post(
                "/account/devices/revoke", data={"token": token, "device": device}, headers=FR
            )
            assert refused.status_code == status, refused.text
            assert "n'existe pas ou n'est pas le vôtre" in html.unescape(refused.text)
        unknown = client.get("/account/devices/confirm?device=web-inconnu&lang=en")
        assert unknown.status_code == 404 and "is not yours" in unknown.text
    assert on_server(office) == before


def test_both_languages_and_the_link_from_my_account(office: Office) -> None:
    ensure_device(office.configs[PERSON], office.client(PERSON))
    with pages(office) as client:
        account = client.get("/account", headers=FR).text
        assert 'href="/account/devices"' in account and "Mes appareils" in account
        french = html.unescape(client.get("/account/devices", headers=FR).text)
        assert "<h1>Mes appareils</h1>" in french and "Ce poste" in french
        assert "Enregistré le" in french and "post-quantique" in french
        english = client.get("/account/devices?lang=en")
        assert english.cookies.get("lang") == "en"
        text = html.unescape(english.text)
        assert "<h1>My devices</h1>" in text and "This workstation" in text
        assert "Registered on" in text and "post-quantum" in text and "Mes appareils" not in text
        assert "My instant messaging devices" in client.get("/account?lang=en").text


def test_the_notices_and_key_kinds_exist_in_both_languages() -> None:
    for words in (*DONE.values(), *KEM_WORDS.values()):
        assert words in MESSAGES["fr"] and words in MESSAGES["en"], words


def test_a_server_that_does_not_answer_gives_a_notice(tmp_path: Path) -> None:
    config = AgentConfig(directory=tmp_path, server="http://127.0.0.1:9", address=PERSON)
    config.ensure_folders()
    closed = f"http://127.0.0.1:{free_port()}"
    key = ec.generate_private_key(ec.SECP256R1())
    down = ServerClient(closed, Credentials(PERSON, "01", key), retries=0, timeout=2)
    with TestClient(create_web_app(config, down), base_url="http://127.0.0.1") as client:
        page = client.get("/account/devices", headers=FR)
        assert page.status_code == 503 and "ne répond pas" in html.unescape(page.text)
        token = token_of(client.get("/send").text)  # the pages share one form token
        revoke = client.post("/account/devices/revoke", data={"token": token, "device": "web-1"})
        assert revoke.status_code == 503 and "ne répond pas" in html.unescape(revoke.text)
        assert "Traceback" not in revoke.text and 'role="alert"' in revoke.text
        english = client.get("/account/devices/confirm?device=web-1&lang=en")
        assert english.status_code == 503 and "does not answer" in english.text
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as client:
        alone = client.get("/account/devices", headers=FR)
        assert alone.status_code == 503 and "pas connecté au serveur" in html.unescape(alone.text)
