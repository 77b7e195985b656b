"""Agent settings, the key store and the journal's small values."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from caducee.agent.config import AgentConfig
from caducee.agent.errors import ConfigError, KeystoreError
from caducee.agent.journal import Journal
from caducee.agent.keystore import PASSPHRASE_ENV, build_csr, create_key, load_key, read_secret


def test_settings_round_trip_and_relative_paths(tmp_path: Path) -> None:
    config = AgentConfig(
        directory=tmp_path, server="http://s.test", address="a@b.test", inbox="/srv/in"
    )
    config.save()
    loaded = AgentConfig.load(tmp_path)
    assert loaded == config
    assert loaded.folder("outbox") == tmp_path / "outbox"
    assert loaded.folder("inbox") == Path("/srv/in")
    assert not loaded.key_is_token
    assert loaded.with_changes(key="pkcs11:token=CPS;object=sig").key_is_token


def test_toml_settings_are_read(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(
        'server = "http://s.test"\naddress = "a@b.test"\noutput_format = "original"\nlocal = 1\n'
    )
    config = AgentConfig.load(tmp_path)
    assert config.output_format == "original" and config.extra == {"local": 1}


@pytest.mark.parametrize(
    "content",
    [
        '{"server": "http://s.test"}',
        '{"server": "x", "address": "a@b", "output_format": "pdf"}',
        "{",
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "agent.json").write_text(content)
    with pytest.raises(ConfigError):
        AgentConfig.load(tmp_path)


def test_missing_folder_says_to_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="caducee agent init"):
        AgentConfig.load(tmp_path)


def test_key_file_created_once_and_reopened(tmp_path: Path) -> None:
    config = AgentConfig(directory=tmp_path, server="http://s.test", address="a@b.test")
    key = create_key(config, b"phrase de test")
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(KeystoreError):
        create_key(config, b"phrase de test")  # never overwritten
    again = load_key(config, b"phrase de test")
    assert again.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(KeystoreError) as caught:
        load_key(config, b"mauvaise phrase")
    assert "mauvaise" not in str(caught.value)
    csr = x509.load_pem_x509_csr(build_csr(key, "a@b.test").encode())
    assert csr.is_signature_valid


def test_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "depuis-env")
    assert read_secret() == b"depuis-env"
    monkeypatch.delenv(PASSPHRASE_ENV)
    assert read_secret(prompt=lambda _label: "tapée") == "tapée".encode()
    answers = iter(["une", "autre"])
    with pytest.raises(KeystoreError, match="differ"):
        read_secret(confirm=True, prompt=lambda _label: next(answers))


def test_journal_cursor_and_outgoing_state(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        assert journal.cursor == 0
        journal.cursor = 7
        first = journal.begin_outgoing("ab" * 32, "r.hpr", "id-1")
        again = journal.begin_outgoing("ab" * 32, "r.hpr", "id-2")
        assert first.message_id == again.message_id == "id-1"
        journal.finish_outgoing("ab" * 32, "r.hpr", state="sent", recipients=("x@y.test",))
    with Journal(tmp_path / "j.sqlite") as reopened:
        assert reopened.cursor == 7
        record = reopened.outgoing("ab" * 32, "r.hpr")
        assert record is not None and record.state == "sent" and record.recipients == ("x@y.test",)


def test_a_key_on_a_token_is_created_there_and_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SoftHSM2 as the token: the key is generated on it, then signs a CSR and a challenge."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from caducee.agent.client import sign_challenge
    from caducee.agent.keystore import PIN_ENV
    from tests.softhsm import PIN, softhsm_token

    with softhsm_token(tmp_path / "hsm", "AGENT-TEST"):
        config = AgentConfig(
            directory=tmp_path, server="http://s.test", address="a@b.test",
            key="pkcs11:token=AGENT-TEST;object=caducee-agent",
        )  # fmt: skip
        monkeypatch.setenv(PIN_ENV, PIN)
        created = create_key(config, read_secret(token=True))
        opened = load_key(config)
        public = opened.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.public_numbers() == created.public_key().public_numbers()  # type: ignore[union-attr]
        assert not (tmp_path / "key.pem").exists()
        csr = x509.load_pem_x509_csr(build_csr(opened, "a@b.test").encode())
        assert csr.is_signature_valid
        signature = base64.b64decode(sign_challenge(opened, "défi"))
        public.verify(signature, "défi".encode(), padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(KeystoreError):
            load_key(config, b"000000")


def test_journals_opened_at_once_by_several_threads(tmp_path: Path) -> None:
    """The outbox and sync loops and the pages open the same new journal at start: each open
    succeeds (switching a new file to WAL once failed "database is locked" in the demo's CI
    run; without the retry, about 1 open in 70 failed here)."""
    import threading

    failures: list[BaseException] = []
    for attempt in range(60):
        path = tmp_path / str(attempt) / "journal.sqlite"
        barrier = threading.Barrier(6)

        def open_one(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                Journal(path).close()
            except BaseException as exc:  # pragma: no cover - what the test is about
                failures.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    with Journal(tmp_path / "0" / "journal.sqlite") as journal:  # and the file is whole
        assert journal.recent_outgoing() == [] and journal.incoming_state("absent") is None
