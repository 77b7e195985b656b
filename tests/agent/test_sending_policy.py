"""The content policy on the sending side: the cache, the outbox's refusals and warnings.

A PDF alone is refused (STRICT: ``errors/`` with a reason in French then English) or sent
with a warning (ADVISORY); an HPRIM result without a full patient header likewise; a PDF
beside its HPRIM report travels with it, under a unique name in the inner message.
"""

from __future__ import annotations

import email
import json
from email import policy as email_policy
from pathlib import Path
from typing import Any, cast

import pytest

from caducee.agent.errors import NetworkError
from caducee.agent.outgoing import Prepared, Sender, build_inner_message
from caducee.agent.policy_cache import PolicyCache
from caducee.policy.content import PLATFORM_DEFAULT, ContentPolicy, Mode
from caducee.policy.errors import ContentRefused
from tests.agent.helpers import hprim_file
from tests.agent.test_outbox import FakeSender, drop, make_watcher

GP = "dr.testeur@caducee.test"
PDF = b"%PDF-1.7\n% compte rendu fictif\n%%EOF\n"
ADVISORY = ContentPolicy(pdf_only=Mode.ADVISORY, patient_header=Mode.ADVISORY)


class Source:
    """Stands for the server: answers a policy, or fails like an unreachable server."""

    def __init__(self, policy: ContentPolicy | None) -> None:
        self.policy = policy
        self.calls = 0

    def content_policy(self) -> dict[str, object]:
        self.calls += 1
        if self.policy is None:
            raise NetworkError("unreachable")
        return {"organisation": None, "default": False, "policy": json.loads(self.policy.to_json())}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_fetches_keeps_and_falls_back(tmp_path: Path) -> None:
    path, clock = tmp_path / "content-policy.json", Clock()
    offline = PolicyCache(Source(None), path, clock=clock)
    assert offline.current() == PLATFORM_DEFAULT and offline.origin == "default"

    source = Source(ADVISORY)
    cache = PolicyCache(source, path, clock=clock)
    assert cache.current() == ADVISORY and cache.origin == "server"
    assert ContentPolicy.from_json(path.read_bytes()) == ADVISORY
    clock.now = 3599
    cache.current()
    assert source.calls == 1  # not again within the hour
    source.policy = ContentPolicy()
    clock.now = 3600
    assert cache.current() == ContentPolicy() and source.calls == 2

    source.policy = None  # server gone: the last policy stays, retried a minute later
    clock.now = 7200
    assert cache.current() == ContentPolicy()
    clock.now = 7230
    cache.current()
    assert source.calls == 3

    restarted = PolicyCache(Source(None), path, clock=clock)  # a restart while offline
    assert restarted.current() == ContentPolicy() and restarted.origin == "cache"


class PolicySender(FakeSender):
    """A fake sender that applies the real ``Sender.check_content``."""

    def __init__(self, policy: ContentPolicy) -> None:
        super().__init__()
        any_: Any = None
        self.real = Sender(
            cast(Any, any_), address=self.address, certificate=any_, key=any_,
            validator=any_, policy=lambda: policy,
        )  # fmt: skip
        self.companions: list[list[str]] = []

    def prepare(  # type: ignore[override]
        self, to: list[str], name: str, data: bytes, *, message_id: str, **kw: Any
    ) -> Prepared:
        mates = kw.get("companions", [])
        warnings = self.real.check_content(name, data, mates)
        self.companions.append([n for n, _ in mates])
        base = super().prepare(to, name, data, message_id=message_id)
        return Prepared(base.message_id, base.recipients, base.date, base.der, warnings)


def _sidecar(root: Path, name: str) -> None:
    (root / "outbox" / f"{name}.to").write_text(GP)


def test_strict_pdf_only_goes_to_errors_with_a_bilingual_reason(tmp_path: Path) -> None:
    sender = PolicySender(PLATFORM_DEFAULT)
    watcher = make_watcher(tmp_path, sender)
    _sidecar(tmp_path, "cr.pdf")
    drop(tmp_path, "cr.pdf", PDF)
    outcomes = watcher.process_ready()
    assert [(o.state, o.reason) for o in outcomes] == [("failed", "content-refused")]
    assert sender.submitted == []
    assert sorted(p.name for p in (tmp_path / "errors").iterdir()) == [
        "cr.pdf", "cr.pdf.reason.txt", "cr.pdf.to",
    ]  # fmt: skip
    reason = (tmp_path / "errors" / "cr.pdf.reason.txt").read_text("utf-8")
    assert "code: content-refused" in reason
    assert reason.index("Français") < reason.index("English")
    assert "HPRIM" in reason and "PDF à côté" in reason and "PDF beside it" in reason


def test_advisory_pdf_only_is_sent_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sender = PolicySender(ADVISORY)
    watcher = make_watcher(tmp_path, sender)
    _sidecar(tmp_path, "cr.pdf")
    drop(tmp_path, "cr.pdf", PDF)
    (outcome,) = watcher.process_ready()
    assert outcome.state == "sent" and outcome.warnings == ("pdf-only",)
    record = watcher.journal.recent_outgoing()[0]
    assert record.state == "sent" and record.reason == "advisory: pdf-only"
    assert "advisory pdf-only" in caplog.text and "cr.pdf" not in caplog.text


def test_a_result_without_birth_date_is_refused(tmp_path: Path) -> None:
    data = hprim_file(GP, [("FICTIF", "ALICE")]).replace(b"17/05/1980", b"")
    watcher = make_watcher(tmp_path, PolicySender(PLATFORM_DEFAULT))
    drop(tmp_path, "r.hpr", data)
    assert [o.reason for o in watcher.process_ready()] == ["content-refused"]
    reason = (tmp_path / "errors" / "r.hpr.reason.txt").read_text("utf-8")
    assert "date de naissance" in reason and "birth date" in reason


def test_the_pdf_beside_an_hprim_report_travels_with_it(tmp_path: Path) -> None:
    sender = PolicySender(PLATFORM_DEFAULT)
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, "CR1.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    drop(tmp_path, "CR1.pdf", PDF)
    drop(tmp_path, "seul.pdf", PDF)
    _sidecar(tmp_path, "seul.pdf")
    outcomes = {o.name: o.state for o in watcher.process_ready()}
    assert outcomes == {"CR1.hpr": "sent", "seul.pdf": "failed"}
    assert sender.companions[0] == ["CR1.pdf"]
    assert sorted(p.name for p in (tmp_path / "sent").iterdir()) == ["CR1.hpr", "CR1.pdf"]


def test_inner_message_names_are_unique() -> None:
    from datetime import UTC, datetime

    raw = build_inner_message(
        sender="labo@caducee.test", recipients=[GP], filename="cr.hpr", data=b"x",
        message_id="m@caducee.test", date=datetime.now(UTC),
        companions=[("CR.HPR", b"y"), ("../cr.pdf", PDF), ("cr.pdf", PDF)],
    )  # fmt: skip
    message = email.message_from_bytes(raw, policy=email_policy.default)
    names = [part.get_filename() for part in message.iter_attachments()]  # type: ignore[attr-defined]
    assert names == ["cr.hpr", "CR-2.HPR", "cr.pdf", "cr-2.pdf"]


def test_sender_check_content_raises_for_strict() -> None:
    any_: Any = None
    sender = Sender(any_, address="l@caducee.test", certificate=any_, key=any_, validator=any_,
                    policy=lambda: PLATFORM_DEFAULT)  # fmt: skip
    with pytest.raises(ContentRefused):
        sender.check_content("cr.pdf", PDF)
    assert (
        Sender(any_, address="l@x", certificate=any_, key=any_, validator=any_).check_content(
            "cr.pdf", PDF
        )
        == ()
    )
