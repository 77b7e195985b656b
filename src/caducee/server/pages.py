"""Page rendering shared by every router: templates, locale, translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from caducee import __version__
from caducee.i18n import negotiate, translator

__all__ = ["render", "request_locale", "templates"]

templates = Jinja2Blocks(directory=str(Path(__file__).parent / "templates"))


def request_locale(request: Request) -> str:
    """``?lang=`` wins, then the ``lang`` cookie, then Accept-Language, then French."""
    explicit = request.query_params.get("lang") or request.cookies.get("lang")
    return negotiate(request.headers.get("accept-language"), explicit)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    block_name: str | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    full = {"_": translator(locale), "locale": locale, "version": __version__, **context}
    response = templates.TemplateResponse(
        request, template, full, status_code=status_code, block_name=block_name
    )
    if request.query_params.get("lang") == locale:
        response.set_cookie("lang", locale, samesite="lax", max_age=365 * 24 * 3600)
    assert isinstance(response, HTMLResponse)
    return response
