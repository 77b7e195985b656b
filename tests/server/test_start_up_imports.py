"""Every server and CLI process pays its imports at start-up (the tests start hundreds):
the PDF report's matplotlib (about 0.6 s) is imported only when a report is drawn, and the
app with all its routes (seconds) only when it is built, not by ``caducee server init``."""

from __future__ import annotations

import subprocess
import sys


def test_starting_the_server_does_not_import_matplotlib() -> None:
    probe = "import sys, caducee.cli, caducee.server; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_report_still_draws_with_matplotlib() -> None:
    probe = (
        "import sys; from caducee.stats.report import render_pdf; "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def test_initialising_a_deployment_does_not_build_the_app() -> None:
    probe = (
        "import sys, caducee.server.deployment; "
        "print('caducee.server.app' in sys.modules, 'fastapi' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"


def test_create_app_is_still_importable_from_the_package() -> None:
    from caducee.server import create_app

    assert create_app.__module__ == "caducee.server.app"
