"""The outbox watcher: stable files only, sent once (even across restarts), errors beside."""

from __future__ import annotations

import os
import random
import string
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest

from caducee.agent.errors import NetworkError, RecipientError, ServerError
from caducee.agent.journal import Journal
from caducee.agent.outbox import OutboxWatcher
from caducee.agent.outgoing import Prepared, Sender, SendResult
from caducee.agent.reasons import REASONS, reason_line, reason_text
from tests.agent.helpers import hprim_document, hprim_file

GP = "dr.testeur@caducee.test"


class FakeSender:
    """Stands for ``Sender``: records what would be sent; can fail on demand."""

    address = "labo.fictif@caducee.test"

    def __init__(self, delay: float = 0.0) -> None:
        self.prepared: list[Prepared] = []
        self.submitted: list[Prepared] = []
        self.failures: list[Exception] = []
        self.fail_file: dict[str, Exception] = {}  # by file name, whatever the order
        self.names: dict[str, str] = {}
        self.delay = delay
        self.active = self.most_active = 0
        self._lock = threading.Lock()

    def prepare(self, to: list[str], name: str, data: bytes, *, message_id: str) -> Prepared:
        if any(not a.endswith("@caducee.test") for a in to):
            raise RecipientError(f"no valid certificate for {to[0]}")
        prepared = Prepared(message_id, tuple(to), "date", os.urandom(32))
        self.prepared.append(prepared)
        self.names[message_id] = name
        return prepared

    def submit(self, prepared: Prepared) -> SendResult:
        with self._lock:
            self.submitted.append(prepared)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay)  # a server's round trip
            failure = self.fail_file.pop(self.names.get(prepared.message_id, ""), None)
            if failure is not None:
                raise failure
            if self.failures:
                raise self.failures.pop(0)
            return SendResult(prepared.message_id, prepared.recipients, "0" * 64)
        finally:
            with self._lock:
                self.active -= 1


def make_watcher(root: Path, sender: Any, settle: float = 0.0, workers: int = 4) -> OutboxWatcher:
    (root / "outbox").mkdir(exist_ok=True)
    return OutboxWatcher(
        sender,
        Journal(root / "journal.sqlite"),
        outbox=root / "outbox",
        sent=root / "sent",
        errors=root / "errors",
        pending=root / "pending",
        settle=settle,
        workers=workers,
    )


def drop(root: Path, name: str, data: bytes, age: float = 10.0) -> Path:
    path = root / "outbox" / name
    path.write_bytes(data)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


def test_a_file_is_sent_then_moved_to_sent(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, "r.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    outcomes = watcher.process_ready()
    assert [o.state for o in outcomes] == ["sent"]
    assert sender.submitted[0].recipients == (GP,)
    assert [p.name for p in (tmp_path / "sent").iterdir()] == ["r.hpr"]
    assert list((tmp_path / "outbox").iterdir()) == []
    assert list((tmp_path / "pending").iterdir()) == []


def test_a_file_still_being_written_waits(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender, settle=0.3)
    path = drop(tmp_path, "r.hpr", b"partial", age=0)
    assert watcher.ready() == []  # just written
    old = time.time() - 10
    os.utime(path, (old, old))  # even with an old mtime, a change restarts the clock
    assert watcher.ready() == []
    with path.open("ab") as handle:
        handle.write(b" more")
    assert watcher.ready() == []
    time.sleep(0.4)
    assert watcher.ready() == [path]


def test_temporary_hidden_and_sidecar_files_are_ignored(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    for name in (".cache", "x.tmp", "x.part", "x.hpr~", "x.hpr.to"):
        drop(tmp_path, name, b"x")
    assert watcher.ready() == []


def test_a_restart_never_sends_twice(tmp_path: Path, sender: FakeSender) -> None:
    data = hprim_file(GP, [("FICTIF", "ALICE")])
    make_watcher(tmp_path, sender).journal.close()
    first = make_watcher(tmp_path, sender)
    drop(tmp_path, "r.hpr", data)
    assert [o.state for o in first.process_ready()] == ["sent"]
    first.journal.close()
    # The practice software drops the very same file again; the agent was restarted.
    second = make_watcher(tmp_path, sender)
    drop(tmp_path, "r.hpr", data)
    assert [o.state for o in second.process_ready()] == ["already-sent"]
    assert len(sender.submitted) == 1
    assert sorted(p.name for p in (tmp_path / "sent").iterdir()) == [
        "r-2.hpr", "r-2.hpr.reason.txt", "r.hpr",
    ]  # fmt: skip


def test_a_network_failure_retries_the_same_ciphertext(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    sender.failures.append(NetworkError("down"))
    drop(tmp_path, "r.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    assert [o.state for o in watcher.process_ready()] == ["postponed"]
    assert len(list((tmp_path / "outbox").iterdir())) == 1
    watcher.journal.close()
    restarted = make_watcher(tmp_path, sender)  # a crash between two attempts
    assert [o.state for o in restarted.process_ready()] == ["sent"]
    assert len(sender.prepared) == 1  # encrypted once
    assert sender.submitted[0] == sender.submitted[1]  # same id, same bytes: idempotent


def test_no_recipient_goes_to_errors_with_a_reason(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, "anonyme.pdf", b"%PDF-1.7 fictif")
    assert [o.state for o in watcher.process_ready()] == ["failed"]
    reason = (tmp_path / "errors" / "anonyme.pdf.reason.txt").read_text()
    assert "code: no-recipient" in reason
    _assert_bilingual(reason)
    assert "ligne 12" in reason and "line 12" in reason and "anonyme.pdf.to" in reason
    assert (tmp_path / "errors" / "anonyme.pdf").read_bytes() == b"%PDF-1.7 fictif"
    assert sender.submitted == []


def test_a_refusal_goes_to_errors_with_its_sidecar(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    sender.failures.append(ServerError("403 no", status=403, code="not-allowed"))
    drop(tmp_path, "cr.pdf", b"%PDF-1.7 fictif")
    drop(tmp_path, "cr.pdf.to", f"{GP}\n".encode())
    assert [o.reason for o in watcher.process_ready()] == ["not-allowed"]
    assert sorted(p.name for p in (tmp_path / "errors").iterdir()) == [
        "cr.pdf",
        "cr.pdf.reason.txt",
        "cr.pdf.to",
    ]
    assert watcher.journal.outgoing(*_key(tmp_path / "errors" / "cr.pdf")).state == "failed"  # type: ignore[union-attr]


def test_a_server_error_5xx_is_retried_later(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    sender.failures.append(ServerError("503", status=503))
    drop(tmp_path, "cr__to__dr.testeur@caducee.test.pdf", b"%PDF")
    assert [o.state for o in watcher.process_ready()] == ["postponed"]
    assert [o.state for o in watcher.process_ready()] == ["sent"]


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, "a.pdf", b"%PDF")
    drop(tmp_path, "b__to__x@ailleurs.test.pdf", b"%PDF")
    drop(tmp_path, "c.pdf.to", GP.encode())
    drop(tmp_path, "c.pdf", b"%PDF c")
    states = {o.name: o.state for o in watcher.process_ready()}
    assert states == {"a.pdf": "failed", "b__to__x@ailleurs.test.pdf": "failed", "c.pdf": "sent"}


def _key(path: Path) -> tuple[str, str]:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest(), path.name


def test_an_unexpected_bug_does_not_stop_the_outbox(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    sender.fail_file["a__to__dr.testeur@caducee.test.pdf"] = RuntimeError("bug")
    drop(tmp_path, "a__to__dr.testeur@caducee.test.pdf", b"%PDF a")
    drop(tmp_path, "b__to__dr.testeur@caducee.test.pdf", b"%PDF b")
    assert [o.state for o in watcher.process_ready()] == ["postponed", "sent"]
    assert [o.state for o in watcher.process_ready()] == ["sent"]


def test_a_burst_is_sent_in_parallel_each_file_once(tmp_path: Path) -> None:
    """60 files, 50 ms per submission, 6 workers: well under the 3 s one at a time would take."""
    sender = FakeSender(delay=0.05)
    watcher = make_watcher(tmp_path, sender, workers=6)
    names = [f"r{n:02d}__to__dr.testeur@caducee.test.pdf" for n in range(60)]
    for number, name in enumerate(names):
        drop(tmp_path, name, b"%PDF " + str(number).encode())
    started = time.monotonic()
    outcomes = watcher.process_ready()
    elapsed = time.monotonic() - started
    assert [o.name for o in outcomes] == names and {o.state for o in outcomes} == {"sent"}
    assert elapsed < 1.5, f"not parallel: {elapsed:.2f} s"
    assert 1 < sender.most_active <= 6  # parallel, and bounded by the pool
    ids = [p.message_id for p in sender.submitted]
    assert len(ids) == len(set(ids)) == 60
    assert sorted(p.name for p in (tmp_path / "sent").iterdir()) == names
    assert watcher.process_ready() == []  # nothing left, nothing sent twice


def test_a_file_in_flight_is_not_dispatched_again(tmp_path: Path) -> None:
    sender = FakeSender(delay=0.3)
    watcher = make_watcher(tmp_path, sender, workers=2)
    drop(tmp_path, "a__to__dr.testeur@caducee.test.pdf", b"%PDF a")
    first = watcher.dispatch()
    assert len(first) == 1
    assert watcher.dispatch() == []  # still being sent: not handed to a second worker
    assert [o.state for o in (f.result() for f in first)] == ["sent"]
    assert [o.state for o in watcher.reap()] == ["sent"]
    assert watcher.dispatch() == [] and len(sender.submitted) == 1


def test_the_watch_loop_sends_files_dropped_while_it_runs(tmp_path: Path) -> None:
    sender = FakeSender()
    watcher = make_watcher(tmp_path, sender, settle=0.2)
    stop = threading.Event()
    loop = threading.Thread(target=watcher.run, args=(stop,))
    loop.start()
    try:
        for number in range(10):
            drop(tmp_path, f"r{number}__to__dr.testeur@caducee.test.pdf", b"%PDF" + bytes([number]))
        deadline = time.monotonic() + 10
        while len(list((tmp_path / "sent").glob("*.pdf"))) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert len(list((tmp_path / "sent").glob("*.pdf"))) == 10
    assert len(sender.submitted) == 10 and not loop.is_alive()


def _reason(root: Path, name: str, folder: str = "errors") -> str:
    return (root / folder / f"{name}.reason.txt").read_text("utf-8")


def _assert_bilingual(reason: str) -> None:
    """The reason line and the text below it: French first, then English."""
    line = next(x for x in reason.splitlines() if x.startswith("reason: "))
    assert " / " in line, line
    assert reason.index("Français :") < reason.index("English:"), reason


def test_a_file_dropped_again_gets_a_note_saying_it_was_not_sent_again(
    tmp_path: Path, sender: FakeSender
) -> None:
    watcher = make_watcher(tmp_path, sender)
    data = hprim_file(GP, [("FICTIF", "ALICE")])
    drop(tmp_path, "r.hpr", data)
    [first] = watcher.process_ready()
    assert list((tmp_path / "sent").glob("*.reason.txt")) == []  # a first send needs no note
    drop(tmp_path, "r.hpr", data)
    assert [o.state for o in watcher.process_ready()] == ["already-sent"]
    assert len(sender.submitted) == 1
    note = _reason(tmp_path, "r-2.hpr", "sent")
    assert "code: already-sent" in note and f"message_id: {first.message_id}" in note
    _assert_bilingual(note)
    sent_at = watcher.journal.recent_outgoing(1)[0].updated_at
    assert sent_at[:10] in note and note.count(first.message_id) >= 3
    assert "n'a PAS été envoyé une seconde fois" in note and "was NOT sent again" in note
    assert "renommez-le" in note and "rename it" in note


def test_an_empty_file_is_never_sent(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, "vide__to__dr.testeur@caducee.test.hpr", b"")
    drop(tmp_path, "blanc.hpr", b"\r\n  \r\n")
    drop(tmp_path, "blanc.hpr.to", GP.encode())
    outcomes = {o.name: (o.state, o.reason) for o in watcher.process_ready()}
    assert outcomes == {
        "vide__to__dr.testeur@caducee.test.hpr": ("failed", "empty-file"),
        "blanc.hpr": ("failed", "empty-file"),
    }
    assert sender.submitted == []
    reason = _reason(tmp_path, "blanc.hpr")
    assert "code: empty-file" in reason and "vide" in reason and "empty" in reason
    _assert_bilingual(reason)


def test_a_file_the_agent_may_not_read_goes_to_errors_with_its_reason(
    tmp_path: Path, sender: FakeSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, whom no file mode stops: the refusal the kernel gives an agent
    running as a plain user is raised here in its place (a stand-in, said so)."""
    watcher = make_watcher(tmp_path, sender)
    locked = drop(tmp_path, "verrouille.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    drop(tmp_path, "lisible.hpr", hprim_file(GP, [("ESSAI", "BRUNO")]))
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    outcomes = {o.name: (o.state, o.reason) for o in watcher.process_ready()}
    assert outcomes["verrouille.hpr"] == ("failed", "unreadable-file")
    assert outcomes["lisible.hpr"][0] == "sent"  # the others go on
    assert not locked.exists() and (tmp_path / "errors" / "verrouille.hpr").exists()  # kept
    reason = _reason(tmp_path, "verrouille.hpr")
    assert "code: unreadable-file" in reason and "sha256: (unreadable)" in reason
    assert "technical: PermissionError: Permission denied" in reason
    assert "droit de lecture" in reason and "read access" in reason
    _assert_bilingual(reason)
    assert len(sender.submitted) == 1


def test_a_binary_of_no_known_format_is_told_so(tmp_path: Path, sender: FakeSender) -> None:
    watcher = make_watcher(tmp_path, sender)
    noise = random.Random(7).randbytes(3 * 1024)
    drop(tmp_path, "export.dat", noise)
    assert [o.reason for o in watcher.process_ready()] == ["unrecognised-format"]
    reason = _reason(tmp_path, "export.dat")
    assert "Format non reconnu" in reason and "Unrecognised format" in reason
    assert "caducee formats validate" in reason and "export.dat.to" in reason
    _assert_bilingual(reason)
    # With its recipient beside it, the same binary is sent as it is.
    drop(tmp_path, "autre.dat", noise + b"2")
    drop(tmp_path, "autre.dat.to", GP.encode())
    assert [o.state for o in watcher.process_ready()] == ["sent"]


def test_documents_for_different_recipients_have_their_own_code(
    tmp_path: Path, sender: FakeSender
) -> None:
    watcher = make_watcher(tmp_path, sender)
    data = hprim_document("FICTIF", "ALICE", GP) + hprim_document(
        "ESSAI", "BRUNO", "autre.medecin@caducee.test"
    )
    drop(tmp_path, "r.hpr", data.encode("cp1252"))
    assert [o.reason for o in watcher.process_ready()] == ["mixed-recipients"]
    reason = _reason(tmp_path, "r.hpr")
    assert "destinataires différents" in reason and "different recipients" in reason
    assert "un fichier par destinataire" in reason and "one file per recipient" in reason
    _assert_bilingual(reason)


def test_an_unknown_recipient_is_a_sentence_not_an_http_status(
    tmp_path: Path, sender: FakeSender
) -> None:
    watcher = make_watcher(tmp_path, sender)
    unknown = "personne.inconnue@caducee.test"
    sender.failures.append(
        ServerError(f"404 no mailbox {unknown}", status=404, code="unknown-mailbox")
    )
    drop(tmp_path, f"cr__to__{unknown}.pdf", b"%PDF-1.7 fictif")
    assert [o.reason for o in watcher.process_ready()] == ["unknown-mailbox"]
    reason = _reason(tmp_path, f"cr__to__{unknown}.pdf")
    assert "404" not in reason and "no mailbox" not in reason
    assert f"Adresse inconnue de l'annuaire Caducée : {unknown}." in reason
    assert f"Address unknown to the Caducée directory: {unknown}." in reason
    _assert_bilingual(reason)


def test_a_refusal_the_table_does_not_know_still_says_what_to_do(
    tmp_path: Path, sender: FakeSender
) -> None:
    watcher = make_watcher(tmp_path, sender)
    sender.failures.append(ServerError("409 conflict", status=409, code="nouveau-code"))
    drop(tmp_path, "cr__to__dr.testeur@caducee.test.pdf", b"%PDF-1.7 fictif")
    assert [o.reason for o in watcher.process_ready()] == ["nouveau-code"]
    reason = _reason(tmp_path, "cr__to__dr.testeur@caducee.test.pdf")
    assert "409" not in reason and "support" in reason and "déposez le fichier" in reason
    _assert_bilingual(reason)


class NoCertificates:
    """Stands for the directory: the address is known, with no certificate to encrypt to."""

    def certificates(self, address: str) -> list[object]:
        return []


def test_a_recipient_without_a_valid_certificate_has_its_own_code(tmp_path: Path) -> None:
    unused: Any = None
    sender = Sender(
        cast(Any, NoCertificates()), address="labo.fictif@caducee.test",
        certificate=unused, key=unused, validator=unused,
    )  # fmt: skip
    watcher = make_watcher(tmp_path, sender)
    drop(tmp_path, f"cr__to__{GP}.pdf", b"%PDF-1.7 fictif")
    assert [o.reason for o in watcher.process_ready()] == ["no-valid-certificate"]
    reason = _reason(tmp_path, f"cr__to__{GP}.pdf")
    assert f"Aucun certificat valide pour {GP}" in reason
    assert f"No valid certificate for {GP}" in reason
    assert f"technical: no valid certificate for {GP}" in reason
    _assert_bilingual(reason)


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_is_french_then_english_and_complete(code: str) -> None:
    french_template, english_template = REASONS[code]
    fields = {f for t in REASONS[code] for _, f, _, _ in string.Formatter().parse(t) if f}
    assert fields <= {"addresses", "count", "limit", "cues", "sidecar", "date", "message_id"}
    assert french_template != english_template
    text = reason_text(code, **{f: f"<{f}>" for f in fields})
    french, _, english = text.partition("\n\nEnglish:\n")
    assert french.startswith("Français :\n") and english.strip()
    assert "{" not in text and "}" not in text
    assert "\n" not in reason_line(code, **{f: f"<{f}>" for f in fields})
