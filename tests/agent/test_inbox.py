"""The inbox writer: readable unique names, exclusive create, no overwrite, no duplicates."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.agent.inbox import (
    InboxWriter,
    document_name,
    hprim_label,
    safe_component,
    write_exclusive,
)
from caducee.agent.journal import Journal
from tests.agent.helpers import hprim_document, hprim_file

WHEN = datetime(2026, 1, 2, 3, 4, 5)
SAFE = re.compile(r"^[A-Za-z0-9.\-]+$")
GP = "dr.testeur@caducee.test"


@pytest.fixture
def writer(tmp_path: Path) -> InboxWriter:
    journal = Journal(tmp_path / "journal.sqlite")
    return InboxWriter(
        journal,
        inbox=tmp_path / "inbox",
        archive=tmp_path / "archive",
        quarantine=tmp_path / "quarantine",
    )


def test_document_name_is_readable_ascii() -> None:
    name = document_name(
        WHEN, "labo.fictif@caducee.test", "ÉLÉONORE d'Été", "3f2a9c01deadbeef@x", "hpr"
    )
    assert name == "20260102-030405_labo.fictif_ELEONORE-d-Ete_3f2a9c01.hpr"


@given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=50), st.text(max_size=12))
@settings(max_examples=200, deadline=None)
def test_names_are_always_safe(sender: str, label: str, message_id: str, ext: str) -> None:
    name = document_name(WHEN, sender, label, message_id, ext)
    assert name.isascii() and "/" not in name and "\x00" not in name
    assert len(name) <= 16 + 3 * 41 + 11
    stem, ext_part = name.rsplit(".", 1)
    assert ext_part and SAFE.match(ext_part)
    for piece in stem.split("_"):
        assert SAFE.match(piece), name


@given(st.text(max_size=300), st.integers(min_value=1, max_value=60))
def test_safe_component(text: str, limit: int) -> None:
    piece = safe_component(text, limit=limit)
    assert SAFE.match(piece)
    assert len(piece) <= max(limit, len("document"))
    assert not piece.startswith((".", "-"))


def test_write_exclusive_never_overwrites(tmp_path: Path) -> None:
    first = write_exclusive(tmp_path, "a.hpr", b"one")
    second = write_exclusive(tmp_path, "a.hpr", b"two")
    third = write_exclusive(tmp_path, "a.hpr", b"three")
    assert [first.name, second.name, third.name] == ["a.hpr", "a-2.hpr", "a-3.hpr"]
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.hpr", "a-3.hpr", "a.hpr"]


def test_write_exclusive_leaves_no_temporary_file_on_failure(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_exclusive(tmp_path, "a.hpr", "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_same_content_is_recorded_not_written_twice(writer: InboxWriter) -> None:
    args = {"sender": "labo@x.test", "label": "FICTIF", "ext": "hpr", "when": WHEN}
    first = writer.write_document(b"contenu", message_id="aaaa1111", **args)
    again = writer.write_document(b"contenu", message_id="bbbb2222", **args)
    other = writer.write_document(b"autre", message_id="aaaa1111", **args)
    assert first is not None and again is None and other is not None
    assert first != other
    assert writer.journal.duplicate_count() == 1
    assert len(list(writer.inbox.iterdir())) == 2


def test_hprim_file_is_split_one_document_per_file(writer: InboxWriter) -> None:
    data = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO"), ("TROISIEME", "CELINE")])
    delivered = writer.deliver(
        [("res.hpr", data)], sender="labo@x.test", message_id="m1", when=WHEN
    )
    assert len(delivered.written) == 3 and delivered.duplicates == 0
    labels = sorted(p.name.split("_")[2] for p in delivered.written)
    assert labels == ["ESSAI-BRUNO", "FICTIF-ALICE", "TROISIEME-CELINE"]
    for path in delivered.written:
        body = path.read_bytes()
        assert body.count(b"****FIN****\r\n") == 1 and body.endswith(b"****FINFICHIER****\r\n")
    again = writer.deliver([("res.hpr", data)], sender="labo@x.test", message_id="m2", when=WHEN)
    assert again.written == () and again.duplicates == 3


def test_original_format_keeps_the_file_whole(tmp_path: Path) -> None:
    writer = InboxWriter(
        Journal(tmp_path / "j.sqlite"),
        inbox=tmp_path / "in",
        archive=tmp_path / "ar",
        quarantine=tmp_path / "q",
        split=False,
    )
    data = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO")])
    delivered = writer.deliver([("res.hpr", data)], sender="l@x.test", message_id="m", when=WHEN)
    assert [p.read_bytes() for p in delivered.written] == [data]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-8-sig"])
def test_accented_patient_names_are_named_alike_in_every_encoding(
    writer: InboxWriter, encoding: str
) -> None:
    data = hprim_document("TESTUTF-ÉLODIE", "FICTIF", GP).encode(encoding)
    delivered = writer.deliver(
        [("res.hpr", data)], sender="labo@x.test", message_id="m1", when=WHEN
    )
    [path] = delivered.written
    assert path.name.split("_")[2] == "TESTUTF-ELODIE-FICTIF"  # accents dropped, letters kept
    assert hprim_label(data) == "TESTUTF-ÉLODIE-FICTIF"


def test_hprim_label_falls_back_to_file_number() -> None:
    assert hprim_label(b"123\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nD26000001\r\n") == "D26000001"
    assert hprim_label(b"") == "document"


def test_quarantine_keeps_ciphertext_and_reason(writer: InboxWriter) -> None:
    path = writer.quarantine("m1@x.test", b"\x30\x00", "the signature does not verify", "sig")
    again = writer.quarantine("m1@x.test", b"\x30\x01", "second", "sig")
    assert path.read_bytes() == b"\x30\x00" and again != path
    reasons = sorted(p.name for p in writer.quarantine_dir.glob("*.reason.txt"))
    assert reasons == ["m1-x.test-2.reason.txt", "m1-x.test.reason.txt"]


def test_archive_is_idempotent(writer: InboxWriter) -> None:
    first = writer.archive("m1", b"cipher")
    assert writer.archive("m1", b"cipher") == first
    assert len(list(writer.archive_dir.iterdir())) == 1


def test_the_same_message_again_after_a_crash_is_not_a_duplicate(writer: InboxWriter) -> None:
    args = {"sender": "labo@x.test", "label": "FICTIF", "ext": "hpr", "when": WHEN}
    assert writer.write_document(b"contenu", message_id="m1", **args) is not None
    assert writer.write_document(b"contenu", message_id="m1", **args) is None
    assert writer.journal.duplicate_count() == 0


def _crash_after_writing(writer: InboxWriter, data: bytes, message_id: str, name: str) -> Path:
    """What a kill -9 between the file's link and the journal's commit leaves behind."""
    import hashlib

    writer.journal.plan_document(hashlib.sha256(data).hexdigest(), message_id, "inbox", name)
    return write_exclusive(writer.inbox, name, data)


def test_a_write_interrupted_after_the_file_is_found_not_made_twice(writer: InboxWriter) -> None:
    args = {"sender": "labo@x.test", "label": "FICTIF", "ext": "hpr", "when": WHEN}
    name = document_name(WHEN, "labo@x.test", "FICTIF", "m1", "hpr")
    write_exclusive(writer.inbox, name, b"un autre document du meme nom")  # name is taken
    written = _crash_after_writing(writer, b"contenu", "m1", name)
    assert written.name != name  # it went to name-2
    again = writer.write_document(b"contenu", message_id="m1", **args)  # after the restart
    assert again == written
    assert sorted(p.name for p in writer.inbox.iterdir()) == sorted([name, written.name])
    assert (
        writer.journal.planned_document(__import__("hashlib").sha256(b"contenu").hexdigest())
        is None
    )
    assert writer.write_document(b"contenu", message_id="m2", **args) is None  # a real duplicate
    assert writer.journal.duplicate_count() == 1


def test_a_write_interrupted_before_the_file_writes_it(writer: InboxWriter) -> None:
    import hashlib

    args = {"sender": "labo@x.test", "label": "FICTIF", "ext": "hpr", "when": WHEN}
    name = document_name(WHEN, "labo@x.test", "FICTIF", "m1", "hpr")
    writer.journal.plan_document(hashlib.sha256(b"contenu").hexdigest(), "m1", "inbox", name)
    written = writer.write_document(b"contenu", message_id="m1", **args)
    assert written is not None and written.read_bytes() == b"contenu"
    assert [p.name for p in writer.inbox.iterdir()] == [name]


def test_a_batch_is_all_or_nothing(writer: InboxWriter) -> None:
    journal = writer.journal
    with pytest.raises(RuntimeError), journal.batch():
        journal.record_document("a" * 64, "m1", "x.hpr")
        journal.set("cursor", "9")
        raise RuntimeError("crash")
    assert journal.document_path("a" * 64) is None and journal.cursor == 0
    with journal.batch():
        journal.record_document("a" * 64, "m1", "x.hpr")
        journal.cursor = 9
    assert journal.document_path("a" * 64) == "x.hpr" and journal.cursor == 9
