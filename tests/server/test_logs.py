"""The server's log format: one JSON object per line, at the configured level."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.server.logs import LOG_LEVELS, JsonLineFormatter


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("caducee.relay.service", logging.INFO, "x.py", 1, message, args, info)


@given(st.text())
def test_any_message_is_one_json_line(text: str) -> None:
    """Line breaks, quotes and any character stay inside the one line, readable again."""
    line = JsonLineFormatter().format(_record("%s", text))
    assert "\n" not in line and "\r" not in line
    parsed = json.loads(line)
    assert parsed["message"] == text
    assert parsed["level"] == "info" and parsed["logger"] == "caducee.relay.service"


def test_french_stays_readable_and_errors_carry_their_traceback() -> None:
    line = JsonLineFormatter().format(_record("reçu %s", "résultat", exc=True))
    assert "reçu résultat" in line  # UTF-8, not \\u escapes
    parsed = json.loads(line)
    assert parsed["time"].endswith("+00:00")
    assert "ValueError: boom" in parsed["error"]


@pytest.mark.parametrize("level", LOG_LEVELS)
def test_the_configuration_keeps_what_its_level_asks_for(level: str) -> None:
    """Applied as ``caducee server run`` applies it (dictConfig), in a process of its own."""
    program = (
        "import logging, logging.config\n"
        "from caducee.server.logs import logging_config\n"
        f"logging.config.dictConfig(logging_config({level!r}))\n"
        "for name in ('debug', 'info', 'warning', 'error'):\n"
        "    logging.getLogger('caducee.relay.service').log(getattr(logging, name.upper()), name)\n"
        "logging.getLogger('uvicorn.error').info('uvicorn info')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    kept = LOG_LEVELS[LOG_LEVELS.index(level) :]
    assert [line["message"] for line in lines if line["logger"].startswith("caducee")] == list(kept)
    # Once (no handler of its own), and shown as "uvicorn": "error" would mislead a reader.
    uvicorn_lines = [line for line in lines if line["logger"] == "uvicorn"]
    assert len(uvicorn_lines) == (1 if "info" in kept else 0)
    assert all("error" not in line["logger"] for line in lines)
