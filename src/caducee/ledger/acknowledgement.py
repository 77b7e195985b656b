"""The statement a recipient signs after decrypting and verifying a message.

Its RFC 8785 canonical JSON is the content of an attached CMS SignedData made with the
recipient's own key (a file or a token): the relay keeps it, and the ``ConsignmentAcceptance``
record holds its SHA-256, so anyone holding the receipt and the signed statement can check
who acknowledged what, without trusting the operator.
"""

from dataclasses import dataclass
from datetime import datetime

from caducee.ledger.canonical_json import canonicalize, loads_strict
from caducee.ledger.errors import MalformedRecord, NotCanonicalizable
from caducee.ledger.records import format_time, parse_time

__all__ = ["ACK_VERSION", "AckStatement"]

ACK_VERSION = "caducee-ack/1"
_MEMBERS = {"v", "message_id", "ciphertext_sha256", "recipient", "time"}


@dataclass(frozen=True)
class AckStatement:
    """ "I, ``recipient``, decrypted and verified ``message_id`` (this ciphertext) at ``time``."""

    message_id: str
    ciphertext_sha256: str
    recipient: str
    time: datetime

    def to_bytes(self) -> bytes:
        return canonicalize(
            {
                "v": ACK_VERSION,
                "message_id": self.message_id,
                "ciphertext_sha256": self.ciphertext_sha256,
                "recipient": self.recipient,
                "time": format_time(self.time),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "AckStatement":
        """Read a statement; anything but its exact canonical form is refused."""
        try:
            value = loads_strict(data)
        except NotCanonicalizable as exc:
            raise MalformedRecord(f"the acknowledgement is not JSON: {exc.reason}") from None
        if not isinstance(value, dict) or set(value) != _MEMBERS:
            raise MalformedRecord("an acknowledgement has exactly the caducee-ack/1 members")
        if value["v"] != ACK_VERSION:
            raise MalformedRecord(f"acknowledgement version {value['v']!r} is not {ACK_VERSION}")
        if not all(isinstance(value[k], str) for k in _MEMBERS):
            raise MalformedRecord("every member of an acknowledgement is a string")
        statement = cls(
            value["message_id"], value["ciphertext_sha256"], value["recipient"],
            parse_time(value["time"]),
        )  # fmt: skip
        if statement.to_bytes() != data:
            raise MalformedRecord("the acknowledgement is not in canonical JSON")
        return statement
