"""The server face: the FastAPI app, one router per domain, the operator's pages.

``create_app`` is imported on first use: building every route takes seconds, which
``caducee server init`` and the users of a single submodule (the deployment, say) need not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caducee.server.app import create_app

__all__ = ["WEBSOCKET_PROTOCOL", "create_app"]

# uvicorn's sans-I/O websockets protocol writes a frame straight to the transport; the default
# one takes a lock and awaits a drain per frame, which was most of the hub's fan-out CPU.
WEBSOCKET_PROTOCOL = "websockets-sansio"


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from caducee.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
