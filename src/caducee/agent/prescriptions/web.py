"""The agent's prescription pages (prescriber's form, pharmacist's counter)."""

from __future__ import annotations

from fastapi import FastAPI

from caducee.agent.config import AgentConfig
from caducee.agent.web.results import Render

__all__ = ["add_prescription_routes"]


def add_prescription_routes(app: FastAPI, config: AgentConfig, render: Render, csrf: str) -> None:
    """Mount the prescription pages on the agent's web app."""
