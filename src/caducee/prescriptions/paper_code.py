"""The 2D code on the patient's paper copy: ``{"urls":["Task/<id>/$accept?ac=<access code>"]}``.

The payload is gematik's (``docs/erp_versicherte.adoc``), rendered as a QR code (ISO/IEC
18004) with segno. A scanned code is outside input: :func:`parse_paper_code` accepts only
that exact shape (size-limited, one to three URLs, a checked id, 64 hex digits), so an
injected payload never reaches a query or a page.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

import segno

from caducee.prescriptions.errors import InvalidPaperCode, PrescriptionError
from caducee.prescriptions.ids import parse_prescription_id

__all__ = ["MAX_CODE_BYTES", "PaperCode", "paper_code_payload", "parse_paper_code", "to_qr_svg"]

MAX_CODE_BYTES = 1024
_URL = re.compile(r"Task/([0-9.]{22})/\$accept\?ac=([0-9a-f]{64})")


@dataclass(frozen=True)
class PaperCode:
    """One prescription named by a paper code: its id and its access code."""

    prescription_id: str
    access_code: str


def paper_code_payload(codes: list[PaperCode] | PaperCode) -> str:
    """The JSON text of the code (one prescription, or up to three on one sheet)."""
    items = [codes] if isinstance(codes, PaperCode) else list(codes)
    if not 1 <= len(items) <= 3:
        raise InvalidPaperCode("1 à 3 ordonnances par code / 1 to 3 prescriptions per code")
    urls = [f"Task/{c.prescription_id}/$accept?ac={c.access_code}" for c in items]
    for url in urls:
        if not _URL.fullmatch(url):
            raise InvalidPaperCode("identifiant ou code d'accès invalide / invalid id or code")
    return json.dumps({"urls": urls}, separators=(",", ":"))


def parse_paper_code(text: str | bytes) -> list[PaperCode]:
    """Read a scanned code; ``InvalidPaperCode`` for anything but the exact shape."""
    if isinstance(text, bytes):
        if len(text) > MAX_CODE_BYTES:
            raise InvalidPaperCode("code trop long / code too long")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPaperCode("code illisible / unreadable code") from None
    if not isinstance(text, str) or len(text) > MAX_CODE_BYTES:
        raise InvalidPaperCode("code trop long / code too long")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidPaperCode(
            "ce n'est pas un code d'ordonnance / not a prescription code"
        ) from None
    if not isinstance(payload, dict) or set(payload) != {"urls"}:
        raise InvalidPaperCode("ce n'est pas un code d'ordonnance / not a prescription code")
    urls = payload["urls"]
    if not isinstance(urls, list) or not 1 <= len(urls) <= 3:
        raise InvalidPaperCode("1 à 3 ordonnances par code / 1 to 3 prescriptions per code")
    codes = []
    for url in urls:
        match = _URL.fullmatch(url) if isinstance(url, str) else None
        if match is None:
            raise InvalidPaperCode("adresse d'ordonnance invalide / invalid prescription URL")
        try:
            pid = parse_prescription_id(match.group(1))
        except PrescriptionError as exc:
            raise InvalidPaperCode(exc.reason) from None
        codes.append(PaperCode(pid, match.group(2)))
    return codes


def to_qr_svg(payload: str, *, title: str = "Ordonnance") -> str:
    """The QR code of ``payload`` as an inline SVG (error correction M, for worn paper)."""
    qr = segno.make_qr(payload, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title=title)
    return out.getvalue().decode("utf-8")
