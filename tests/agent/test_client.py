"""The HTTP client against an in-memory transport: login, refresh, retries, problems."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.errors import AuthError, NetworkError, ServerError
from caducee.directory.credentials import verify_signature


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fictif")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


class FakeServer:
    """Answers like the server's auth and relay routes, and counts calls."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
        self.certificate = _certificate(key)
        self.tokens = 0
        self.calls: list[str] = []
        self.failures: list[int | Exception] = []
        self.expire_next = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, json={"code": "boom", "detail": "failure"})
        if request.url.path == "/api/v1/auth/challenge":
            return httpx.Response(
                200, json={"challenge": "défi-42", "expires_at": "2030-01-01T00:00:00Z"}
            )
        if request.url.path == "/api/v1/auth/token":
            body = json.loads(request.content)
            signature = base64.b64decode(body["signature"])
            verify_signature(self.certificate, signature, body["challenge"].encode("utf-8"))
            self.tokens += 1
            expires = datetime.now(UTC) + timedelta(minutes=10)
            return httpx.Response(
                200, json={"access_token": f"t{self.tokens}", "expires_at": expires.isoformat()}
            )
        if request.headers.get("authorization") != f"Bearer t{self.tokens}" or self.expire_next:
            self.expire_next = False
            return httpx.Response(401, json={"code": "token-expired", "detail": "expired"})
        if request.url.path == "/api/v1/messages":
            return httpx.Response(201, json={"message_id": "m", "recipients": ["a@b.test"]})
        if request.url.path == "/api/v1/mailbox/messages":
            return httpx.Response(200, json={"messages": [], "next_cursor": 0})
        return httpx.Response(404, json={"code": "not-found", "detail": "no such message"})


def _client(
    server: FakeServer, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> ServerClient:
    return ServerClient(
        "http://server.test",
        Credentials("a@b.test", "1", key),
        transport=httpx.MockTransport(server),
        sleep=lambda _s: None,
    )


@pytest.fixture(params=["rsa", "ec"])
def key(request: pytest.FixtureRequest) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if request.param == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def test_login_signs_the_challenge_the_way_the_server_checks(key: rsa.RSAPrivateKey) -> None:
    server = FakeServer(key)
    with _client(server, key) as client:
        assert client.list_messages() == ([], 0)
        assert client.list_messages() == ([], 0)
    assert server.tokens == 1


def test_an_expired_token_is_renewed_once(key: rsa.RSAPrivateKey) -> None:
    server = FakeServer(key)
    with _client(server, key) as client:
        client.list_messages()
        server.expire_next = True
        client.list_messages()
    assert server.tokens == 2


def test_5xx_and_network_errors_are_retried_with_the_same_body(key: rsa.RSAPrivateKey) -> None:
    server = FakeServer(key)
    with _client(server, key) as client:
        client.login()
        server.failures = [503, httpx.ConnectError("refused"), 502]
        answer = client.submit(
            message_id="m",
            sender="a@b.test",
            to=["c@d.test"],
            date="",
            subject="s",
            der=b"\x30\x00",
        )
    assert answer["message_id"] == "m"
    assert server.calls.count("POST /api/v1/messages") == 4


def test_retries_end_in_a_network_error(key: rsa.RSAPrivateKey) -> None:
    server = FakeServer(key)
    with _client(server, key) as client:
        server.failures = [httpx.ConnectError("refused")] * 10
        with pytest.raises(NetworkError):
            client.pki("root.pem")


def test_a_refusal_carries_the_problem_code(key: rsa.RSAPrivateKey) -> None:
    server = FakeServer(key)
    with _client(server, key) as client:
        with pytest.raises(ServerError) as caught:
            client.fetch("nope")
        assert caught.value.code == "not-found" and caught.value.status == 404
        server.failures = [403]
        with pytest.raises(AuthError):
            client.login()


class CounterServer(FakeServer):
    """A prescriptions route behind ``FakeServer``'s login: answers problem+json as the
    server does, and records the headers of each call."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
        super().__init__(key)
        self.answers: list[tuple[int, str]] = []
        self.seen: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/api/v1/prescriptions"):
            return super().__call__(request)
        self.calls.append(f"{request.method} {request.url.path}")
        self.seen.append(request.headers)
        if self.failures:
            failure = self.failures.pop(0)
            assert isinstance(failure, Exception)
            raise failure
        if self.answers:
            status, code = self.answers.pop(0)
            problem = {"code": code, "detail": f"refused: {code}", "status": status}
            return httpx.Response(
                status, json=problem, headers={"content-type": "application/problem+json"}
            )
        return httpx.Response(200, json={"tasks": []})


def test_request_once_does_not_retry_a_network_error_or_a_5xx(key: rsa.RSAPrivateKey) -> None:
    server = CounterServer(key)
    with _client(server, key) as client:
        client.login()
        server.failures = [httpx.ConnectError("refused")]
        with pytest.raises(NetworkError):
            client.request_once("GET", "/api/v1/prescriptions/tasks")
        server.answers = [(503, "unavailable")]
        with pytest.raises(ServerError) as caught:
            client.request_once("GET", "/api/v1/prescriptions/tasks")
    assert caught.value.status == 503 and caught.value.code == "unavailable"
    assert server.calls.count("GET /api/v1/prescriptions/tasks") == 2


@pytest.mark.parametrize("code", ["token-expired", "unauthenticated"])
def test_request_once_renews_a_refused_token_once(key: rsa.RSAPrivateKey, code: str) -> None:
    server = CounterServer(key)
    with _client(server, key) as client:
        server.answers = [(401, code)]
        assert client.request_once("GET", "/api/v1/prescriptions/tasks").json() == {"tasks": []}
        assert server.tokens == 2
        server.answers = [(401, code), (401, code)]
        with pytest.raises(ServerError) as caught:
            client.request_once("GET", "/api/v1/prescriptions/tasks")
    assert caught.value.status == 401 and caught.value.code == code
    assert server.tokens == 3  # one fresh login per call, never a loop


def test_request_once_gives_back_another_401_without_a_login(key: rsa.RSAPrivateKey) -> None:
    server = CounterServer(key)
    with _client(server, key) as client:
        client.login()
        server.answers = [(401, "card-access-expired")]
        with pytest.raises(ServerError) as caught:
            client.request_once("GET", "/api/v1/prescriptions/patient/prescriptions")
    assert caught.value.code == "card-access-expired" and server.tokens == 1
    assert server.calls.count("GET /api/v1/prescriptions/patient/prescriptions") == 1


def test_request_once_sends_the_given_headers_and_no_token_when_asked(
    key: rsa.RSAPrivateKey,
) -> None:
    server = CounterServer(key)
    with _client(server, key) as client:
        card = {"X-Card-Access": "carte-42"}
        client.request_once("GET", "/api/v1/prescriptions/me/access-log", auth=False, headers=card)
        client.request_once("GET", "/api/v1/prescriptions/tasks", headers=card)
    public, authenticated = server.seen
    assert public["x-card-access"] == "carte-42" and "authorization" not in public
    assert server.tokens == 1 and authenticated["authorization"] == "Bearer t1"
    assert authenticated["x-card-access"] == "carte-42"
