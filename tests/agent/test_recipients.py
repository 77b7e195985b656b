"""The outbox conventions: HPRIM line 12, then a ``.to`` side-car, then the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from caducee.agent.errors import RecipientError
from caducee.agent.recipients import (
    hprim_recipients,
    is_hprim,
    name_recipients,
    resolve_recipients,
    sidecar_recipients,
    split_hprim,
)
from tests.agent.helpers import hprim_document, hprim_file

GP = "dr.testeur@caducee.test"


def test_line_12_names_the_recipient() -> None:
    assert hprim_recipients(hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO")])) == [GP]


def test_line_12_with_a_code_only_gives_nothing() -> None:
    assert hprim_recipients(hprim_file("DRTEST01", [("FICTIF", "ALICE")])) == []


def test_documents_naming_different_recipients_are_refused() -> None:
    data = (hprim_document("A", "B", GP) + hprim_document("C", "D", "autre@caducee.test")).encode()
    with pytest.raises(RecipientError, match="different recipients") as refused:
        hprim_recipients(data)
    assert refused.value.code == "mixed-recipients"


def test_sidecar(tmp_path: Path) -> None:
    target = tmp_path / "compte-rendu.pdf"
    (tmp_path / "compte-rendu.pdf.to").write_text(f"# pour le Dr Testeur\n{GP}\n\nB@Caducee.test\n")
    assert sidecar_recipients(target) == [GP, "b@caducee.test"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (f"cr__to__{GP}.pdf", [GP]),
        (f"cr__to__{GP}", ["dr.testeur@caducee.test"]),
        (f"x__to__{GP}__to__b@caducee.test.hpr", [GP, "b@caducee.test"]),
        ("sans-destinataire.pdf", []),
    ],
)
def test_file_name(name: str, expected: list[str]) -> None:
    assert name_recipients(name) == expected


def test_priority_line_12_then_sidecar_then_name(tmp_path: Path) -> None:
    hprim = tmp_path / "r__to__nom@caducee.test.hpr"
    (tmp_path / (hprim.name + ".to")).write_text("cote@caducee.test\n")
    assert resolve_recipients(hprim, hprim_file(GP, [("A", "B")])) == [GP]
    assert resolve_recipients(hprim, b"%PDF-1.7 fictif") == ["cote@caducee.test"]
    (tmp_path / (hprim.name + ".to")).unlink()
    assert resolve_recipients(hprim, b"%PDF-1.7 fictif") == ["nom@caducee.test"]
    with pytest.raises(RecipientError, match="no recipient") as refused:
        resolve_recipients(tmp_path / "anonyme.pdf", b"%PDF")
    assert refused.value.code == "no-recipient"


def test_no_recipient_in_a_file_of_no_known_format_says_so(tmp_path: Path) -> None:
    with pytest.raises(RecipientError, match="unrecognised format") as refused:
        resolve_recipients(tmp_path / "export.dat", bytes(range(256)) * 12)
    assert refused.value.code == "unrecognised-format"
    with pytest.raises(RecipientError) as refused:
        resolve_recipients(tmp_path / "note.txt", b"Texte fictif sans adresse.")
    assert refused.value.code == "no-recipient"  # readable text: only the recipient lacks


def test_split_keeps_bytes_and_drops_end_of_file_marker() -> None:
    data = hprim_file(GP, [("FICTIF", "ALICE"), ("ESSAI", "BRUNO")])
    documents = split_hprim(data)
    assert len(documents) == 2
    assert b"".join(documents) + b"****FINFICHIER****\r\n" == data
    assert all(d.endswith(b"****FIN****\r\n") for d in documents)
    assert is_hprim(data) and not is_hprim(b"%PDF-1.7")
    assert split_hprim(b"pas de marqueur") == [b"pas de marqueur"]
