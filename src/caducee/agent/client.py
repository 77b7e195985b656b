"""The agent's HTTP client for the server API (httpx, synchronous).

- Login is challenge-response: the agent signs the server's challenge (UTF-8 bytes) with its
  key (RSA PKCS#1 v1.5 / SHA-256, or ECDSA / SHA-256) and gets a short-lived bearer token,
  renewed shortly before it expires or when the server answers 401.
- Network errors, 429 and 5xx are retried with exponential backoff; a refusal (4xx) is
  raised at once as ``ServerError`` carrying the problem+json ``code``.
- ``submit`` is idempotent: the message id is chosen by the caller before the first try.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from caducee import __version__
from caducee.agent.errors import AuthError, NetworkError, ServerError
from caducee.crypto.cms_sign import SignerKey

__all__ = ["Credentials", "ServerClient", "sign_challenge"]

log = logging.getLogger(__name__)
TOKEN_MARGIN = timedelta(seconds=30)
# The server's codes for a bearer token to renew (``TokenExpired``, ``InvalidToken``).
TOKEN_REFUSED_CODES = frozenset({"token-expired", "unauthenticated"})


@dataclass(frozen=True)
class Credentials:
    """Who the agent is: its address, certificate serial (hex) and signing key."""

    address: str
    serial_hex: str
    key: SignerKey


def sign_challenge(key: SignerKey, challenge: str) -> str:
    """Base64 of the signature over the challenge's UTF-8 bytes (what the server verifies)."""
    data = challenge.encode("utf-8")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:  # pragma: no cover - SignerKey is RSA or EC
        raise TypeError("unsupported key type")
    return base64.b64encode(signature).decode("ascii")


def _problem(response: httpx.Response) -> ServerError:
    code, detail = None, response.reason_phrase
    try:
        body = response.json()
        if isinstance(body, dict):
            code = body.get("code") or None
            detail = str(body.get("detail") or body.get("title") or detail)
    except ValueError:
        pass
    kind = (
        AuthError
        if response.url.path.startswith(("/api/v1/auth", "/api/v1/enrol"))
        else ServerError
    )
    return kind(f"{response.status_code} {detail}", status=response.status_code, code=code)


def _token_refused(response: httpx.Response) -> bool:
    """A 401 problem saying the bearer token itself is at fault (expired or unknown)."""
    if response.status_code != 401:
        return False
    if not response.headers.get("content-type", "").startswith("application/problem"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") in TOKEN_REFUSED_CODES


class ServerClient:
    """One server, optionally one identity. ``transport`` is the test seam."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"caducee-agent/{__version__}"},
        )
        self._token: str | None = None
        self._login_lock = threading.Lock()
        self._expires_at = datetime.min.replace(tzinfo=UTC)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
        **kw: Any,
    ) -> httpx.Response:
        extra_headers = headers
        limit = self.retries if retries is None else retries
        refreshed = False
        attempt = 0
        while True:
            headers = dict(extra_headers or {})
            if auth:
                headers["Authorization"] = f"Bearer {self._bearer()}"
            try:
                if timeout is not None:
                    kw["timeout"] = timeout
                response = self._http.request(method, path, headers=headers, **kw)
            except httpx.TransportError as exc:
                if attempt >= limit:
                    raise NetworkError(
                        f"{self.base_url} unreachable: {type(exc).__name__}"
                    ) from None
                self._pause(attempt, f"{method} {path}: {type(exc).__name__}")
                attempt += 1
                continue
            if response.status_code == 401 and auth and not refreshed:
                self._token, refreshed = None, True
                continue
            if response.status_code >= 500 or response.status_code == 429:
                if attempt >= limit:
                    raise _problem(response)
                self._pause(attempt, f"{method} {path}: HTTP {response.status_code}")
                attempt += 1
                continue
            if response.status_code >= 400:
                raise _problem(response)
            return response

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One authenticated call (token refresh, retries, problem+json mapped to
        ``ServerError``): for the parts of the agent that talk to an endpoint this client has
        no dedicated method for. ``retries`` overrides the client's count for this call (a
        page that must answer now asks for few; a 503 that is a setting is not an outage)."""
        return self._send(method, path, headers=headers, retries=retries, **kw)

    def request_once(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One call made once, for a person waiting at a counter: no retry after a network
        error, a 429 or a 5xx (they try again themselves). Only a token the server calls
        expired or unknown is renewed, once; any other 401 (a card access that lapsed, a
        missing access code) is the caller's answer. ``headers`` go as given (``X-Card-Access``);
        ``auth=False`` sends no token (public routes, the patient's own page)."""
        for attempt in (0, 1):
            sent = dict(headers or {})
            if auth:
                sent["Authorization"] = f"Bearer {self._bearer()}"
            try:
                response = self._http.request(method, path, headers=sent, **kw)
            except httpx.TransportError as exc:
                raise NetworkError(f"{self.base_url} unreachable: {type(exc).__name__}") from None
            if auth and attempt == 0 and _token_refused(response):
                self._token = None  # log in again, once
                continue
            if response.status_code >= 400:
                raise _problem(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, attempt: int, what: str) -> None:
        delay = min(self.backoff * (2**attempt), 30.0)
        log.warning("retrying in %.1fs after %s", delay, what)
        self._sleep(delay)

    # -- login ---------------------------------------------------------------------------
    def _bearer(self) -> str:
        with self._login_lock:  # worker threads share one token: one login at a time
            if self._token is None or datetime.now(UTC) + TOKEN_MARGIN >= self._expires_at:
                self.login()
            assert self._token is not None
            return self._token

    def login(self) -> None:
        """Challenge, sign, token (``POST /api/v1/auth/challenge`` then ``/auth/token``)."""
        if self.credentials is None:
            raise AuthError(
                "no identity: this agent is not enrolled", status=401, code="no-identity"
            )
        creds = self.credentials
        challenge = self._send(
            "POST", "/api/v1/auth/challenge", auth=False, json={"address": creds.address}
        ).json()["challenge"]
        body = {
            "address": creds.address,
            "challenge": challenge,
            "signature": sign_challenge(creds.key, challenge),
            "certificate_serial": creds.serial_hex,
        }
        answer = self._send("POST", "/api/v1/auth/token", auth=False, json=body).json()
        self._token = str(answer["access_token"])
        expires = datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
        self._expires_at = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        log.info("logged in as %s until %s", creds.address, self._expires_at.isoformat())

    # -- public API (no token) -----------------------------------------------------------
    def enrol(self, code: str, csr_pem: str) -> dict[str, Any]:
        """Spend an enrolment code: {address, serial_hex, certificate_pem}."""
        body = {"code": code, "csr_pem": csr_pem}
        answer: dict[str, Any] = self._send("POST", "/api/v1/enrol", auth=False, json=body).json()
        return answer

    def pki(self, name: str) -> bytes:
        """A public PKI object: ``root.pem``, ``issuing.pem``, ``crl/issuing.crl``..."""
        return self._send("GET", f"/pki/{name}", auth=False).content

    # -- evidence log (public) ------------------------------------------------------------
    def ledger_key(self) -> str:
        """The log's note verifier key (``name+keyid+base64``)."""
        return self._send("GET", "/api/v1/ledger/key", auth=False).text

    def ledger_checkpoint(self) -> str:
        """The newest signed checkpoint (C2SP signed note)."""
        return self._send("GET", "/api/v1/ledger/checkpoint", auth=False).text

    def ledger_consistency(self, first: int, second: int) -> list[bytes]:
        """RFC 9162 consistency proof between two tree sizes."""
        answer = self._send(
            "GET",
            "/api/v1/ledger/consistency",
            auth=False,
            params={"first": first, "second": second},
        ).json()
        return [base64.b64decode(item) for item in answer["proof"]]

    def ledger_certificate(self, sha256: str) -> dict[str, Any]:
        """{issued, revoked}: the receipts of a certificate (404 ``certificate-not-in-log``)."""
        answer: dict[str, Any] = self._send("GET", f"/api/v1/ledger/certificates/{sha256}").json()
        return answer

    def ledger_certificates(self, address: str) -> list[dict[str, Any]]:
        """Every certificate the log holds for a mailbox (sha256, serial, indexes...)."""
        answer = self._send("GET", "/api/v1/ledger/certificates", params={"address": address})
        found: list[dict[str, Any]] = answer.json()["certificates"]
        return found

    def message_receipts(self, message_id: str) -> list[dict[str, Any]]:
        """The receipts of every record of one of my messages (sent or received)."""
        answer = self._send("GET", f"/api/v1/ledger/messages/{message_id}/records").json()
        receipts: list[dict[str, Any]] = answer["receipts"]
        return receipts

    def message_acknowledgements(self, message_id: str) -> list[dict[str, Any]]:
        """The recipients' signed acknowledgements of one of my messages (base64 DER)."""
        path = f"/api/v1/ledger/messages/{message_id}/acknowledgements"
        found: list[dict[str, Any]] = self._send("GET", path).json()["acknowledgements"]
        return found

    # -- agent API -----------------------------------------------------------------------
    def certificates(self, address: str) -> list[x509.Certificate]:
        """The certificates the directory says to encrypt to for ``address``."""
        answer = self._send("GET", f"/api/v1/directory/mailboxes/{address}/certificates").json()
        return [x509.load_pem_x509_certificate(p.encode()) for p in answer["certificates"]]

    def search(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        answer = self._send("GET", "/api/v1/directory/search", params={"q": text, "limit": limit})
        results: list[dict[str, Any]] = answer.json()["results"]
        return results

    def submit(
        self, *, message_id: str, sender: str, to: list[str], date: str, subject: str, der: bytes
    ) -> dict[str, Any]:
        """Submit a DER CMS ciphertext; a retry with the same id is answered 200, not doubled.

        The body is the DER itself (``application/pkcs7-mime``) and the envelope travels in
        ``Caducee-*`` headers: no base64, no JSON, on either side.
        """
        headers = {
            "Content-Type": "application/pkcs7-mime",
            "Caducee-Message-Id": message_id,
            "Caducee-From": sender,
            "Caducee-To": ",".join(to),
            "Caducee-Date": date,  # RFC 5322 date: ASCII, read as is
            "Caducee-Subject": quote(subject, safe=" "),
        }
        answer: dict[str, Any] = self._send(
            "POST", "/api/v1/messages", content=der, headers=headers
        ).json()
        return answer

    def list_messages(self, cursor: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        answer = self._send(
            "GET", "/api/v1/mailbox/messages", params={"cursor": cursor, "limit": limit}
        ).json()
        return list(answer["messages"]), int(answer["next_cursor"])

    def wait(self, cursor: int, timeout: float) -> tuple[list[dict[str, Any]], int]:
        """Long poll: returns as soon as there is mail after ``cursor``, or after ``timeout``."""
        answer = self._send(
            "GET",
            "/api/v1/mailbox/wait",
            params={"cursor": cursor, "timeout": timeout},
            timeout=timeout + 15.0,
        ).json()
        return list(answer["messages"]), int(answer["next_cursor"])

    def fetch(self, message_id: str) -> bytes:
        """The DER CMS ciphertext of a message in my mailbox."""
        return self._send("GET", f"/api/v1/mailbox/messages/{message_id}").content

    def fetch_many(self, message_ids: Sequence[str]) -> dict[str, bytes]:
        """The ciphertexts of several messages in one request (at most 50): those the server
        gave and whose SHA-256 is what it says; the others are left to :meth:`fetch`."""
        answer = self._send(
            "POST", "/api/v1/mailbox/fetch", json={"message_ids": list(message_ids)}
        )
        found: dict[str, bytes] = {}
        for one in answer.json()["messages"]:
            if "ciphertext" not in one:
                continue
            body = base64.b64decode(one["ciphertext"])
            if hashlib.sha256(body).hexdigest() == one.get("ciphertext_sha256"):
                found[str(one["message_id"])] = body
        return found

    def ack(self, message_id: str, acknowledgement: bytes | None = None) -> None:
        """Acknowledge a message, with the DER of the signed statement when there is one."""
        path = f"/api/v1/mailbox/messages/{message_id}/ack"
        if acknowledgement is None:
            self._send("POST", path)
            return
        signed = base64.b64encode(acknowledgement).decode("ascii")
        self._send("POST", path, json={"acknowledgement": signed})

    def ack_many(
        self, acknowledgements: Sequence[tuple[str, bytes | None]]
    ) -> dict[str, ServerError | None]:
        """Acknowledge many messages in one request (one transaction on the server): for
        each message id, None when done, or the server's refusal of that one."""
        items: list[dict[str, str]] = []
        for message_id, signed in acknowledgements:
            item = {"message_id": message_id}
            if signed is not None:
                item["acknowledgement"] = base64.b64encode(signed).decode("ascii")
            items.append(item)
        body = {"acknowledgements": items}
        results = self._send("POST", "/api/v1/mailbox/acknowledgements", json=body).json()
        outcomes: dict[str, ServerError | None] = {}
        for result in results["results"]:
            refusal = result.get("problem")
            outcomes[str(result["message_id"])] = (
                None
                if refusal is None
                else ServerError(
                    str(refusal.get("detail", "")),
                    status=int(refusal["status"]),
                    code=str(refusal["code"]),
                )
            )
        return outcomes

    def content_policy(self) -> dict[str, Any]:
        """``GET /api/v1/policy``: {organisation, default, policy} for this agent's mailbox."""
        answer: dict[str, Any] = self._send("GET", "/api/v1/policy").json()
        return answer
