"""The person's own account pages in the agent: application passwords for mail clients,
sanctions and the support contact, and (for a manager) their establishment.

Filled in by the account work of issues #6 and #7; mounted by ``create_web_app``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig

__all__ = ["add_account_routes"]

Render = Callable[..., HTMLResponse]


def add_account_routes(
    app: FastAPI, config: AgentConfig, render: Render, csrf: str, client: ServerClient | None
) -> None:
    """Mount ``/account`` (and the pages it links to) on the agent's web app."""

    @app.get("/account", response_class=HTMLResponse)
    def account(request: Request) -> HTMLResponse:
        context: dict[str, Any] = {"page": "/account"}
        return render(request, "account/account.html", context)
