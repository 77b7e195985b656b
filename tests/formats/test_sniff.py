"""Attachment types by content, not by name."""

import codecs
import zipfile
from io import BytesIO

import pytest

from caducee.formats.sniff import FileKind, sniff
from tests.formats.synth import hprim_lines, join

CDA = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<title>Compte rendu fictif</title></ClinicalDocument>"
)


def _zip() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("IHE_XDM/SUBSET01/DOC0001.XML", CDA)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", FileKind.PDF),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", FileKind.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", FileKind.JPEG),
        (_zip(), FileKind.ZIP),
        (CDA.encode(), FileKind.CDA),
        (codecs.BOM_UTF8 + CDA.encode(), FileKind.CDA),
        (CDA.encode("utf-16"), FileKind.CDA),
        (b"<?xml version='1.0'?><note>x</note>", FileKind.XML),
        (b"MSH|^~\\&|LAB|FAC|GP|CAB|20250102||ORU^R01|1|P|2.5\rPID|1", FileKind.HL7V2),
        (b"H|~^\\&|X.HPR||LAB||ORU\r\nP|1\r\nL|1\r\n", FileKind.HPRIM_SANTE),
        (join(hprim_lines()), FileKind.HPRIM),
        (join(hprim_lines()).decode("latin-1").encode("utf-16"), FileKind.HPRIM),
        (b"Bonjour, ceci est un simple texte.\n", FileKind.TEXT),
        (b"", FileKind.UNKNOWN),
        (bytes(range(256)), FileKind.UNKNOWN),
    ],
)
def test_sniff(data: bytes, kind: FileKind) -> None:
    assert sniff(data) is kind


def test_hprim_without_markers_is_recognised_by_its_dates() -> None:
    lines = [line for line in hprim_lines() if not line.startswith("****")]
    assert sniff(join(lines)) is FileKind.HPRIM
    lines[9] = "pas une date"
    assert sniff(join(lines)) is FileKind.TEXT


def test_name_is_irrelevant_and_a_cut_utf8_head_still_works() -> None:
    big = ("é" * 40000).encode() + b"\n"
    assert sniff(big) is FileKind.TEXT
