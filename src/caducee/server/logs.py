"""The server's log: one JSON object per line, on standard error.

What the code logs is ids and digests (a message id, a ciphertext's SHA-256, a mailbox
number), never content; this module only gives those lines a shape a log collector reads
without a parser of its own (``jq``, Loki, journald's JSON). Until this existed, only
uvicorn's own loggers had a handler: every ``caducee`` line under WARNING was dropped.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["LOG_LEVELS", "JsonLineFormatter", "logging_config"]

LOG_LEVELS = ("debug", "info", "warning", "error")


class JsonLineFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "error"]}``, UTF-8, one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": _shown_name(record.name),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def _shown_name(name: str) -> str:
    """uvicorn logs its start, stop and every other line on a logger named ``uvicorn.error``
    (a historical name): shown as ``uvicorn``, so that "error" in a line means an error."""
    return "uvicorn" if name == "uvicorn.error" else name


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``caducee server run`` (uvicorn's ``log_config``):
    every logger, uvicorn's included, through one JSON-lines handler at ``level``."""
    name = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": name, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own configuration gives these handlers of their own: here they go
            # to the root's, once each.
            "uvicorn": {"level": name, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": name, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }
