"""Synthetic HPRIM material for the tests: invented people, NIR keys computed by code."""

from datetime import date

from caducee.formats.hprim import HPRIMDocument, HPRIMHeader, HPRIMResult, HPRIMText
from caducee.formats.nir import compute_nir_key


def make_nir(
    sex: int = 1, yy: int = 80, mm: int = 5, dept: str = "75", tail: str = "056012"
) -> str:
    """A valid compact NIR (15 characters) for invented traits."""
    body = f"{sex}{yy:02d}{mm:02d}{dept}{tail}"
    return body + compute_nir_key(body)


def header(**changes: object) -> HPRIMHeader:
    values: dict[str, object] = {
        "patient_id": "0000424242",
        "last_name": "FICTIF",
        "first_name": "ALICE",
        "address1": "1 RUE DE L'ESSAI",
        "address2": "",
        "postcode": "75011",
        "city": "PARIS",
        "birth_date": date(1980, 5, 17),
        "nir": make_nir(2, 80, 5),
        "file_number": "D25000001",
        "exam_date": date(2025, 1, 2),
        "sender": "LABFIC01   labo.fictif",
        "recipient": "DRTEST01   dr.testeur",
    }
    values.update(changes)
    return HPRIMHeader(**values)  # type: ignore[arg-type]


def document(**changes: object) -> HPRIMDocument:
    lab = (
        HPRIMText("GLYCEMIE   0,95 g/l"),
        HPRIMResult("GLYCEMIE", "GLY", "N", "0.95", "g/l", "0,70", "1,10", "N", "F"),
        HPRIMResult("", "IGET 005", "A"),
    )
    return HPRIMDocument(header(), "Compte rendu fictif\n\nFin.", lab, True)


def hprim_lines(doc_lines: list[str] | None = None) -> list[str]:
    """The lines of a small valid file (one document), to mutate in tests."""
    h = header()
    nir = f"{h.nir[:13]} {h.nir[13:]}"
    lines = doc_lines or [
        h.patient_id, h.last_name, h.first_name, h.address1, h.address2, "75011 PARIS",
        "17/05/1980", nir, h.file_number, "02/01/2025", h.sender, h.recipient,
        "Compte rendu fictif", "****LAB****", "TEX|GLYCEMIE   0,95 g/l",
        "RES|GLYCEMIE|GLY|N|0.95|g/l|0,70|1,10|N|F", "****FIN****", "****FINFICHIER****",
    ]  # fmt: skip
    return list(lines)


def join(lines: list[str], nl: str = "\r\n") -> bytes:
    return (nl.join(lines) + nl).encode("iso-8859-1")
