"""The MSSanté message headers (Référentiel #2 "Clients de messageries", §3.8), read and set.

=================  ==========================================================  ============
header             when                                                        value
=================  ==========================================================  ============
``X-MSS-CODECDA``  an IHE_XDM.ZIP with CDA documents (ECO.2.4.1)               CDA codes,
                                                                               comma-separated
``X-MSS-INS``      an IHE_XDM.ZIP with CDA documents (ECO.2.4.2)               ``O`` or ``N``
``X-MSS-NIL``      every message (ECO.2.4.3)                                   product ref.
``X-MSS-MES``      to ``@patient.mssante.fr`` when no reply is wanted          ``FIN``
=================  ==========================================================  ============

Header fields follow RFC 5322 §2.2 (one unfolded line, printable US-ASCII here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from caducee.gateway.errors import HeaderError

__all__ = [
    "CODECDA",
    "INS",
    "MES",
    "MSS_HEADERS",
    "NIL",
    "MSSHeaders",
    "read_mss_headers",
    "set_mss_headers",
]

CODECDA = "X-MSS-CODECDA"
INS = "X-MSS-INS"
NIL = "X-MSS-NIL"
MES = "X-MSS-MES"
MSS_HEADERS = (CODECDA, INS, NIL, MES)

PATIENT_DOMAIN = "patient.mssante.fr"
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-^]{0,63}")
_NIL = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?")
MAX_CODES = 50


def _one_line(value: str) -> str:
    return " ".join(value.split())


@dataclass(frozen=True)
class MSSHeaders:
    """The X-MSS-* values of one message (``None``: absent)."""

    codes_cda: tuple[str, ...] = ()
    ins_qualified: bool | None = None
    nil: str | None = None
    end_of_conversation: bool = False

    def __post_init__(self) -> None:
        if len(self.codes_cda) > MAX_CODES:
            raise HeaderError(f"{CODECDA} holds at most {MAX_CODES} codes")
        for code in self.codes_cda:
            if not _CODE.fullmatch(code):
                raise HeaderError(f"{CODECDA} holds a value that is not a CDA code")
        if self.nil is not None and not _NIL.fullmatch(self.nil):
            raise HeaderError(f"{NIL} must be printable ASCII, 1-128 characters")
        if self.ins_qualified is not None and not self.codes_cda:
            raise HeaderError(f"{INS} goes with {CODECDA} (an XDM with CDA documents)")

    def values(self) -> dict[str, str]:
        """The header fields to write, in the order of the table above."""
        fields: dict[str, str] = {}
        if self.codes_cda:
            fields[CODECDA] = ",".join(self.codes_cda)
        if self.ins_qualified is not None:
            fields[INS] = "O" if self.ins_qualified else "N"
        if self.nil is not None:
            fields[NIL] = self.nil
        if self.end_of_conversation:
            fields[MES] = "FIN"
        return fields

    def check_for(self, recipients: list[str] | tuple[str, ...]) -> None:
        """Raise unless the headers suit a message to ``recipients`` (X-MSS-NIL always)."""
        if self.nil is None:
            raise HeaderError(f"every MSSanté message carries {NIL}")
        if self.end_of_conversation and not any(
            r.lower().endswith("@" + PATIENT_DOMAIN) for r in recipients
        ):
            raise HeaderError(f"{MES}: FIN is only for messages to @{PATIENT_DOMAIN}")


def _single(message: Message, name: str) -> str | None:
    values = message.get_all(name)
    if not values:
        return None
    if len(values) > 1:
        raise HeaderError(f"{name} appears more than once")
    return _one_line(str(values[0]))


def read_mss_headers(message: Message) -> MSSHeaders:
    """Read and check the X-MSS-* headers of ``message``; raise ``HeaderError`` if invalid."""
    codes = _single(message, CODECDA)
    ins = _single(message, INS)
    nil = _single(message, NIL)
    mes = _single(message, MES)
    if ins is not None and ins.upper() not in ("O", "N"):
        raise HeaderError(f"{INS} is O or N")
    if mes is not None and mes.upper() != "FIN":
        raise HeaderError(f"{MES} is FIN")
    return MSSHeaders(
        codes_cda=tuple(c.strip() for c in codes.split(",") if c.strip()) if codes else (),
        ins_qualified=None if ins is None else ins.upper() == "O",
        nil=nil,
        end_of_conversation=mes is not None,
    )


def set_mss_headers(message: Message, headers: MSSHeaders) -> None:
    """Replace every X-MSS-* header of ``message`` with ``headers``."""
    for name in MSS_HEADERS:
        del message[name]
    for name, value in headers.values().items():
        message[name] = value
