"""Errors of the database-backed evidence log.

CaduceeError
 └── EvidenceError
      ├── UnknownRecord     no record at this leaf index (or the log is smaller)
      ├── InvalidTreeRange  a proof asked between sizes the log cannot answer
      ├── LogKeyError       the log's signing key file is missing, lax or unreadable
      └── LogCorrupted      stored records, nodes or checkpoints disagree (RFC 9162 §2.1)
"""

from caducee.errors import CaduceeError

__all__ = [
    "EvidenceError",
    "InvalidTreeRange",
    "LogCorrupted",
    "LogKeyError",
    "UnknownRecord",
]


class EvidenceError(CaduceeError):
    code = "evidence-error"


class UnknownRecord(EvidenceError):
    code = "evidence-unknown-record"


class InvalidTreeRange(EvidenceError):
    code = "evidence-invalid-tree-range"


class LogKeyError(EvidenceError):
    code = "evidence-log-key"


class LogCorrupted(EvidenceError):
    """The stored log contradicts itself; ``reason`` names the row and what differs."""

    code = "evidence-log-corrupted"
