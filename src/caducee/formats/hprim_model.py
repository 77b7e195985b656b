"""The HPRIM médecin document model: a 12-line header, free text, and a ``****LAB****`` part.

Values are kept as the sender wrote them (trimmed), so that nothing of a result is rewritten;
the ``numeric_*`` properties read comma or point decimals for whoever needs numbers.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = [
    "ABNORMAL_FLAGS",
    "HEADER_FIELDS",
    "RESULT_FIELDS",
    "RESULT_TYPES",
    "HPRIMDocument",
    "HPRIMHeader",
    "HPRIMLabLine",
    "HPRIMResult",
    "HPRIMText",
    "is_decimal",
    "read_decimal",
]

#: Header lines 1-12, in order (line 6 holds ``postcode city``).
HEADER_FIELDS: tuple[str, ...] = (
    "patient_id",
    "last_name",
    "first_name",
    "address1",
    "address2",
    "postcode_city",
    "birth_date",
    "nir",
    "file_number",
    "exam_date",
    "sender",
    "recipient",
)
#: The 13 fields of a ``RES|`` line after ``RES``.
RESULT_FIELDS: tuple[str, ...] = (
    "label",
    "code",
    "type",
    "value",
    "unit",
    "low",
    "high",
    "flag",
    "status",
    "value2",
    "unit2",
    "low2",
    "high2",
)
ABNORMAL_FLAGS = frozenset({"", "L", "H", "LL", "HH", "N"})
RESULT_TYPES = frozenset({"", "N", "A", "C", "T"})

_DECIMAL_RE = re.compile(r"^[<>]?=?\s*[-+]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)$")
_TAG_RE = re.compile(r"<[^>]{0,200}>")
_BR_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def is_decimal(text: str) -> bool:
    """Whether ``text`` reads as a decimal (comma or point, optional ``<``/``>``)."""
    return _DECIMAL_RE.match(text.strip()) is not None


def read_decimal(text: str) -> Decimal | None:
    """``8,3`` / ``8.3`` / ``<0.013`` as a Decimal (the comparator dropped); else ``None``."""
    text = text.strip()
    if not text or not _DECIMAL_RE.match(text):
        return None
    digits = text.lstrip("<>=").strip().replace(",", ".")
    try:
        return Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return None


@dataclass(frozen=True)
class HPRIMHeader:
    """Header lines 1-12. Dates are read; the NIR is kept compact (15 characters) or empty."""

    patient_id: str
    last_name: str
    first_name: str
    address1: str
    address2: str
    postcode: str
    city: str
    birth_date: date | None
    nir: str
    file_number: str
    exam_date: date | None
    sender: str
    recipient: str

    @property
    def sender_code(self) -> str:
        """The first word of line 11 (the sender's code)."""
        return self.sender.split(" ", 1)[0] if self.sender else ""

    @property
    def recipient_code(self) -> str:
        return self.recipient.split(" ", 1)[0] if self.recipient else ""


@dataclass(frozen=True)
class HPRIMText:
    """A ``TEX|`` line: one line of the printable report."""

    text: str


@dataclass(frozen=True)
class HPRIMResult:
    """A ``RES|`` line: one coded result, in a first and optionally a second unit."""

    label: str
    code: str
    type: str = ""
    value: str = ""
    unit: str = ""
    low: str = ""
    high: str = ""
    flag: str = ""
    status: str = ""
    value2: str = ""
    unit2: str = ""
    low2: str = ""
    high2: str = ""

    @property
    def numeric_value(self) -> Decimal | None:
        return read_decimal(self.value)

    @property
    def numeric_low(self) -> Decimal | None:
        return read_decimal(self.low)

    @property
    def numeric_high(self) -> Decimal | None:
        return read_decimal(self.high)

    @property
    def abnormal(self) -> bool:
        """True when the lab flagged the value low or high (panic included)."""
        return self.flag in ("L", "H", "LL", "HH")

    def fields(self) -> tuple[str, ...]:
        """The 13 fields in ``RES|`` order."""
        return tuple(getattr(self, name) for name in RESULT_FIELDS)


HPRIMLabLine = HPRIMText | HPRIMResult


@dataclass(frozen=True)
class HPRIMDocument:
    """One document of an HPRIM médecin file (one patient, one report).

    ``text`` is the free text between the header and ``****LAB****`` (lines joined by ``\\n``);
    ``lab`` the ``TEX``/``RES`` lines in order; ``has_lab`` whether ``****LAB****`` was there.
    """

    header: HPRIMHeader
    text: str = ""
    lab: tuple[HPRIMLabLine, ...] = field(default_factory=tuple)
    has_lab: bool = False

    @property
    def results(self) -> tuple[HPRIMResult, ...]:
        return tuple(line for line in self.lab if isinstance(line, HPRIMResult))

    @property
    def lab_text(self) -> str:
        """The ``TEX`` lines joined by ``\\n``."""
        return "\n".join(line.text for line in self.lab if isinstance(line, HPRIMText))

    @property
    def plain_text(self) -> str:
        """The free text with HTML line breaks, tags and entities turned into plain text."""
        text = _BR_RE.sub("\n", self.text)
        return html.unescape(_TAG_RE.sub("", text))
