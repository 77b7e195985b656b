"""HL7 v2.5 ORU^R01 ⇄ HPRIM médecin documents, built and read with python-hl7.

One message holds one ``PID`` group per document: ``PID`` (identifiers: the lab's patient id
and the NIR under the INS-NIR authority), ``NTE`` for the free text, ``OBR`` (file number,
exam date), then the lab part in order: ``OBX`` per result (sub-id 2 for the second unit) and
``NTE`` per ``TEX`` line. Reading back recovers what the message holds; anything that is not an
ORU^R01 raises :class:`UnsupportedMessage`, anything unreadable :class:`MalformedMessage`.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

import hl7
import hl7.containers
import hl7.util

from caducee.formats.errors import (
    FormatError,
    InvalidDate,
    MalformedMessage,
    MissingField,
    UnsupportedMessage,
)
from caducee.formats.hprim_model import (
    HPRIMDocument,
    HPRIMHeader,
    HPRIMLabLine,
    HPRIMResult,
    HPRIMText,
    is_decimal,
)
from caducee.formats.nir import parse_nir

__all__ = [
    "INS_NIR_AUTHORITY",
    "INS_NIR_OID",
    "format_range",
    "hl7_escape",
    "parse_hl7v2",
    "split_range",
    "to_hl7v2",
]

#: The OID of the INS-NIR identifier system (ANS, "Identifiant national de santé").
INS_NIR_OID = "1.2.250.1.213.1.4.8"
#: PID-3 assigning authority (HD) for the NIR, as in the French IHE PAM extension.
INS_NIR_AUTHORITY = f"ASIP-SANTE-INS-NIR&{INS_NIR_OID}&ISO"
_LOCAL_AUTHORITY = "LAB"
_SEGMENT_SEP = "\r"
_SERVICE = "HPRIM^Compte rendu de biologie^L"
_HEX_RE = re.compile(r"[\x00-\x1f]")
_RANGE_RE = re.compile(r"^(-?[^-]*)-(.*)$", re.DOTALL)


def _drop(record: logging.LogRecord) -> bool:
    return False


# python-hl7 logs the raw field (patient content) when it meets a bad escape or a stray
# segment; content never goes to logs (DESIGN §8), so its two module loggers are silenced.
for _module in (hl7.util, hl7.containers):
    logging.getLogger(_module.__file__).addFilter(_drop)


def hl7_escape(value: str) -> str:
    """Escape a value for an HL7 field: ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``, controls as ``\\Xhh\\``.

    Trailing blanks are hex-escaped too, so that nothing is lost where parsers strip.
    """
    out = value.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    out = _HEX_RE.sub(lambda m: f"\\X{ord(m[0]):02X}\\", out)
    stripped = out.rstrip()
    tail = out[len(stripped) :]
    return stripped + "".join(f"\\X{ord(c):02X}\\" if ord(c) < 256 else c for c in tail)


def format_range(low: str, high: str) -> str:
    """``low-high`` (either side may be empty); empty when both are."""
    return f"{low}-{high}" if low or high else ""


def split_range(text: str) -> tuple[str, str]:
    """The inverse of :func:`format_range`; a text with no ``-`` is read as the low bound."""
    text = text.strip()
    if not text:
        return "", ""
    match = _RANGE_RE.match(text)
    if match is None:
        return text, ""
    return match[1].strip(), match[2].strip()


def _ymd(value: date | None) -> str:
    return "" if value is None else f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _value_type(value: str) -> str:
    if "\n" in value or len(value) > 200:
        return "TX"
    if is_decimal(value) and value.strip()[0] not in "<>":
        return "NM"
    return "ST"


def _sex(nir: str) -> str:
    if not nir:
        return "U"
    try:
        return parse_nir(nir).sex
    except FormatError:
        return "U"


def _segment(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _pid(seq: int, h: HPRIMHeader) -> str:
    ids = [f"{hl7_escape(h.patient_id)}^^^{_LOCAL_AUTHORITY}^PI"]
    if h.nir:
        ids.append(f"{hl7_escape(h.nir)}^^^{INS_NIR_AUTHORITY}^NH")
    name = f"{hl7_escape(h.last_name)}^{hl7_escape(h.first_name)}"
    address = "^".join(hl7_escape(v) for v in (h.address1, h.address2, h.city, "", h.postcode))
    return _segment(
        "PID", str(seq), "", "~".join(ids), "", name, "", _ymd(h.birth_date), _sex(h.nir),
        "", "", address.rstrip("^"),
    )  # fmt: skip


def _obx(seq: int, r: HPRIMResult, second: bool) -> str:
    value, unit = (r.value2, r.unit2) if second else (r.value, r.unit)
    low, high = (r.low2, r.high2) if second else (r.low, r.high)
    code = f"{hl7_escape(r.code)}^{hl7_escape(r.label)}^L"
    return _segment(
        "OBX", str(seq), _value_type(value), code, "2" if second else "1", hl7_escape(value),
        hl7_escape(unit), hl7_escape(format_range(low, high)), hl7_escape(r.flag), "", "",
        hl7_escape(r.status or "F"),
    )  # fmt: skip


def _document(seq: int, doc: HPRIMDocument) -> list[str]:
    h = doc.header
    out = [_pid(seq, h)]
    if doc.text:
        for k, line in enumerate(doc.text.split("\n"), start=1):
            out.append(_segment("NTE", str(k), "L", hl7_escape(line)))
    obr_date = _ymd(h.exam_date)
    out.append(_segment("OBR", "1", "", hl7_escape(h.file_number), _SERVICE, "", "", obr_date))
    obx = nte = 0
    for item in doc.lab:
        if isinstance(item, HPRIMResult):
            obx += 1
            out.append(_obx(obx, item, False))
            if item.value2 or item.unit2 or item.low2 or item.high2:
                obx += 1
                out.append(_obx(obx, item, True))
        else:
            nte += 1
            out.append(_segment("NTE", str(nte), "L", hl7_escape(item.text)))
    return out


def to_hl7v2(
    documents: HPRIMDocument | Sequence[HPRIMDocument],
    *,
    control_id: str = "1",
    timestamp: datetime | None = None,
) -> str:
    """One ORU^R01 (v2.5) message for ``documents``; segments end with ``\\r``.

    MSH-3 holds header line 11 (sender), MSH-5 line 12 (recipient); MSH-7 is ``timestamp``
    (default: the first exam date), so the output is a pure function of its input.
    """
    docs = [documents] if isinstance(documents, HPRIMDocument) else list(documents)
    if not docs:
        raise MissingField("Aucun document / no document", field="documents")
    first = docs[0].header
    when = timestamp.strftime("%Y%m%d%H%M%S") if timestamp else _ymd(first.exam_date)
    msh = _segment(
        "MSH", "^~\\&", hl7_escape(first.sender), "", hl7_escape(first.recipient), "", when,
        "", "ORU^R01^ORU_R01", hl7_escape(control_id), "P", "2.5",
    )  # fmt: skip
    segments = [msh]
    for seq, doc in enumerate(docs, start=1):
        segments.extend(_document(seq, doc))
    return _SEGMENT_SEP.join(segments) + _SEGMENT_SEP


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    """Walks the segments of one parsed message into documents."""

    def __init__(self, message: hl7.Message) -> None:
        self.m = message
        self.docs: list[HPRIMDocument] = []

    def text(self, seg: hl7.Segment, index: int, rep: int = 0, comp: int = 0) -> str:
        """The unescaped value of ``seg[index]`` (repetition, component), ``""`` if absent."""
        if len(seg) <= index:
            return ""
        fld = seg[index]
        value: object = fld
        if isinstance(fld, hl7.Field):
            if rep >= len(fld):
                return ""
            value = fld[rep]
            if isinstance(value, hl7.Repetition):
                if comp >= len(value):
                    return ""
                value = value[comp]
            elif comp:
                return ""
        elif rep or comp:
            return ""
        return str(self.m.unescape(str(value)))

    def date(self, seg: hl7.Segment, index: int, name: str) -> date | None:
        raw = self.text(seg, index)[:8]
        if not raw:
            return None
        try:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        except ValueError:
            raise InvalidDate("Date illisible / unreadable date", field=name) from None

    def run(self) -> list[HPRIMDocument]:
        msh = self.m.segments("MSH")[0]
        kind = (self.text(msh, 9, 0, 0), self.text(msh, 9, 0, 1))
        if kind != ("ORU", "R01"):
            raise UnsupportedMessage("Message autre que ORU^R01 / not an ORU^R01", field="MSH-9")
        sender, recipient = self.text(msh, 3), self.text(msh, 5)
        groups: list[list[hl7.Segment]] = []
        for seg in self.m:
            name = str(seg[0])
            if name == "PID":
                groups.append([seg])
            elif groups:
                groups[-1].append(seg)
            elif name != "MSH":
                raise MalformedMessage("Segment avant PID / segment before PID", field=name)
        if not groups:
            raise MissingField("PID absent / no PID", field="PID")
        return [self.document(g, sender, recipient) for g in groups]

    def identifiers(self, pid: hl7.Segment) -> tuple[str, str]:
        patient_id = nir = ""
        count = len(pid[3]) if len(pid) > 3 and isinstance(pid[3], hl7.Field) else 1
        for rep in range(count):
            value, kind = self.text(pid, 3, rep, 0), self.text(pid, 3, rep, 4)
            authority = self.text(pid, 3, rep, 3)
            if kind in ("NH", "INS", "INS-NIR") or INS_NIR_OID in authority:
                parsed = parse_nir(value, field="PID-3")
                nir = parsed.body + parsed.key
            elif not patient_id:
                patient_id = value
        return patient_id, nir

    def document(self, segs: list[hl7.Segment], sender: str, recipient: str) -> HPRIMDocument:
        pid = segs[0]
        patient_id, nir = self.identifiers(pid)
        last, first = self.text(pid, 5, 0, 0), self.text(pid, 5, 0, 1)
        if not last:
            raise MissingField("Nom absent / no name", field="PID-5")
        text_lines: list[str] = []
        lab: list[HPRIMLabLine] = []
        file_number, exam_date, seen_obr = "", None, False
        for seg in segs[1:]:
            name = str(seg[0])
            if name == "NTE":
                (lab.append(HPRIMText(self.text(seg, 3))) if seen_obr else
                 text_lines.append(self.text(seg, 3)))  # fmt: skip
            elif name == "OBR" and not seen_obr:
                seen_obr = True
                file_number, exam_date = self.text(seg, 3), self.date(seg, 7, "OBR-7")
            elif name == "OBX":
                self.result(seg, lab)
        header = HPRIMHeader(
            patient_id=patient_id or "-", last_name=last, first_name=first,
            address1=self.text(pid, 11, 0, 0), address2=self.text(pid, 11, 0, 1),
            postcode=self.text(pid, 11, 0, 4), city=self.text(pid, 11, 0, 2),
            birth_date=self.date(pid, 7, "PID-7"), nir=nir, file_number=file_number,
            exam_date=exam_date, sender=sender, recipient=recipient,
        )  # fmt: skip
        has_lab = bool(lab)
        return HPRIMDocument(header, "\n".join(text_lines), tuple(lab), has_lab)

    def result(self, seg: hl7.Segment, lab: list[HPRIMLabLine]) -> None:
        code, label = self.text(seg, 3, 0, 0), self.text(seg, 3, 0, 1)
        if not code and not label:
            raise MissingField("OBX sans code / OBX without code", field="OBX-3")
        value, unit = self.text(seg, 5), self.text(seg, 6)
        low, high = split_range(self.text(seg, 7))
        last = lab[-1] if lab else None
        if self.text(seg, 4) == "2" and isinstance(last, HPRIMResult) and last.code == code:
            lab[-1] = replace(last, value2=value, unit2=unit, low2=low, high2=high)
            return
        kind = "N" if self.text(seg, 2) == "NM" or is_decimal(value) else "A"
        flag, status = self.text(seg, 8), self.text(seg, 11)
        lab.append(HPRIMResult(label, code, kind, value, unit, low, high, flag, status))


def parse_hl7v2(data: bytes | str) -> list[HPRIMDocument]:
    """The documents of an ORU^R01 message (bytes are read as UTF-8, else ISO-8859-1).

    Raises only :class:`FormatError` subclasses, whatever the input.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("iso-8859-1")
    else:
        text = data
    text = text.replace("\r\n", "\r").replace("\n", "\r").lstrip("\ufeff")
    if not text.lstrip().startswith("MSH") or len(text.lstrip()) < 8:
        raise MalformedMessage("Pas de segment MSH / no MSH segment", line=1, field="MSH")
    try:
        message = hl7.parse(text.strip())
        return _Reader(message).run()
    except FormatError:
        raise
    except Exception:  # third-party errors are mapped at the boundary
        raise MalformedMessage("Message HL7 illisible / unreadable HL7 message") from None
