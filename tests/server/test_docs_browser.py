"""``/docs`` in Chromium with every request off this server refused: the vendored Swagger UI
renders the API's operations (no CDN), on a desktop and on a phone."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Error, Route, expect

from tests.browser import STATIC, chromium
from tests.servers import running_server


def errors_into(errors: list[str]) -> Callable[[Error], None]:
    return lambda error: errors.append(str(error))


def test_the_api_page_works_without_reaching_anything_but_this_server(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as base, chromium() as browser:
        page_html = httpx.get(f"{base}/docs", timeout=30).text
        outside = [u for u in re.findall(r"https?://[^\"' )]+", page_html) if u != base]
        assert outside == [], "the page names addresses off this server"
        assert httpx.get(f"{base}/redoc", timeout=30).status_code == 404  # it needs a CDN

        refused: list[str] = []

        def refuse_elsewhere(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        for width, height in ((1280, 900), (360, 740)):  # a desktop, a phone
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", errors_into(errors))
            page.route("**/*", refuse_elsewhere)
            page.goto(f"{base}/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Caducée")
            submit = page.locator(".opblock-post", has_text="/api/v1/messages").first
            expect(submit).to_be_visible()
            assert page.locator(".opblock").count() > 50  # every operation, not a stub
            assert errors == []
            page.close()
        assert refused == []


def test_the_vendored_files_are_the_ones_the_readme_records() -> None:
    vendor = STATIC / "vendor"
    readme = (vendor / "README.md").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        recorded = re.search(
            rf"`swagger-ui-5\.35\.0/{re.escape(name)}` \|.*\| `([0-9a-f]{{64}})` \|", readme
        )
        assert recorded is not None, name
        digest = hashlib.sha256((vendor / "swagger-ui-5.35.0" / name).read_bytes()).hexdigest()
        assert digest == recorded.group(1), name
    assert "Apache License" in (vendor / "swagger-ui-5.35.0" / "LICENSE").read_text()
