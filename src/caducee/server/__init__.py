"""The server face: the FastAPI app, one router per domain, the operator's pages."""

from caducee.server.app import create_app

__all__ = ["WEBSOCKET_PROTOCOL", "create_app"]

# uvicorn's sans-I/O websockets protocol writes a frame straight to the transport; the default
# one takes a lock and awaits a drain per frame, which was most of the hub's fan-out CPU.
WEBSOCKET_PROTOCOL = "websockets-sansio"
