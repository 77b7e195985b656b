"""The agent's local web pages (127.0.0.1 only): inbox, a document, sent, quarantine, send."""

from caducee.agent.web.app import create_web_app

__all__ = ["create_web_app"]
