"""Tables of the statistics rollups (registered on ``Base.metadata``).

Counters are kept as messages are accepted (the relay's commit hook), never by scanning
messages:

- ``stats_daily``: per day (Europe/Paris) and organisation type, messages sent (by the
  sender's type), deliveries (by the recipient's type) and bytes.
- ``stats_user_month``: one row per mailbox and month, a bitmap of the days it sent or
  received (bit ``d - 1`` for day ``d``): active and daily users come from it.
- ``stats_day_figures``: the figures of a closed day per type (active users over the last
  30 days, daily users, active establishments), computed once when the day closes.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caducee.store.models import Base

__all__ = ["DailyRollup", "DayFigures", "RegionCount", "UniversityHospital", "UserMonth"]


class DailyRollup(Base):
    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    org_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    deliveries: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class UserMonth(Base):
    __tablename__ = "stats_user_month"

    mailbox_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    org_type: Mapped[str] = mapped_column(String(32))
    finess: Mapped[str | None] = mapped_column(String(9), default=None)
    days: Mapped[int] = mapped_column(BigInteger, default=0)


class DayFigures(Base):
    __tablename__ = "stats_day_figures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    org_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    active_users: Mapped[int] = mapped_column(Integer, default=0)
    daily_users: Mapped[int] = mapped_column(Integer, default=0)
    active_establishments: Mapped[int] = mapped_column(Integer, default=0)


class RegionCount(Base):
    """Establishments of the directory per region and type (refreshed with each closing)."""

    __tablename__ = "stats_region"

    region: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    establishments: Mapped[int] = mapped_column(Integer, default=0)


class UniversityHospital(Base):
    """The university hospitals on the network (refreshed with each closing)."""

    __tablename__ = "stats_university_hospital"

    finess: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))
