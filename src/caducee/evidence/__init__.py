"""The evidence log on the database: RFC 9162 leaves and subtrees, C2SP checkpoints, receipts.

A domain package: it uses :mod:`caducee.store` and the pure :mod:`caducee.ledger` only.
Writers call :meth:`EvidenceLog.append` inside their own transaction, so an event and its
evidence commit together or not at all.
"""

from caducee.evidence.audit import LogReport, check_log
from caducee.evidence.errors import (
    EvidenceError,
    InvalidTreeRange,
    LogCorrupted,
    LogKeyError,
    UnknownRecord,
)
from caducee.evidence.log import DEFAULT_CHECKPOINT_AGE, EvidenceLog, SignedLeaf, StoredCheckpoint
from caducee.evidence.signing_key import (
    LogIdentity,
    load_log_identity,
    load_log_key,
    load_or_create_log_key,
    log_origin,
)
from caducee.evidence.timestamping import HTTPTimestamper, Timestamper
from caducee.evidence.tree import DatabaseTreeReader

__all__ = [
    "DEFAULT_CHECKPOINT_AGE",
    "DatabaseTreeReader",
    "EvidenceError",
    "EvidenceLog",
    "HTTPTimestamper",
    "InvalidTreeRange",
    "LogCorrupted",
    "LogIdentity",
    "LogKeyError",
    "LogReport",
    "SignedLeaf",
    "StoredCheckpoint",
    "Timestamper",
    "UnknownRecord",
    "check_log",
    "load_log_identity",
    "load_log_key",
    "load_or_create_log_key",
    "log_origin",
]
