"""What the MISS routes share: the server's clock, error mapping, base64 fields."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends

from caducee.errors import CaduceeError
from caducee.server.auth import clock, server_state
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState

__all__ = [
    "State",
    "decode_base64",
    "domain_errors",
    "now_of",
]

State = Annotated[ServerState, Depends(server_state)]


def now_of(state: ServerState) -> Callable[[], datetime]:
    """The server's clock, read at each call: tests move it after the services are built."""
    return lambda: clock(state)()


@contextmanager
def domain_errors() -> Iterator[None]:
    """Raise the problem+json answer of any Caducée error raised inside."""
    try:
        yield
    except ProblemError:
        raise
    except CaduceeError as exc:
        raise to_problem(exc) from None


def decode_base64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(
            400, "instant-invalid-base64", f"{what} : base64 invalide / {what}: not base64"
        ) from None
