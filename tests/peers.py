"""Shared test helpers: real peers are required, never silently skipped in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, debian_package: str) -> str:
    """Return the path of a command-line peer, or fail saying how to install it.

    Locally (no ``CI``) a missing peer skips with the same message; in CI it fails.
    """
    path = shutil.which(name)
    if path is None:
        message = f"{name} is needed for this test: apt-get install {debian_package}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
