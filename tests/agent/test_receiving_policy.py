"""The receiving side: flags, the practice's output format, patient matching and the queue.

Every patient and every list here is invented.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from caducee.agent.config import AgentConfig
from caducee.agent.errors import ConfigError, InboxError
from caducee.agent.inbox import InboxWriter
from caducee.agent.incoming import flags_of
from caducee.agent.journal import Journal
from caducee.agent.tomatch import MATCH_SUFFIX, PatientList
from tests.agent.helpers import hprim_file

WHEN = datetime(2026, 1, 2, 3, 4, 5)
GP = "dr.testeur@caducee.test"
LAB = "labo.fictif@caducee.test"
PDF = b"%PDF-1.7\n% compte rendu fictif\n%%EOF\n"
CSV = (
    "Identifiant;Nom;Prénom;Date de naissance\n"
    "P001;FICTIF;ALICE;17/05/1980\n"
    "P002;ESSAI;BRUNO;17/05/1980\n"
    "P003;ESSAI;BRUNA;17/05/1980\n"
)


def _writer(root: Path, output_format: str = "split", csv: str | None = CSV) -> InboxWriter:
    patients = None
    if csv is not None:
        (root / "patients.csv").write_text(csv, "utf-8")
        patients = PatientList(root / "patients.csv").patients
    return InboxWriter(
        Journal(root / "journal.sqlite"),
        inbox=root / "inbox",
        archive=root / "archive",
        quarantine=root / "quarantine",
        output_format=output_format,
        to_match=root / "to-match",
        patients=patients,
    )


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_flags_of_received_messages(tmp_path: Path) -> None:
    assert flags_of([("cr.pdf", PDF)]) == {"pdf-only"}
    both = flags_of([("cr.hpr", hprim_file(GP, [("FICTIF", "ALICE")])), ("cr.pdf", PDF)])
    assert both == {"structured"}
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.record_flags("m1", {"pdf-only"})
        journal.record_document("ab" * 32, "m1", "cr.pdf")
        assert journal.document_flags() == {"cr.pdf": {"pdf-only"}}
        assert journal.flags_of("m1") == {"pdf-only"}


def test_exact_uncertain_and_none(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    data = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO"), ("INCONNU", "ZOE")])
    delivered = writer.deliver([("r.hpr", data)], sender=LAB, message_id="abcdef0123@x", when=WHEN)
    assert sorted(p.name for p in delivered.written) == [
        "20260102-030405_labo.fictif_FICTIF-ALICE_abcdef01_pat-P001.hpr",  # EXACT: the id
        "20260102-030405_labo.fictif_INCONNU-ZOE_abcdef01.hpr",  # NONE: no id
    ]
    (queued,) = delivered.queued  # UNCERTAIN (a near twin): never into the inbox
    assert queued.parent == tmp_path / "to-match" and "ESSAI-BRUNO" in queued.name
    about = json.loads((tmp_path / "to-match" / (queued.name + MATCH_SUFFIX)).read_text())
    assert {c[0] for c in about["candidates"]} == {"P002", "P003"}

    entry = writer.queue.entry(queued.name)
    assert entry is not None and entry.reason == "near-twin"
    with pytest.raises(InboxError):
        writer.queue.resolve(queued.name, "P001")  # not a candidate: refused
    filed = writer.queue.resolve(queued.name, "P002")
    assert filed.name.endswith("_pat-P002.hpr") and filed.parent == tmp_path / "inbox"
    assert _names(tmp_path / "to-match") == []
    digest = hashlib.sha256(filed.read_bytes()).hexdigest()
    assert writer.journal.document_path(digest) == filed.name
    with pytest.raises(InboxError):
        writer.queue.resolve(queued.name, None)  # already filed

    again = writer.deliver([("r.hpr", data)], sender=LAB, message_id="abcdef0123@x", when=WHEN)
    assert again.written == () and again.queued == ()  # a redelivery writes nothing twice


def test_new_patient_and_companion_pdf(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    report = hprim_file(GP, [("ESSAI", "BRUNO")])
    delivered = writer.deliver(
        [("r.hpr", report), ("r.pdf", PDF)], sender=LAB, message_id="m2", when=WHEN
    )
    assert delivered.written == () and len(delivered.queued) == 2  # the PDF follows its report
    hpr = next(p for p in delivered.queued if p.suffix == ".hpr")
    filed = writer.queue.resolve(hpr.name, None)
    assert "_pat-" not in filed.name
    exact = writer.deliver(
        [("s.hpr", hprim_file(GP, [("FICTIF", "ALICE")], tag="7")), ("s.pdf", PDF + b" ")],
        sender=LAB, message_id="m3", when=WHEN,
    )  # fmt: skip
    assert sorted(p.suffix for p in exact.written) == [".hpr", ".pdf"]
    assert all(p.stem.endswith("_pat-P001") for p in exact.written)


def test_no_list_or_a_broken_list_matches_nobody(tmp_path: Path) -> None:
    data = hprim_file(GP, [("ESSAI", "BRUNO")])
    (tmp_path / "a").mkdir()
    plain = _writer(tmp_path / "a", csv=None)
    assert len(plain.deliver([("r.hpr", data)], sender=LAB, message_id="m", when=WHEN).written)
    (tmp_path / "b").mkdir()
    broken = _writer(tmp_path / "b", csv="nothing useful\n1;2\n")
    assert len(broken.deliver([("r.hpr", data)], sender=LAB, message_id="m", when=WHEN).written)
    listing = PatientList(tmp_path / "b" / "patients.csv")
    assert listing.patients() is None
    (tmp_path / "b" / "patients.csv").write_text(CSV + "P004;NOUVEAU;NINA;01/01/2001\n")
    patients = listing.patients()  # read again once the file changed
    assert patients is not None and len(patients) == 4


@pytest.mark.parametrize(
    ("target", "ext", "head"), [("hl7", ".hl7", b"MSH|"), ("fhir", ".json", b"{")]
)
def test_output_formats(tmp_path: Path, target: str, ext: str, head: bytes) -> None:
    writer = _writer(tmp_path, target, csv=None)
    data = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO")])
    delivered = writer.deliver(
        [("r.hpr", data), ("cr.pdf", PDF)], sender=LAB, message_id="m9", when=WHEN
    )
    converted = [p for p in delivered.written if p.suffix == ext]
    assert len(converted) == 2 and all(p.read_bytes().startswith(head) for p in converted)
    assert [p.read_bytes() for p in delivered.written if p.suffix == ".pdf"] == [PDF]
    assert (tmp_path / "archive" / "m9.1.hpr").read_bytes() == data  # the original is kept
    if target == "fhir":
        assert "FICTIF" in converted[0].read_text() or "FICTIF" in converted[1].read_text()


def test_config_knows_the_new_settings(tmp_path: Path) -> None:
    (tmp_path / "agent.json").write_text(json.dumps({
        "server": "http://s.test", "address": "a@b.test", "output_format": "fhir",
        "patients_csv": "patients.csv",
    }))  # fmt: skip
    config = AgentConfig.load(tmp_path)
    assert config.output_format == "fhir" and config.patients_path == tmp_path / "patients.csv"
    config.ensure_folders()
    assert config.folder("to_match") == tmp_path / "to-match"
    (tmp_path / "agent.json").write_text(json.dumps({
        "server": "http://s.test", "address": "a@b.test", "output_format": "pdf"}))  # fmt: skip
    with pytest.raises(ConfigError):
        AgentConfig.load(tmp_path)
    assert os.stat(tmp_path / "to-match").st_mode & 0o777 == 0o700
