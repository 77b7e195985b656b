"""Errors of the policy rules.

::

    PolicyError
    ├── ContentRefused        a STRICT content rule refused an outgoing message
    ├── InvalidPolicy         a policy document (JSON) that cannot be read
    └── InvalidPatientList    a practice's patient list (CSV) that cannot be read

Messages say which rule or which line and column, never patient content.
"""

from caducee.errors import CaduceeError

__all__ = ["ContentRefused", "InvalidPatientList", "InvalidPolicy", "PolicyError"]


class PolicyError(CaduceeError):
    code = "policy-error"


class ContentRefused(PolicyError):
    """``findings`` holds every refusal (and warning) that led to it."""

    code = "content-refused"

    def __init__(self, message: str, *, findings: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class InvalidPolicy(PolicyError):
    code = "invalid-policy"


class InvalidPatientList(PolicyError):
    """``line`` is 1-based in the CSV, ``column`` the header name at fault (if any)."""

    code = "invalid-patient-list"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
