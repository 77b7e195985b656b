"""What the server holds for its lifetime: settings, database, blob store, the operator CA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from caducee.config import Settings
from caducee.server.deployment import Deployment
from caducee.store import BlobStore, Database

__all__ = ["ServerState", "get_state"]


@dataclass
class ServerState:
    settings: Settings
    database: Database
    blobs: BlobStore
    authority: Deployment | None = None  # the operator CA, once `caducee server init` ran
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> ServerState:
    """FastAPI dependency: the running server's state."""
    state: ServerState = request.app.state.caducee
    return state
