"""The server face: the FastAPI app, one router per domain, the operator's pages."""

from caducee.server.app import create_app

__all__ = ["create_app"]
