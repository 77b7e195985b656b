"""Starting and stopping the edge as the server's lifespan will; settings; dependency rule."""

from __future__ import annotations

import importlib
import smtplib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from caducee.config import load_settings
from caducee.gateway import GatewayConfig, start_smtp_edge, stop_smtp_edge
from caducee.store import Database, open_blob_store
from tests.gateway.conftest import in_thread

MODULES = [
    "caducee.gateway",
    "caducee.gateway.config",
    "caducee.gateway.dovecot",
    "caducee.gateway.dsn",
    "caducee.gateway.edge",
    "caducee.gateway.errors",
    "caducee.gateway.external",
    "caducee.gateway.headers",
    "caducee.gateway.imap_delivery",
    "caducee.gateway.inbound",
    "caducee.gateway.mail_check",
    "caducee.gateway.models",
    "caducee.gateway.outbound",
    "caducee.gateway.passwords",
    "caducee.gateway.subject",
    "caducee.gateway.submission",
    "caducee.gateway.trust_list",
    "caducee.formats.xdm",
    "caducee.formats.mdn",
]


def test_config_from_settings() -> None:
    settings = load_settings(mail_domain="Caducee.Example", data_dir=Path("/tmp/x"))
    config = GatewayConfig.from_settings(settings)
    assert config.mail_domain == "caducee.example" and config.hostname == "caducee.example"
    assert config.internal_domains == ("caducee.example",)
    assert (config.submission_port, config.inbound_port) == (587, 25)
    assert config.gateway_sender_address == "mssante-gateway@caducee.example"
    assert config.data_size_limit > settings.max_message_size
    extended = SimpleNamespace(
        mail_domain="caducee.test",
        smtp_submission_port=10587,
        smtp_internal_domains="caducee.test, autre.caducee.test",
        smtp_trust_list_source="https://espacedeconfiance.mssante.fr/listeblanchemssante.xml",
        smtp_inbound_port=None,
    )
    config = GatewayConfig.from_settings(extended, inbound_port=2525)
    assert config.submission_port == 10587 and config.inbound_port == 2525
    assert config.internal_domains == ("caducee.test", "autre.caducee.test")
    assert config.is_internal("AUTRE.caducee.test.") and not config.is_internal("x.fr")


async def test_start_stop_with_default_tls(database: Database, tmp_path: Path) -> None:
    settings = SimpleNamespace(mail_domain="caducee.test", data_dir=tmp_path / "data")
    state = SimpleNamespace(
        settings=settings,
        database=database,
        blobs=open_blob_store((tmp_path / "blobs").as_uri()),
        extras={},
    )
    source = tmp_path / "liste.xml"
    source.write_bytes(b"<not-yet-valid")
    config = GatewayConfig.from_settings(
        settings, submission_port=0, inbound_port=0, trust_list_source=str(source)
    )
    edge = await start_smtp_edge(state, config)
    assert state.extras["smtp_edge"] is edge
    key = tmp_path / "data" / "gateway" / "smtp-tls-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    port = edge.port("submission")

    def features() -> bytes:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.ehlo()[1]

    assert b"STARTTLS" in await in_thread(features)
    assert edge.refresher is not None
    await stop_smtp_edge(edge)
    assert edge.trust_list.last_error is not None  # the bad list was not adopted
    with pytest.raises(OSError):
        await in_thread(features)
    # A second start reuses the gateway mailbox and the TLS pair.
    again = await start_smtp_edge(state, config.with_(trust_list_source=None))
    await again.stop()


@pytest.mark.parametrize("name", MODULES)
def test_modules_declare_all(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(module.__all__, list)
    for item in module.__all__:
        assert hasattr(module, item), item


def test_dependency_rule() -> None:
    """The gateway imports store, directory, relay, crypto: never server nor agent."""
    code = (
        "import sys, caducee.gateway; "
        "bad = [m for m in sys.modules if m.startswith(('caducee.server', 'caducee.agent'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_from_environment_routes_and_tls_rule() -> None:
    environ = {
        "CADUCEE_SMTP_OUTBOUND_ROUTES": "ch-exemple.mssante.fr=10.0.0.5:25, *=relay.test:2525",
        "CADUCEE_SMTP_OUTBOUND_RETRY_SECONDS": "1, 2.5",
        "CADUCEE_SMTP_DOVECOT_ENABLED": "oui",
        "CADUCEE_SMTP_IMAP_PORT": "1143",
        "CADUCEE_SMTP_OUTBOUND_CA_FILE": "/etc/ssl/certs/ca.pem",
    }
    config = GatewayConfig.from_settings(SimpleNamespace(mail_domain="x.test"), environ=environ)
    assert config.route("CH-exemple.mssante.fr") == ("10.0.0.5", 25)
    assert config.route("autre.fr") == ("relay.test", 2525)
    assert GatewayConfig().route("autre.fr") == ("autre.fr", 25)  # implicit MX
    assert config.outbound_retry_seconds == (1.0, 2.5)
    assert config.dovecot_enabled and config.imap_port == 1143
    assert config.outbound_ca_file == Path("/etc/ssl/certs/ca.pem")
    assert config.requires_tls("ch-exemple.mssante.fr") and config.requires_tls("mssante.fr")
    assert not config.requires_tls("mssante.fr.example.com")
    assert not config.requires_tls("labo.fr")
