"""The root of every error Caducée raises on purpose.

Each part has its own tree below ``CaduceeError`` (``crypto.errors``, ``formats.errors``, ...),
so a caller can catch one part's failures, or all of Caducée's, and nothing else. This module
imports nothing, so the pure libraries may use it without breaking the dependency rule.
"""


class CaduceeError(Exception):
    """Something Caducée refused or could not do, with a reason a person can act on.

    ``code`` is a stable, machine-readable name (used in problem+json answers and exit
    statuses); the message is for people.
    """

    code: str = "caducee-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def reason(self) -> str:
        """The human-readable reason."""
        return str(self.args[0]) if self.args else self.code
