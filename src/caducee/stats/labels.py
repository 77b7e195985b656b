"""Establishment types as the operator reads them, French first: the console's filters and
the yearly report's charts share them (kept apart from the report, whose matplotlib is slow
to import and only needed when a PDF is drawn)."""

from __future__ import annotations

__all__ = ["TYPE_LABELS"]

TYPE_LABELS = {
    "lab": "Laboratoires / Labs",
    "university_hospital": "CHU / University hospitals",
    "general_hospital": "Centres hospitaliers / Hospitals",
    "clinic": "Cliniques / Clinics",
    "gp_practice": "Cabinets de ville / City practices",
    "nursing_home": "EHPAD / Nursing homes",
    "pharmacy": "Pharmacies",
    "none": "Sans établissement / No establishment",
}
