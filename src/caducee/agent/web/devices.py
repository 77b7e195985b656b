"""The person's MISS devices on the agent's pages (issue #8: a person sees and revokes them).

- ``GET /account/devices``: every device of the person, revoked ones included (the server's
  ``GET /api/v1/instant/devices`` through :func:`caducee.agent.devices.list_devices`): its
  id, when it was registered, active or revoked, whether its encryption key is post-quantum
  (the hybrid ML-KEM-768 + X25519 KEM or X25519 alone), whether the person's certificate
  certified it or another device endorsed it, and which one is this workstation's own;
- ``GET /account/devices/confirm?device=ID``: what revoking that device means, and the form;
- ``POST /account/devices/revoke`` {token, device}: revoke it
  (:func:`caducee.agent.devices.revoke_device`), then back to the list with a notice.

The form carries the pages' CSRF token, checked before the server is called. The server
acts for the certificate the agent logged in with only, so the page can touch no one
else's devices. A server that refuses or does not answer gives a notice, never a crash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.devices import list_devices, revoke_device
from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.instant.device import workstation_device_id
from caducee.agent.web.account import Problem, account_template, problem_of
from caducee.agent.web.csrf import forgery_check
from caducee.errors import CaduceeError
from caducee.instant._hpke import Kem

__all__ = ["DeviceRow", "add_device_routes", "device_rows", "workstation_device_id"]

log = logging.getLogger(__name__)
Render = Callable[..., HTMLResponse]
Field = Annotated[str, Form()]  # sync handlers: FastAPI runs them (and their calls) off the loop
T = TypeVar("T")
PAGE = "/account/devices"
# Device ids as clients make them ("agent-<hex>", "web-<uuid>"): safe in a URL path as is.
DEVICE_ID = re.compile(r"[A-Za-z0-9._:@~+=-]{1,128}")
# The notice after a revocation, by the ``done`` of the redirect.
DONE = {"revoked": "dev.done.revoked", "self": "dev.done.self", "already": "dev.done.already"}
KEM_WORDS = {"pq": "dev.kem.pq", "classic": "dev.kem.classic"}
WORDS_BY_CODE = {"instant-unknown-device": "dev.unknown"}


@dataclass(frozen=True)
class DeviceRow:
    """One device as the page shows it."""

    device_id: str
    label: str | None
    registered: str
    revoked: str | None
    kem: str  # "pq", "classic" or "unknown"
    kem_id: int
    endorsed_by: str | None
    this_workstation: bool

    @property
    def active(self) -> bool:
        return self.revoked is None

    @property
    def kem_words(self) -> str | None:
        """The message id naming the key's kind (None for a KEM this agent does not know)."""
        return KEM_WORDS.get(self.kem)


def _local(moment: str) -> str:
    """An ISO time from the server as the workstation's people read it (local time)."""
    try:
        return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return moment[:16].replace("T", " ")


def _kem_kind(kem_id: int) -> str:
    if kem_id == Kem.MLKEM768_X25519.value:
        return "pq"
    return "classic" if kem_id == Kem.X25519.value else "unknown"


def device_rows(devices: list[dict[str, Any]], own: str | None) -> list[DeviceRow]:
    """The server's listing as rows: active ones first, the newest first within each."""
    newest = sorted(devices, key=lambda d: str(d["registered_at"]), reverse=True)
    rows = [
        DeviceRow(
            device_id=str(d["device_id"]),
            label=str(d["label"]) if d.get("label") else None,  # the server keeps none today
            registered=_local(str(d["registered_at"])),
            revoked=_local(str(d["revoked_at"])) if d.get("revoked_at") else None,
            kem=_kem_kind(int(d["kem"])),
            kem_id=int(d["kem"]),
            endorsed_by=str(d["endorsed_by"]) if d.get("endorsed_by") else None,
            this_workstation=own is not None and d["device_id"] == own,
        )
        for d in newest
    ]
    return sorted(rows, key=lambda r: not r.active)


def _problem(exc: CaduceeError | ValueError, path: str) -> Problem:
    """A failure as words, like the account page's (device codes first)."""
    if isinstance(exc, NetworkError):
        return Problem("acc.unreachable", status=503)
    if isinstance(exc, ServerError):
        if exc.code in WORDS_BY_CODE:
            return Problem(WORDS_BY_CODE[exc.code], status=exc.status)
        return problem_of(exc, path)
    return Problem("acc.refused", getattr(exc, "reason", str(exc)), 502)


def _attempt(
    client: ServerClient | None, call: Callable[[ServerClient], T], path: str
) -> tuple[T | None, Problem | None]:
    """``call(client)``, or the problem that kept it from answering."""
    if client is None:
        return None, Problem("acc.no_client", status=503)
    try:
        return call(client), None
    except (CaduceeError, ValueError) as exc:
        return None, _problem(exc, path)
    except (KeyError, TypeError) as exc:  # an answer without the expected fields
        return None, _problem(ValueError(f"{type(exc).__name__} {exc}"), path)


def add_device_routes(
    app: FastAPI, config: AgentConfig, render: Render, csrf: str, client: ServerClient | None
) -> None:
    """Mount ``/account/devices`` and its confirmation and revocation on the agent's app."""

    page = account_template(render)
    forged = forgery_check(csrf)

    def listed() -> tuple[list[DeviceRow], Problem | None]:
        own = workstation_device_id(config)
        rows, problem = _attempt(client, lambda c: device_rows(list_devices(c), own), PAGE)
        return rows or [], problem

    def list_page(
        request: Request,
        *,
        error: Problem | None = None,
        done: str | None = None,
        found: tuple[list[DeviceRow], Problem | None] | None = None,
    ) -> HTMLResponse:
        rows, problem = found or listed()
        context = {
            "devices": rows,
            "problem": problem,
            "error": error,
            "done": done,
            "done_words": DONE.get(done or ""),
        }
        failed = error or problem
        return page(request, "devices.html", context, failed.status if failed else 200)

    @app.get(PAGE, response_class=HTMLResponse)
    def devices(request: Request, done: str | None = None) -> HTMLResponse:
        return list_page(request, done=done if done in DONE else None)

    @app.get(f"{PAGE}/confirm", response_class=HTMLResponse)
    def confirm(request: Request, device: str = "") -> HTMLResponse:
        rows, problem = found = listed()
        if problem is not None:
            return list_page(request, found=found)
        chosen = next((r for r in rows if r.device_id == device), None)
        if chosen is None:
            return list_page(request, error=Problem("dev.unknown", status=404), found=found)
        if not chosen.active:
            return list_page(request, error=Problem("dev.already", status=409), found=found)
        endorsed = [r for r in rows if r.active and r.endorsed_by == chosen.device_id]
        context = {"device": chosen, "endorsed": endorsed}
        return page(request, "device_revoke.html", context)

    @app.post(f"{PAGE}/revoke", response_class=HTMLResponse)
    def revoke(request: Request, token: Field = "", device: Field = "") -> Response:
        if forged(token):
            return list_page(request, error=Problem("acc.forbidden", status=403))
        if not DEVICE_ID.fullmatch(device):
            return list_page(request, error=Problem("dev.unknown", status=404))
        own = device == workstation_device_id(config)
        changed, problem = _attempt(client, lambda c: revoke_device(c, device), PAGE)
        if problem is not None:
            return list_page(request, error=problem)
        log.info("device %s revoked from the pages (this workstation's: %s)", device, own)
        done = ("self" if own else "revoked") if changed else "already"
        return RedirectResponse(f"{PAGE}?done={done}", status_code=303)
