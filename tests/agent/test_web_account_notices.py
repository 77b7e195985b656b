"""The account pages when the server cannot help: no identity, a server that does not
answer, a server without the mail gateway. Each gives a clear notice, never a crash. Also
the catalogue (same keys in French and English, every key the templates use exists)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.web import create_web_app
from caducee.agent.web.account import is_rpps
from caducee.agent.web.account_messages import MESSAGES, translator
from caducee.agent.web.messages import MESSAGES as AGENT_MESSAGES
from caducee.directory.identifiers import luhn_complete
from tests.conftest import free_port

ADDRESS = "dr.hors.ligne@caducee.test"
TEMPLATES = Path(__file__).parents[2] / "src/caducee/agent/web/templates/account"
FR = {"accept-language": "fr-FR"}


def test_catalogues_have_the_same_keys_and_cover_the_templates() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])
    known = set(MESSAGES["fr"]) | set(AGENT_MESSAGES["fr"])
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'_\(\s*["\']([a-z_.]+)["\']', template.read_text("utf-8")))
    prefixes = {key for key in used if key.endswith(".")}  # "acc.hold." + a status, ...
    assert used - prefixes <= known, sorted(used - prefixes - known)
    for prefix, ends in (
        ("acc.hold.", ("held", "released", "refused")),
        ("acc.sanctions.level.", ("warning", "hold", "block")),
        ("acc.sanctions.explain.", ("warning", "hold", "block")),
    ):
        prefixes.discard(prefix)
        assert {prefix + end for end in ends} <= known, prefix
    assert not prefixes, prefixes
    assert translator("en")("nav.inbox") == AGENT_MESSAGES["en"]["nav.inbox"]  # the fallback


def test_rpps_check_matches_the_directory() -> None:
    good = luhn_complete("8100000123")
    assert is_rpps(good)
    assert not is_rpps(good[:-1] + str((int(good[-1]) + 1) % 10))
    for bad in ("", "1234", "1" * 12, "abcdefghijk", "１" * 11):
        assert not is_rpps(bad)


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    config = AgentConfig(directory=tmp_path, server="http://127.0.0.1:9", address=ADDRESS)
    config.ensure_folders()
    return config


def _pages(config: AgentConfig, client: ServerClient | None) -> TestClient:
    return TestClient(create_web_app(config, client), base_url="http://127.0.0.1")


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_without_an_identity_the_page_says_so(config: AgentConfig) -> None:
    with _pages(config, None) as pages:
        page = pages.get("/account", headers=FR)
        text = html.unescape(page.text)
        assert page.status_code == 200
        assert text.count("n'est pas connecté au serveur") == 1
        assert pages.get("/account/establishment", headers=FR).status_code == 503


def test_a_server_that_does_not_answer_gives_one_notice(config: AgentConfig) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    closed = f"http://127.0.0.1:{free_port()}"
    client = ServerClient(closed, Credentials(ADDRESS, "01", key), retries=0, timeout=2)
    with _pages(config, client) as pages:
        page = pages.get("/account", headers=FR)
        text = html.unescape(page.text)
        assert page.status_code == 200
        assert text.count("ne répond pas") == 1 and "Mon compte" in text
        token = _token(pages.get("/send").text)  # the pages share one form token
        create = pages.post("/account/app-passwords", data={"token": token, "label": "Mutt"})
        assert create.status_code == 503 and "ne répond pas" in html.unescape(create.text)
        manager = pages.get("/account/establishment?lang=en")
        assert manager.status_code == 503 and "does not answer" in manager.text


Handler = Callable[[httpx.Request], httpx.Response]


def _server_without_gateway(seen: list[str], *, flags: bool = False) -> Handler:
    """A server whose login works but which has no mail gateway: 404 on its routes, or
    (``flags``) a password list that says SMTP and IMAP are off."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append(f"{request.method} {path}")
        if path == "/api/v1/auth/challenge":
            return httpx.Response(200, json={"challenge": "défi"})
        if path == "/api/v1/auth/token":
            return httpx.Response(
                200, json={"access_token": "t", "expires_at": "2099-01-01T00:00:00Z"}
            )
        if path.startswith("/api/v1/interop/") and flags:
            return httpx.Response(200, json={"username": ADDRESS, "smtp_enabled": False,
                                             "imap_enabled": False, "passwords": [
                {"id": 7, "label": "Ancien Thunderbird", "created_at": "2026-01-02T03:04:05Z",
                 "last_used_at": None, "revoked_at": None}]})  # fmt: skip
        if path.startswith("/api/v1/interop/"):
            body = {"title": "Not Found", "status": 404, "code": "not-found"}
            return httpx.Response(
                404, content=json.dumps(body), headers={"content-type": "application/problem+json"}
            )
        answers = {
            "/api/v1/support": {"contact": "aide@caducee.test", "hours": "9 h–17 h",
                                "operator": "Démo", "charter_url": "http://s.test/charter"},
            "/api/v1/policy/limits": {"recipients_per_message": 20, "messages_per_hour": 200,
                                      "new_recipients_per_hour": 30, "kind": "personal",
                                      "organisation": None, "charter_url": "http://s.test/charter"},
            "/api/v1/policy/sanctions": {"sanctions": [], "holds": [],
                                         "charter_url": "http://s.test/charter"},
            "/api/v1/establishments/mine": {"establishments": [], "charter": None,
                                            "charter_url": "http://s.test/charter"},
        }  # fmt: skip
        return httpx.Response(200, json=answers[path])

    return handle


def test_a_server_without_the_mail_gateway_gives_a_notice(config: AgentConfig) -> None:
    seen: list[str] = []
    key = ec.generate_private_key(ec.SECP256R1())
    client = ServerClient(
        "http://s.test",
        Credentials(ADDRESS, "01", key),
        transport=httpx.MockTransport(_server_without_gateway(seen)),
        retries=0,
    )
    with _pages(config, client) as pages:
        page = pages.get("/account", headers=FR)
        text = html.unescape(page.text)
        assert page.status_code == 200
        assert "n'est pas proposée par ce serveur" in text
        assert 'id="new-password-form"' not in text  # no form that cannot work
        assert "aide@caducee.test" in text and "à 20 destinataires au plus" in text
        token = _token(pages.get("/send").text)  # the pages share one form token
        create = pages.post("/account/app-passwords", data={"token": token, "label": "Mutt"})
        assert create.status_code == 503 and "n'est pas proposée" in html.unescape(create.text)
    assert "POST /api/v1/interop/app-passwords" in seen  # it asked, and showed the answer


def test_a_server_that_says_its_gateway_is_off(config: AgentConfig) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    transport = httpx.MockTransport(_server_without_gateway([], flags=True))
    client = ServerClient(
        "http://s.test", Credentials(ADDRESS, "01", key), transport=transport, retries=0
    )
    with _pages(config, client) as pages:
        text = html.unescape(pages.get("/account", headers=FR).text)
    assert "n'est pas proposée par ce serveur" in text
    assert 'id="new-password-form"' not in text
    assert (
        "Ancien Thunderbird" in text and "/account/app-passwords/7/revoke" in text
    )  # still revocable
