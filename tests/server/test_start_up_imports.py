"""Every server and CLI process pays its imports at start-up (the tests start hundreds):
the PDF report's matplotlib (about 0.6 s) is imported only when a report is drawn, and the
app with all its routes (seconds) only when it is built, not by ``caducee server init``."""

from __future__ import annotations

import subprocess
import sys


def _loaded(imports: str, *modules: str) -> list[bool]:
    """In a fresh interpreter that ran ``imports``: whether each of ``modules`` is loaded."""
    probe = f"import sys; {imports}; print(*(m in sys.modules for m in {modules!r}))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return [word == "True" for word in result.stdout.split()]


def test_starting_the_server_does_not_import_matplotlib() -> None:
    assert _loaded("import caducee.cli, caducee.server", "matplotlib") == [False]


def test_the_report_still_draws_with_matplotlib() -> None:
    imports = "from caducee.stats.report import render_pdf"
    assert _loaded(imports, "matplotlib.pyplot") == [True]


def test_initialising_a_deployment_does_not_build_the_app() -> None:
    imports = "import caducee.server.deployment"
    assert _loaded(imports, "caducee.server.app", "fastapi") == [False, False]


def test_create_app_is_still_importable_from_the_package() -> None:
    from caducee.server import create_app

    assert create_app.__module__ == "caducee.server.app"
