"""Errors of the health-format parsers.

    CaduceeError
     └── FormatError                 carries ``line`` and ``field`` (never patient content)
          ├── UnknownEncoding         bytes no supported encoding explains
          ├── TruncatedDocument       a document or file ends before its terminator
          ├── MissingHeaderLine       fewer than 12 HPRIM header lines
          ├── MissingField            a required field is empty
          ├── InvalidDate             a date that cannot be read or does not exist
          ├── InvalidNIR              a NIR of the wrong shape or with the wrong key
          ├── InvalidIdentity         an INS identity trait that breaks the rules
          ├── MalformedResultLine     an HPRIM ``RES|`` line that cannot be read
          ├── MalformedRecord         an HPRIM Santé record that cannot be read
          ├── InvalidDelimiters       an HPRIM Santé ``H`` record with unusable delimiters
          └── UnexpectedContent       a line that has no place where it stands

Parsers raise one of these and nothing else; messages name a line and a field, never a value.
"""

from caducee.errors import CaduceeError

__all__ = [
    "ERRORS_BY_CODE",
    "FormatError",
    "InvalidDate",
    "InvalidDelimiters",
    "InvalidIdentity",
    "InvalidNIR",
    "MalformedRecord",
    "MalformedResultLine",
    "MissingField",
    "MissingHeaderLine",
    "TruncatedDocument",
    "UnexpectedContent",
    "UnknownEncoding",
]


class FormatError(CaduceeError):
    """A document that cannot be read as the format it claims to be.

    ``line`` is 1-based in the decoded file (``None`` when it does not apply); ``field`` is the
    name of the field at fault. Neither ever holds patient data.
    """

    code = "format-error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"ligne/line {self.line}")
        if self.field is not None:
            where.append(f"champ/field {self.field}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.reason}{suffix}"


class UnknownEncoding(FormatError):
    code = "unknown-encoding"


class TruncatedDocument(FormatError):
    code = "truncated-document"


class MissingHeaderLine(FormatError):
    code = "missing-header-line"


class MissingField(FormatError):
    code = "missing-field"


class InvalidDate(FormatError):
    code = "invalid-date"


class InvalidNIR(FormatError):
    code = "invalid-nir"


class InvalidIdentity(FormatError):
    code = "invalid-identity"


class MalformedResultLine(FormatError):
    code = "malformed-result-line"


class MalformedRecord(FormatError):
    code = "malformed-record"


class InvalidDelimiters(FormatError):
    code = "invalid-delimiters"


class UnexpectedContent(FormatError):
    code = "unexpected-content"


ERRORS_BY_CODE: dict[str, type[FormatError]] = {
    cls.code: cls
    for cls in (
        FormatError,
        UnknownEncoding,
        TruncatedDocument,
        MissingHeaderLine,
        MissingField,
        InvalidDate,
        InvalidNIR,
        InvalidIdentity,
        MalformedResultLine,
        MalformedRecord,
        InvalidDelimiters,
        UnexpectedContent,
    )
}


class MalformedMessage(FormatError):
    """An HL7 v2 message or a FHIR resource that cannot be read at all."""

    code = "malformed-message"


class UnsupportedMessage(FormatError):
    """A well-formed message of a type we do not convert (not an ORU^R01, not a Bundle)."""

    code = "unsupported-message"


class InvalidCode(FormatError):
    """A code outside its value set (gender, status, interpretation...)."""

    code = "invalid-code"


__all__ += ["InvalidCode", "MalformedMessage", "UnsupportedMessage"]
ERRORS_BY_CODE.update(
    {cls.code: cls for cls in (MalformedMessage, UnsupportedMessage, InvalidCode)}
)
