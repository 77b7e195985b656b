"""Errors of the ledger core.

    CaduceeError
     └── LedgerError
          ├── MalformedInput                bytes or text that cannot be read
          │    ├── MalformedRecord          an evidence record that is not well formed
          │    ├── MalformedCheckpoint      a signed note / checkpoint that is not well formed
          │    ├── MalformedKey             a note verifier key string that is not well formed
          │    ├── MalformedReceipt         a receipt that is truncated, mistyped or unknown
          │    └── NotCanonicalizable       a value RFC 8785 cannot represent (NaN, big int)
          ├── InvalidProof                  a Merkle proof that does not prove its claim
          │    ├── InclusionProofInvalid    RFC 9162 §2.1.3.2 failed
          │    └── ConsistencyProofInvalid  RFC 9162 §2.1.4.2 failed
          ├── SignatureInvalid
          │    ├── RecordSignatureInvalid       the record is not signed by the expected key
          │    └── CheckpointSignatureInvalid   no valid signature by the log's key
          ├── WrongLog                      a checkpoint of another log (another origin)
          ├── ForkDetected                  two different roots for the same tree size
          └── TimestampInvalid              an RFC 3161 token that does not verify

Verifiers raise one of these; they never return a bare boolean.
"""

from caducee.errors import CaduceeError

__all__ = [
    "CheckpointSignatureInvalid",
    "ConsistencyProofInvalid",
    "ForkDetected",
    "InclusionProofInvalid",
    "InvalidProof",
    "LedgerError",
    "MalformedCheckpoint",
    "MalformedInput",
    "MalformedKey",
    "MalformedReceipt",
    "MalformedRecord",
    "NotCanonicalizable",
    "RecordSignatureInvalid",
    "SignatureInvalid",
    "TimestampInvalid",
    "WrongLog",
]


class LedgerError(CaduceeError):
    code = "ledger-error"


class MalformedInput(LedgerError):
    code = "ledger-malformed-input"


class MalformedRecord(MalformedInput):
    code = "ledger-malformed-record"


class MalformedCheckpoint(MalformedInput):
    code = "ledger-malformed-checkpoint"


class MalformedKey(MalformedInput):
    code = "ledger-malformed-key"


class MalformedReceipt(MalformedInput):
    code = "ledger-malformed-receipt"


class NotCanonicalizable(MalformedInput):
    code = "ledger-not-canonicalizable"


class InvalidProof(LedgerError):
    code = "ledger-invalid-proof"


class InclusionProofInvalid(InvalidProof):
    code = "ledger-inclusion-proof-invalid"


class ConsistencyProofInvalid(InvalidProof):
    code = "ledger-consistency-proof-invalid"


class SignatureInvalid(LedgerError):
    code = "ledger-signature-invalid"


class RecordSignatureInvalid(SignatureInvalid):
    code = "ledger-record-signature-invalid"


class CheckpointSignatureInvalid(SignatureInvalid):
    code = "ledger-checkpoint-signature-invalid"


class WrongLog(LedgerError):
    code = "ledger-wrong-log"


class ForkDetected(LedgerError):
    code = "ledger-fork-detected"


class TimestampInvalid(LedgerError):
    code = "ledger-timestamp-invalid"
