"""Problems found by the validators: one per fault, each with a line and a field.

Parsers and validators share one walk over the input: the walk records every problem; the
validator returns them all, the parser raises the first error as its typed ``FormatError``.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from caducee.formats.errors import ERRORS_BY_CODE, FormatError

__all__ = ["Problem", "ProblemList", "Severity"]


class Severity(StrEnum):
    """``error``: the document cannot be trusted; ``warning``: a tolerated quirk."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One fault: a stable ``code`` (an error class's code), a message, where it is."""

    code: str
    message: str
    line: int | None = None
    field: str | None = None
    severity: Severity = Severity.ERROR

    def to_error(self) -> FormatError:
        """The typed exception a parser raises for this problem."""
        cls = ERRORS_BY_CODE.get(self.code, FormatError)
        return cls(self.message, line=self.line, field=self.field)

    def to_dict(self) -> dict[str, str | int | None]:
        """A JSON-ready view (no patient content: only positions and codes)."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class ProblemList:
    """Collects problems during one walk."""

    items: list[Problem] = field(default_factory=list)

    def error(self, code: str, message: str, line: int | None, field: str | None) -> None:
        self.items.append(Problem(code, message, line, field, Severity.ERROR))

    def warning(self, code: str, message: str, line: int | None, field: str | None) -> None:
        self.items.append(Problem(code, message, line, field, Severity.WARNING))

    def add(self, error: FormatError) -> None:
        """Record a typed error raised by a helper (e.g. the NIR checker)."""
        self.items.append(Problem(error.code, error.reason, error.line, error.field))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    def raise_first(self) -> None:
        """Raise the error that comes first in the file, if any."""
        errors = sorted(self.errors, key=lambda p: p.line or 0)
        if errors:
            raise errors[0].to_error()
