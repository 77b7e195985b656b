"""The person's own account pages in the agent: application passwords for mail clients,
sanctions, sending limits and the support contact, and (for a manager) their establishment.

- ``/account``: support (``GET /api/v1/support``), limits and sanctions (``/policy/...``),
  application passwords (``/interop/app-passwords``: list, create, revoke), and a link to
  ``/account/establishment`` when ``GET /api/v1/establishments/mine`` names one.
- ``/account/establishment``: the charter (text, digest, the button to sign it), the
  people, a form to add one, a one-time enrolment code per person.

Every form carries the CSRF token and is checked locally before the server is called, so
bad input changes nothing. A new password or enrolment code is kept in this process's
memory only until the page after the redirect shows it, once. A server that does not answer
gives a notice, never a crash; nothing secret is logged.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.web.account_messages import translator
from caducee.agent.web.csrf import forgery_check
from caducee.agent.web.messages import locale_of
from caducee.errors import CaduceeError

__all__ = ["account_template", "add_account_routes", "is_rpps"]

log = logging.getLogger(__name__)
Render = Callable[..., HTMLResponse]
Field = Annotated[str, Form()]  # sync handlers: FastAPI runs them (and their calls) off the loop
AUTOCONFIG_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"
PASSWORDS = "/api/v1/interop/app-passwords"
MAX_LABEL = 100
SHOWN_SECONDS = 600.0
MAX_SHOWN = 32
# The server's stable problem codes, in this page's words.
WORDS_BY_CODE = {
    "too-many-app-passwords": "acc.pw.too_many",
    "unknown-app-password": "acc.pw.unknown",
    "invalid-label": "acc.pw.label_missing",
    "gateway-off": "acc.pw.gateway_off",
    "charter-not-signed": "est.code.refused_charter",
    "not-manager": "est.not_manager",
    "stale-charter": "est.stale",
    "invalid-identifier": "est.add.bad_rpps",
    "already-registered": "est.add.exists",
}


def is_rpps(value: str) -> bool:
    """11 ASCII digits ending in their Luhn key (what the server will accept)."""
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(value)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _is_finess(value: str) -> bool:
    return len(value) == 9 and value.isascii() and value.isdigit()


@dataclass(frozen=True)
class Problem:
    """Why a part of a page could not be shown or done: a message id and its values."""

    key: str
    detail: str = ""
    status: int = 422


@dataclass
class _Remote:
    """The server through the agent's client; every failure becomes a :class:`Problem`."""

    client: ServerClient | None
    down: Problem | None = None

    def call(self, method: str, path: str, **kw: Any) -> tuple[Any, Problem | None]:
        if self.client is None:
            self.down = Problem("acc.no_client", status=503)
        if self.down is not None or self.client is None:  # one unanswered call is enough
            return None, self.down
        try:
            response = self.client.request(method, path, **kw)
            return (response.json() if response.content else None), None
        except NetworkError:
            self.down = Problem("acc.unreachable", status=503)
            return None, self.down
        except ServerError as exc:
            return None, problem_of(exc, path)
        except (CaduceeError, ValueError) as exc:
            return None, Problem("acc.refused", getattr(exc, "reason", str(exc)), 502)


def problem_of(exc: ServerError, path: str) -> Problem:
    if exc.code in WORDS_BY_CODE:
        return Problem(WORDS_BY_CODE[exc.code], status=exc.status)
    if path.startswith(PASSWORDS) and exc.status in (404, 501, 503):
        return Problem("acc.pw.gateway_off", status=503)  # a server without the mail edge
    if exc.status >= 500:
        return Problem("acc.unreachable", status=503)
    return Problem("acc.refused", exc.reason.partition(" ")[2] or exc.reason, exc.status)


@dataclass
class _Shown:
    """Secrets to show once (a new password, an enrolment code), in memory only."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def put(self, data: dict[str, Any]) -> str:
        key = secrets.token_urlsafe(16)
        with self.lock:
            now = time.monotonic()
            for old in [k for k, (t, _) in self.items.items() if now - t > SHOWN_SECONDS]:
                del self.items[old]
            while len(self.items) >= MAX_SHOWN:
                del self.items[next(iter(self.items))]
            self.items[key] = (now, data)
        return key

    def take(self, key: str | None) -> dict[str, Any] | None:
        with self.lock:
            found = self.items.pop(key or "", None)
        if found is None or time.monotonic() - found[0] > SHOWN_SECONDS:
            return None
        return found[1]


AccountPage = Callable[..., HTMLResponse]


def account_template(render: Render) -> AccountPage:
    """``page(request, template, context, status=200)``: an ``account/`` template in the
    caller's language, under the "Mon compte" tab (the account and devices pages)."""

    def page(
        request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        full = {"_": translator(locale_of(request)), "page": "/account"}
        return render(request, f"account/{template}", full | context, status)

    return page


def add_account_routes(
    app: FastAPI, config: AgentConfig, render: Render, csrf: str, client: ServerClient | None
) -> None:
    """Mount ``/account`` and ``/account/establishment`` on the agent's web app."""
    shown = _Shown()

    page = account_template(render)
    forged = forgery_check(csrf)

    # -- /account -----------------------------------------------------------------------

    def account_page(
        request: Request, *, error: Problem | None = None, extra: dict[str, Any] | None = None
    ) -> HTMLResponse:
        remote = _Remote(client)
        passwords, pw_problem = remote.call("GET", PASSWORDS)
        support, support_problem = remote.call("GET", "/api/v1/support")
        limits, limits_problem = remote.call("GET", "/api/v1/policy/limits")
        sanctions, sanctions_problem = remote.call("GET", "/api/v1/policy/sanctions")
        mine, _ = remote.call("GET", "/api/v1/establishments/mine")
        context = {
            "passwords": (passwords or {}).get("passwords", []),
            "pw_problem": pw_problem,
            "gateway_off": _gateway_off(passwords),
            "support": support,
            "support_problem": support_problem,
            "limits": limits,
            "limits_problem": limits_problem,
            "sanctions": sanctions,
            "sanctions_problem": sanctions_problem,
            "manages": bool((mine or {}).get("establishments")),
            "error": error,
            "down": remote.down,
            "created": None,
            "done": None,
            **(extra or {}),
        }
        status = error.status if error is not None else 200
        return page(request, "account.html", context, status)

    @app.get("/account", response_class=HTMLResponse)
    def account(request: Request, done: str | None = None) -> HTMLResponse:
        created = shown.take(request.query_params.get("shown"))
        if created is not None and client is not None:
            created = created | {"autoconfig": client.base_url + AUTOCONFIG_PATH}
        done = done if done in ("revoked",) else None
        return account_page(request, extra={"created": created, "done": done})

    @app.post("/account/app-passwords", response_class=HTMLResponse)
    def create_password(request: Request, token: Field = "", label: Field = "") -> Response:
        if forged(token):
            return account_page(request, error=Problem("acc.forbidden", status=403))
        label = label.strip()
        if not label or len(label) > MAX_LABEL:
            return account_page(request, error=Problem("acc.pw.label_missing"))
        created, problem = _Remote(client).call("POST", PASSWORDS, json={"label": label})
        if problem is not None:
            return account_page(request, error=problem)
        log.info("application password %s created", created.get("id"))
        return RedirectResponse(f"/account?shown={shown.put(created)}", status_code=303)

    @app.post("/account/app-passwords/{password_id}/revoke", response_class=HTMLResponse)
    def revoke_password(request: Request, password_id: int, token: Field = "") -> Response:
        if forged(token):
            return account_page(request, error=Problem("acc.forbidden", status=403))
        _, problem = _Remote(client).call("DELETE", f"{PASSWORDS}/{password_id}")
        if problem is not None:
            return account_page(request, error=problem)
        log.info("application password %d revoked", password_id)
        return RedirectResponse("/account?done=revoked", status_code=303)

    # -- /account/establishment ---------------------------------------------------------

    def establishment_page(
        request: Request,
        finess: str | None,
        *,
        error: Problem | None = None,
        extra: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        remote = _Remote(client)
        context: dict[str, Any] = {
            "establishments": [],
            "current": None,
            "charter": None,
            "people": [],
            "error": error,
            "problem": None,
            "code": None,
            "done": None,
            "form": {},
            **(extra or {}),
        }
        mine, problem = remote.call("GET", "/api/v1/establishments/mine")
        if problem is not None:
            context["problem"] = problem
            return page(request, "establishment.html", context, problem.status)
        establishments = mine.get("establishments", [])
        context["establishments"] = establishments
        if not establishments:
            return page(request, "establishment.html", context, 404)
        chosen = next((e for e in establishments if e["finess"] == finess), establishments[0])
        context["current"] = chosen
        charter, _ = remote.call("GET", "/api/v1/charter")  # 409 no-charter: none to show
        context["charter"] = charter
        detail, problem = remote.call("GET", f"/api/v1/establishments/{chosen['finess']}/people")
        context["people"] = (detail or {}).get("people", [])
        context["problem"] = problem
        status = error.status if error is not None else (problem.status if problem else 200)
        return page(request, "establishment.html", context, status)

    @app.get("/account/establishment", response_class=HTMLResponse)
    def establishment(
        request: Request, finess: str | None = None, done: str | None = None
    ) -> HTMLResponse:
        code = shown.take(request.query_params.get("shown"))
        done = done if done in ("signed", "added") else None
        return establishment_page(request, finess, extra={"code": code, "done": done})

    def back(finess: str, **query: str) -> RedirectResponse:
        return RedirectResponse(
            f"/account/establishment?{urlencode({'finess': finess, **query})}", status_code=303
        )

    @app.post("/account/establishment/{finess}/sign", response_class=HTMLResponse)
    def sign(
        request: Request, finess: str, token: Field = "", charter_sha256: Field = ""
    ) -> Response:
        if forged(token) or not _is_finess(finess):
            return establishment_page(request, finess, error=Problem("acc.forbidden", status=403))
        body = {"finess": finess, "charter_sha256": charter_sha256.strip()[:64]}
        _, problem = _Remote(client).call("POST", "/api/v1/charter/signatures", json=body)
        if problem is not None:
            return establishment_page(request, finess, error=problem)
        log.info("charter signed for %s", finess)
        return back(finess, done="signed")

    @app.post("/account/establishment/{finess}/people", response_class=HTMLResponse)
    def add_person(
        request: Request,
        finess: str,
        token: Field = "",
        rpps: Field = "",
        given_name: Field = "",
        family_name: Field = "",
        profession: Field = "",
        specialty: Field = "",
        mailbox: Field = "",
    ) -> Response:
        if forged(token) or not _is_finess(finess):
            return establishment_page(request, finess, error=Problem("acc.forbidden", status=403))
        values = (rpps, given_name, family_name, profession, specialty, mailbox)
        fields = ("rpps", "given_name", "family_name", "profession", "specialty", "mailbox")
        form = {name: value.strip()[:320] for name, value in zip(fields, values, strict=True)}
        error = None
        if not is_rpps(form["rpps"]):
            error = Problem("est.add.bad_rpps")
        elif not all(form[k] for k in ("given_name", "family_name", "profession", "mailbox")):
            error = Problem("est.add.missing")
        elif not _looks_like_address(form["mailbox"]):
            error = Problem("est.add.bad_mailbox")
        if error is None:
            body = {k: v for k, v in form.items() if v} | {"specialty": form["specialty"] or None}
            path = f"/api/v1/establishments/{finess}/people"
            _, error = _Remote(client).call("POST", path, json=body)
        if error is not None:
            return establishment_page(request, finess, error=error, extra={"form": form})
        log.info("person %s added to %s", form["rpps"], finess)
        return back(finess, done="added")

    @app.post("/account/establishment/{finess}/people/{rpps}/code", response_class=HTMLResponse)
    def make_code(request: Request, finess: str, rpps: str, token: Field = "") -> Response:
        if forged(token) or not _is_finess(finess) or not is_rpps(rpps):
            return establishment_page(request, finess, error=Problem("acc.forbidden", status=403))
        path = f"/api/v1/establishments/{finess}/people/{quote(rpps)}/enrolment-code"
        code, problem = _Remote(client).call("POST", path)
        if problem is not None:
            return establishment_page(request, finess, error=problem)
        log.info("enrolment code made for %s of %s", rpps, finess)
        return back(finess, shown=shown.put(code))


def _gateway_off(answer: Any) -> bool:
    """The server says neither SMTP submission nor IMAP runs (fields a server may add to
    its password list; a server that does not say is taken to run them)."""
    if not isinstance(answer, dict):
        return False
    return answer.get("smtp_enabled") is False and answer.get("imap_enabled") is False


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and " " not in value and len(value) <= 320)
