"""The directory's establishments by region and type, kept small for the dashboard.

Counting tens of thousands of organisations at each dashboard view would cost more than the
whole page's budget (100 ms); :func:`refresh_establishments` counts them once per closing
pass (every ten minutes) into ``stats_region`` and lists the university hospitals.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

from caducee.directory.models import Organisation, OrganisationType
from caducee.stats.models import RegionCount, UniversityHospital

__all__ = ["refresh_establishments"]


def refresh_establishments(connection: Connection) -> int:
    """Recount establishments per region and type; return how many there are."""
    counts = connection.execute(
        select(Organisation.region, Organisation.type, func.count()).group_by(
            Organisation.region, Organisation.type
        )
    ).all()
    hospitals = connection.execute(
        select(Organisation.finess, Organisation.name, Organisation.region).where(
            Organisation.type == OrganisationType.UNIVERSITY_HOSPITAL.value
        )
    ).all()
    connection.execute(delete(RegionCount))
    connection.execute(delete(UniversityHospital))
    if counts:
        connection.execute(
            insert(RegionCount),
            [{"region": r or "—", "org_type": t, "establishments": int(n)} for r, t, n in counts],
        )
    if hospitals:
        connection.execute(
            insert(UniversityHospital),
            [{"finess": f, "name": n, "region": r or "—"} for f, n, r in hospitals],
        )
    return sum(int(n) for _, _, n in counts)
