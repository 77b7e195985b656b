"""Dispensing lines (MedicationDispense, reduced) and the rules that make a close complete.

Every line of the prescription gets exactly one entry: ``full`` (the prescribed quantity),
``partial`` (less), ``substituted`` (another checked CIP13, e.g. a generic) or
``not-dispensed`` (with a reason). A close that misses a line is refused whole, so a
prescription is never half-dispensed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from caducee.prescriptions.bundle import Prescription
from caducee.prescriptions.codes import DrugCodeKind, parse_drug_code
from caducee.prescriptions.errors import DispenseRejected, PrescriptionError

__all__ = ["DispenseItem", "Outcome", "check_dispense"]


class Outcome(enum.StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    SUBSTITUTED = "substituted"
    NOT_DISPENSED = "not-dispensed"


@dataclass(frozen=True)
class DispenseItem:
    line: int  # 1-based, as in the MedicationRequest identifiers
    outcome: Outcome
    quantity: int
    code: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "outcome": self.outcome.value,
            "quantity": self.quantity,
            "code": self.code,
            "reason": self.reason,
        }


def check_dispense(prescription: Prescription, items: Sequence[DispenseItem]) -> list[DispenseItem]:
    """The items in line order, or ``DispenseRejected`` saying which line is wrong."""
    expected = len(prescription.lines)
    by_line = {i.line: i for i in items}
    if len(by_line) != len(items) or set(by_line) != set(range(1, expected + 1)):
        raise DispenseRejected(
            f"une entrée par ligne (1 à {expected}) / one entry per line (1 to {expected})"
        )
    out = []
    for number in range(1, expected + 1):
        item, line = by_line[number], prescription.lines[number - 1]
        prescribed = line.drug.code if line.drug is not None else None
        where = f"ligne {number} / line {number}"
        if not isinstance(item.quantity, int) or not 0 <= item.quantity <= 100:
            raise DispenseRejected(f"{where}: quantité de 0 à 100 / quantity 0 to 100")
        if item.outcome is Outcome.FULL:
            if item.quantity != line.quantity or item.code not in (None, prescribed):
                raise DispenseRejected(
                    f"{where}: « full » = la quantité et le produit prescrits / the prescribed "
                    "quantity and product"
                )
        elif item.outcome is Outcome.PARTIAL:
            if not 1 <= item.quantity < line.quantity:
                raise DispenseRejected(
                    f"{where}: « partial » = moins que prescrit / less than prescribed"
                )
        elif item.outcome is Outcome.SUBSTITUTED:
            try:
                code = parse_drug_code(item.code or "")
            except PrescriptionError as exc:
                raise DispenseRejected(f"{where}: {exc.reason}") from None
            if code.kind is not DrugCodeKind.CIP13 or code.code == prescribed:
                raise DispenseRejected(
                    f"{where}: substitution = un autre CIP13 / another CIP13 is needed"
                )
            if item.quantity < 1:
                raise DispenseRejected(f"{where}: quantité au moins 1 / quantity at least 1")
        else:
            reason = (item.reason or "").strip()
            if item.quantity != 0 or not 3 <= len(reason) <= 200:
                raise DispenseRejected(
                    f"{where}: non délivré = quantité 0 et un motif / not dispensed = quantity "
                    "0 and a reason"
                )
        out.append(item)
    return out
