"""Chromium through Playwright, using Debian's /usr/bin/chromium (no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.peers import require_tool

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = require_tool("chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


STATIC = Path(__file__).resolve().parents[1] / "src" / "caducee" / "server" / "static"


def module_page(browser: Browser, origin: str, html: str, ready: str) -> Page:
    """A page at ``origin/page.html`` (an https origin: a secure context for WebCrypto)
    showing ``html``, which imports the app's modules from ``/static/``, served from the
    source tree; returns once ``ready`` (a JS expression) is true, with no page error."""
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix(origin)
        if path.startswith("/static/"):
            source = (STATIC / path.removeprefix("/static/")).resolve()
            assert source.is_relative_to(STATIC)
            route.fulfill(body=source.read_bytes(), content_type="text/javascript")
        else:
            route.fulfill(body=html, content_type="text/html")

    page.context.route(origin + "/**", serve)
    page.goto(origin + "/page.html")
    page.wait_for_function(ready, timeout=20_000)
    assert errors == []
    return page
