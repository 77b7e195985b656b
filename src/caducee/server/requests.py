"""The base of every JSON request body the API accepts: strict, and free of NUL characters.

Unknown fields are refused (a typo is an error, not a silent default), and no string may
hold U+0000, which PostgreSQL cannot store: such a body is a 422 ``invalid-request``, never a
database error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["MAX_DB_INTEGER", "StrictRequest", "has_nul"]

MAX_DB_INTEGER = 2**31 - 1  # the range of an SQL INTEGER column on PostgreSQL


def has_nul(value: Any) -> bool:
    """True when ``value`` (a JSON-like tree) holds a NUL character anywhere."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class StrictRequest(BaseModel):
    """Refuses unknown fields and NUL characters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data
