"""Structured dosages and the plausibility rules a prescription line must pass.

A dosage is "``amount`` ``unit`` ``frequency`` times per ``period``, for ``duration_days``".
The limits are deliberately wide (they catch typing slips such as 1000 tablets a day or a
dose of zero, not clinical judgement): a prescriber's real choices always pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from caducee.prescriptions.errors import ImplausibleDosage

__all__ = ["MAX_DURATION_DAYS", "MAX_RENEWALS", "PERIODS", "UNITS", "Dosage", "parse_amount"]

# unit -> (largest single intake, largest daily total)
UNITS: dict[str, tuple[Decimal, Decimal]] = {
    "comprimé": (Decimal(10), Decimal(40)),
    "gélule": (Decimal(10), Decimal(40)),
    "sachet": (Decimal(6), Decimal(12)),
    "mL": (Decimal(100), Decimal(500)),
    "mg": (Decimal(4000), Decimal(12000)),
    "goutte": (Decimal(60), Decimal(240)),
    "bouffée": (Decimal(8), Decimal(24)),
    "application": (Decimal(4), Decimal(8)),
    "suppositoire": (Decimal(2), Decimal(6)),
    "ampoule": (Decimal(4), Decimal(8)),
    "unité": (Decimal(200), Decimal(400)),  # insulin units
}
PERIODS: dict[str, int] = {"h": 1, "d": 24, "wk": 24 * 7}  # FHIR UCUM period units, in hours
MAX_DURATION_DAYS = 365
MAX_RENEWALS = 11
_FR_PERIOD = {"h": "heure", "d": "jour", "wk": "semaine"}
_EN_PERIOD = {"h": "hour", "d": "day", "wk": "week"}


def parse_amount(text: str | int | float | Decimal, what: str = "la dose / the dose") -> Decimal:
    """A positive decimal with at most 3 decimals (a comma is accepted as decimal mark)."""
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ImplausibleDosage(f"{what} : nombre attendu / a number is expected") from None
    if not value.is_finite() or value <= 0:
        raise ImplausibleDosage(f"{what} doit être positive / must be positive")
    if value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise ImplausibleDosage(f"{what} : 3 décimales au plus / at most 3 decimals")
    return value


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


@dataclass(frozen=True)
class Dosage:
    """A checked dosage; construct it only through ``Dosage.checked``."""

    amount: Decimal
    unit: str
    frequency: int
    period: str
    duration_days: int

    @classmethod
    def checked(
        cls,
        amount: str | int | float | Decimal,
        unit: str,
        frequency: int,
        period: str,
        duration_days: int,
    ) -> Dosage:
        """Refuse an unknown unit or period, a zero or absurd dose, rate or duration."""
        value = parse_amount(amount)
        if unit not in UNITS:
            raise ImplausibleDosage(
                f"unité inconnue / unknown unit (one of: {', '.join(sorted(UNITS))})"
            )
        if period not in PERIODS:
            raise ImplausibleDosage("période inconnue (h, d, wk) / unknown period (h, d, wk)")
        if not isinstance(frequency, int) or isinstance(frequency, bool) or frequency < 1:
            raise ImplausibleDosage("fréquence au moins 1 / frequency at least 1")
        if not isinstance(duration_days, int) or not 1 <= duration_days <= MAX_DURATION_DAYS:
            raise ImplausibleDosage(
                f"durée de 1 à {MAX_DURATION_DAYS} jours / duration 1 to {MAX_DURATION_DAYS} days"
            )
        per_intake, per_day = UNITS[unit]
        intakes_per_day = Decimal(frequency) * 24 / PERIODS[period]
        if intakes_per_day > 24:
            raise ImplausibleDosage("plus d'une prise par heure / more than one intake an hour")
        if value > per_intake:
            raise ImplausibleDosage(
                f"dose par prise trop élevée (> {per_intake} {unit}) / dose per intake too high"
            )
        if value * intakes_per_day > per_day:
            raise ImplausibleDosage(
                f"dose quotidienne trop élevée (> {per_day} {unit}) / daily dose too high"
            )
        return cls(value, unit, frequency, period, duration_days)

    def text_fr(self) -> str:
        times = "1 fois" if self.frequency == 1 else f"{self.frequency} fois"
        return (
            f"{_number(self.amount)} {self.unit} {times} par {_FR_PERIOD[self.period]} "
            f"pendant {self.duration_days} jour{'s' if self.duration_days > 1 else ''}"
        )

    def text_en(self) -> str:
        return (
            f"{_number(self.amount).replace(',', '.')} {self.unit} {self.frequency} time(s) a "
            f"{_EN_PERIOD[self.period]} for {self.duration_days} day(s)"
        )
