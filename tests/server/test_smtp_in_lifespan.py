"""``CADUCEE_SMTP_ENABLED``: the server's lifespan starts and stops the SMTP edge."""

from __future__ import annotations

import smtplib
from pathlib import Path

from caducee.config import load_settings
from caducee.server import create_app
from tests.conftest import free_port


async def test_the_smtp_edge_answers_while_the_server_runs(tmp_path: Path) -> None:
    import asyncio

    submission, inbound = free_port(), free_port()
    settings = load_settings(
        data_dir=tmp_path,
        smtp_enabled=True,
        smtp_submission_port=submission,
        smtp_inbound_port=inbound,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):

        def greet(port: int) -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                return client.ehlo("test.example")

        for port in (submission, inbound):
            code, features = await asyncio.to_thread(greet, port)
            assert code == 250
            assert b"STARTTLS" in features
    # Once the app stopped, nothing listens any more.
    import socket

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", submission)) != 0


def test_the_edge_is_off_by_default() -> None:
    assert load_settings().smtp_enabled is False
