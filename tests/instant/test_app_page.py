"""The MISS web app's page is served with a policy that lets only its own modules run."""

from __future__ import annotations

from tests.server.conftest import World


async def test_the_app_page_runs_only_its_own_code(world: World) -> None:
    page = await world.client.get("/instant/")
    assert page.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other site
    assert policy["img-src"] == "'self' blob:"  # decrypted photos, made in the page
    assert policy["connect-src"] == "'self' blob:"  # its API and hub, its own blobs
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
