"""The case pages' words: the same keys in French and English, and every key the templates
and the routes use is in a catalogue (the pages' own, or the agent's)."""

from __future__ import annotations

import re
from pathlib import Path

from caducee.agent.instant.page_words import MESSAGES
from caducee.agent.web import cases
from caducee.agent.web.messages import MESSAGES as AGENT

TEMPLATES = Path(cases.__file__).parent / "templates" / "cases"
KEY = re.compile(r"""_\(\s*["']([a-z0-9_.\-]+)["']""")


def test_catalogues_have_the_same_keys() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])


def test_every_key_used_is_known() -> None:
    used = set()
    for path in [*TEMPLATES.glob("*.html"), Path(cases.__file__)]:
        used |= set(KEY.findall(path.read_text("utf-8")))
    used.discard("state.")  # the journal's states of an exported file, below
    used |= {f"notice.{n}" for n in cases.NOTICES}
    used |= {f"state.{s}" for s in ("queued", "pending", "sent", "failed", "held")}
    known = set(MESSAGES["fr"]) | set(AGENT["fr"])
    assert used and used <= known, sorted(used - known)


def test_the_pages_say_when_the_agent_is_not_connected(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from caducee.agent.config import AgentConfig
    from caducee.agent.web import create_web_app

    config = AgentConfig(directory=tmp_path, server="http://s.test", address="dr.x@caducee.test")
    config.ensure_folders()
    with TestClient(create_web_app(config), base_url="http://127.0.0.1") as pages:
        listing = pages.get("/cases?lang=fr")
        assert listing.status_code == 503 and "pas connecté" in listing.text
        assert 'id="new-case"' not in listing.text
        case = pages.get("/cases/6f0c7a1e-0000-4000-8000-000000000001")
        assert case.status_code == 503 and "caducee agent run" in case.text
        assert "Conversations" in pages.get("/inbox").text.split("<main>")[0]
    assert not (tmp_path / "miss-device.json").exists()
