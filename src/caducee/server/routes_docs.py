"""``/docs``: the API's description (``/openapi.json``) as a page, served whole by this server.

FastAPI's own page loads Swagger UI from a CDN, which a hospital or operator network often
does not reach: the page stayed blank there. Swagger UI 5 (it reads OpenAPI 3.1, which
FastAPI writes) is vendored under ``/static/vendor`` (its README says from where, with the
files' digests). ``/redoc`` is not offered: it too needs a CDN.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__ = ["SWAGGER_UI", "router"]

SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Caducée — API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
    )
