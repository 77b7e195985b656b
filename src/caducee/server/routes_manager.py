"""An establishment's manager, from their own agent: the establishments they manage.

Filled in by the account work of issue #7 (the agent's manager page).
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["establishment"])
