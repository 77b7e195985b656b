"""Establishment types and regions as the operator reads them, French first: the console's
forms and filters, the yearly report's charts and the synthetic generator share them (kept
apart from the report's matplotlib and the generator's numpy, slow to import and needed only
when a PDF is drawn or figures are generated)."""

from __future__ import annotations

__all__ = ["REGIONS", "TYPE_LABELS"]

REGIONS = (
    "Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire",
    "Corse", "Grand Est", "Hauts-de-France", "Île-de-France", "Normandie",
    "Nouvelle-Aquitaine", "Occitanie", "Pays de la Loire", "Provence-Alpes-Côte d'Azur",
)  # fmt: skip


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
