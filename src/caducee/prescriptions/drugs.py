"""The drug catalogue on the database: imported from the BDPM, searched by the prescriber.

At start-up an empty catalogue is filled from the synthetic sample; ``caducee prescriptions
import-drugs`` replaces it with the real files. Search is a prefix-per-word match on a
lower-case, unaccented copy of the label (no full-text engine needed for 20,000 rows).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from caducee.prescriptions.bdpm import BDPMDrug
from caducee.prescriptions.models import Drug
from caducee.store import Database

__all__ = ["DrugCatalogue", "DrugEntry", "searchable"]

MAX_RESULTS = 50


def searchable(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass(frozen=True)
class DrugEntry:
    cip13: str
    label: str
    form: str
    marketed: bool


class DrugCatalogue:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def count(self) -> int:
        async with self.database.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Drug)) or 0)

    async def replace(self, drugs: Sequence[BDPMDrug]) -> int:
        """Replace the whole catalogue in one transaction (all or nothing)."""
        unique = {d.cip13: d for d in drugs}
        async with self.database.transaction() as session:
            await session.execute(delete(Drug))
            rows = [
                {
                    "cip13": d.cip13,
                    "cis": d.cis,
                    "label": d.label,
                    "search": searchable(d.label)[:300],
                    "form": d.form,
                    "marketed": d.marketed,
                }
                for d in unique.values()
            ]
            for start in range(0, len(rows), 1000):
                await session.execute(insert(Drug), rows[start : start + 1000])
        return len(unique)

    async def search(self, text: str, limit: int = 20) -> list[DrugEntry]:
        """Presentations whose label holds every word of ``text``, or whose CIP13 it is."""
        words = searchable(text[:100]).split()[:5]
        if not words:
            return []
        statement = select(Drug).order_by(Drug.marketed.desc(), Drug.label)
        if len(words) == 1 and len(words[0]) == 13 and words[0].isdigit():
            statement = statement.where(Drug.cip13 == words[0])
            words = []
        for word in words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Drug.search.like(f"%{escaped}%", escape="\\"))
        async with self.database.sessions() as session:
            rows = await session.scalars(statement.limit(min(limit, MAX_RESULTS)))
            return [DrugEntry(r.cip13, r.label, r.form, r.marketed) for r in rows]

    @staticmethod
    async def unknown(session: AsyncSession, codes: Sequence[str]) -> list[str]:
        """The CIP13 among ``codes`` that the catalogue does not hold."""
        if not codes:
            return []
        known = set(await session.scalars(select(Drug.cip13).where(Drug.cip13.in_(set(codes)))))
        return [c for c in codes if c not in known]
