"""An HPRIM document as rows for the agent UI's results table.

One row per ``RES`` line, in order: label (the code when the label is empty), value, unit,
normal range, the lab's flag, and ``abnormal``. The lab's flag decides (``L``, ``H``, ``LL``,
``HH`` are abnormal, ``N`` is not); with no flag, a number outside its numeric range is marked
abnormal and ``computed`` says the mark is ours, not the lab's.
"""

from dataclasses import dataclass
from decimal import Decimal

from caducee.formats.hprim_model import HPRIMDocument, HPRIMResult

__all__ = ["ABNORMAL", "ResultRow", "result_row", "results_table"]

ABNORMAL = frozenset({"L", "H", "LL", "HH"})


@dataclass(frozen=True)
class ResultRow:
    """One line of the table; texts as the lab wrote them."""

    code: str
    label: str
    value: str
    unit: str
    low: str
    high: str
    flag: str
    abnormal: bool
    computed: bool = False

    @property
    def range_text(self) -> str:
        """``low - high``, ``≥ low``, ``≤ high`` or empty, for display."""
        if self.low and self.high:
            return f"{self.low} - {self.high}"
        if self.low:
            return f"≥ {self.low}"
        return f"≤ {self.high}" if self.high else ""


def _outside(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> bool:
    if value is None:
        return False
    return (low is not None and value < low) or (high is not None and value > high)


def result_row(result: HPRIMResult) -> ResultRow:
    """The row for one result (see the module docstring for ``abnormal``)."""
    flag = result.flag.strip().upper()
    if flag:
        abnormal, computed = flag in ABNORMAL, False
    else:
        comparator = result.value.strip()[:1] in ("<", ">")
        value = None if comparator else result.numeric_value
        abnormal = _outside(value, result.numeric_low, result.numeric_high)
        computed = abnormal
    return ResultRow(
        code=result.code,
        label=result.label or result.code,
        value=result.value,
        unit=result.unit,
        low=result.low,
        high=result.high,
        flag=result.flag,
        abnormal=abnormal,
        computed=computed,
    )


def results_table(document: HPRIMDocument) -> tuple[ResultRow, ...]:
    """Rows for every result of ``document``, in the order the lab sent them."""
    return tuple(result_row(r) for r in document.results)
