"""Read the public drug database (BDPM) files: ``CIS_bdpm.txt`` and ``CIS_CIP_bdpm.txt``.

Format (base-donnees-publique.medicaments.gouv.fr, "téléchargement"): tab-separated, no
header row, Windows-1252, stray blank lines. ``CIS_bdpm.txt`` has 12 columns (CIS,
denomination, form, routes, ...); ``CIS_CIP_bdpm.txt`` 13 (CIS, CIP7, presentation label,
status, marketing state, date, CIP13, ...). Rows that break the format are counted and
skipped with their line number, never fatal: one bad row must not lose a whole import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources

from caducee.prescriptions.codes import DrugCodeKind, parse_drug_code
from caducee.prescriptions.errors import PrescriptionError

__all__ = ["BDPMDrug", "BDPMImport", "read_bdpm", "sample_bdpm"]

ENCODING = "cp1252"
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BDPMDrug:
    """One presentation: its CIP13, CIS, and the label a prescriber searches."""

    cip13: str
    cis: str
    label: str
    form: str
    marketed: bool


@dataclass
class BDPMImport:
    drugs: list[BDPMDrug] = field(default_factory=list)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, why)


def _rows(data: bytes, name: str, columns: int, out: BDPMImport) -> Iterator[tuple[int, list[str]]]:
    if len(data) > MAX_FILE_BYTES:
        raise PrescriptionError(f"{name}: fichier trop grand / file too large")
    for number, line in enumerate(data.decode(ENCODING, errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < columns:
            out.skipped.append((name, number, f"{len(cells)} columns, {columns} expected"))
            continue
        yield number, cells


def read_bdpm(cis_file: bytes, cip_file: bytes) -> BDPMImport:
    """Join the presentations to their specialities; skip (and report) the rows that fail."""
    out = BDPMImport()
    specialities: dict[str, tuple[str, str]] = {}
    for number, cells in _rows(cis_file, "CIS_bdpm.txt", 12, out):
        if not (len(cells[0]) == 8 and cells[0].isdigit()):
            out.skipped.append(("CIS_bdpm.txt", number, "CIS is not 8 digits"))
            continue
        specialities[cells[0]] = (cells[1], cells[2])
    for number, cells in _rows(cip_file, "CIS_CIP_bdpm.txt", 7, out):
        cis, presentation, state, cip13 = cells[0], cells[2], cells[4], cells[6]
        if cis not in specialities:
            out.skipped.append(("CIS_CIP_bdpm.txt", number, "unknown CIS"))
            continue
        try:
            code = parse_drug_code(cip13)
        except PrescriptionError as exc:
            out.skipped.append(("CIS_CIP_bdpm.txt", number, exc.code))
            continue
        if code.kind is not DrugCodeKind.CIP13:
            out.skipped.append(("CIS_CIP_bdpm.txt", number, "not a CIP13"))
            continue
        name, form = specialities[cis]
        label = f"{name} — {presentation}"[:300]
        marketed = "arrêt" not in state.lower()
        out.drugs.append(BDPMDrug(code.code, cis, label, form[:100], marketed))
    return out


def sample_bdpm() -> BDPMImport:
    """The synthetic sample shipped in ``prescriptions/data`` (invented CIS and CIP13)."""
    folder = resources.files("caducee.prescriptions") / "data"
    return read_bdpm(
        (folder / "CIS_bdpm.txt").read_bytes(), (folder / "CIS_CIP_bdpm.txt").read_bytes()
    )
