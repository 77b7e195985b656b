"""RFC 9457 problem details: every refusal is ``application/problem+json`` with a stable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from caducee.errors import CaduceeError

__all__ = [
    "ProblemError",
    "install_problem_handlers",
    "problem_response",
    "validation_problem",
]

PROBLEM_TYPE_BASE = "https://caducee.test/problems/"


class ProblemError(CaduceeError):
    """An HTTP refusal: a status, a stable code and a reason that says what to do."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.extra = extra


def problem_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": code.replace("-", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    """422 ``invalid-request`` listing where the request differs from the API."""
    errors = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    return problem_response(
        422, "invalid-request", "The request does not match the API.", errors=errors
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map our errors, HTTP errors and validation errors to problem+json."""

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.status, exc.code, exc.reason, **exc.extra)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}.get(
            exc.status_code, f"http-{exc.status_code}"
        )
        return problem_response(exc.status_code, code, str(exc.detail))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
