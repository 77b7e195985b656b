"""``POST /api/v1/messages`` without the framework's per-request machinery.

Submission is the relay's hot path: at a thousand messages a second, route matching over
every router, the middleware stack and dependency solving cost as much CPU as the
submission itself. This ASGI wrapper answers that one route directly, with the same code
(:func:`~caducee.server.auth.authenticated_mailbox`,
:func:`~caducee.server.routes_relay.accept_submission`) and the same problem+json answers;
every other request, and the OpenAPI description, go to the FastAPI app unchanged.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from caducee.server.auth import authenticated_mailbox
from caducee.server.problems import ProblemError, problem_response, validation_problem
from caducee.server.routes_relay import SUBMIT_PATH, accept_submission
from caducee.server.state import ServerState

__all__ = ["SubmissionFastPath"]


class SubmissionFastPath:
    """Wraps the app; takes ``POST /api/v1/messages``, passes everything else through."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != SUBMIT_PATH
            or not hasattr(self.app.state, "caducee")  # not started (tests without lifespan)
        ):
            await self.app(scope, receive, send)
            return
        response = await self._submit(Request(scope, receive))
        await response(scope, receive, send)

    async def _submit(self, request: Request) -> Response:
        state: ServerState = self.app.state.caducee
        try:
            agent = await authenticated_mailbox(request, state)
            return await accept_submission(request, agent, state)
        except ProblemError as exc:
            return problem_response(exc.status, exc.code, exc.reason, **exc.extra)
        except RequestValidationError as exc:
            return validation_problem(exc)
