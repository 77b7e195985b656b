"""Delivery Status Notifications (RFC 3464) for mail the outbound queue gave up on.

``multipart/report; report-type=delivery-status`` (RFC 6522) with a ``text/plain`` part
(French, then English), a ``message/delivery-status`` part (per-message fields, then one
block per failed recipient: ``Final-Recipient``, ``Action: failed``, ``Status``,
``Diagnostic-Code``) and the original's header section as ``text/rfc822-headers``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate

__all__ = ["FailedRecipient", "make_dsn"]

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True)
class FailedRecipient:
    """One recipient the queue gave up on, with the last reply it got (RFC 3464 §2.3)."""

    address: str
    status: str  # RFC 3463 enhanced code, e.g. 5.1.1 or 4.4.7 (expired)
    diagnostic: str  # the remote reply, or why we could not reach it
    remote_mta: str | None = None

    def __post_init__(self) -> None:
        status = self.status if _STATUS.fullmatch(self.status) else "5.0.0"
        object.__setattr__(self, "status", "5" + status[1:])  # "failed" is permanent


def _ascii_line(value: str) -> str:
    return " ".join(value.encode("ascii", "replace").decode("ascii").split())[:400]


def _header_section(original: bytes) -> bytes:
    end = original.find(b"\r\n\r\n")
    if end < 0:
        end = original.find(b"\n\n")
    head = original if end < 0 else original[:end]
    return re.sub(rb"\r?\n", b"\r\n", head[: 256 * 1024]) + b"\r\n"


def make_dsn(
    original: bytes,
    *,
    to: str,
    from_address: str,
    reporting_mta: str,
    original_message_id: str,
    arrival_date: str,
    failed: list[FailedRecipient],
    message_id: str,
) -> bytes:
    """The DSN to ``to`` (the original sender) for ``failed`` recipients, as CRLF bytes."""
    boundary = "=_dsn_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    subject = "Non remis / Undelivered: " + ", ".join(r.address for r in failed)[:200]
    people = "\r\n".join(f"  {r.address} : {r.status} {_ascii_line(r.diagnostic)}" for r in failed)
    text = (
        f"Votre message <{original_message_id}> n'a pas pu être remis à :\r\n{people}\r\n"
        "Il ne sera plus réessayé. Vérifiez l'adresse ou contactez le support.\r\n\r\n"
        f"Your message <{original_message_id}> could not be delivered to:\r\n{people}\r\n"
        "It will not be retried. Check the address or contact support.\r\n"
    )
    per_message = [
        f"Reporting-MTA: dns; {reporting_mta}",
        f"Original-Envelope-Id: {original_message_id}",
        f"Arrival-Date: {arrival_date}",
    ]
    blocks = ["\r\n".join(per_message)]
    for recipient in failed:
        lines = [
            f"Final-Recipient: rfc822; {recipient.address}",
            "Action: failed",
            f"Status: {recipient.status}",
            f"Diagnostic-Code: smtp; {_ascii_line(recipient.diagnostic)}",
        ]
        if recipient.remote_mta:
            lines.append(f"Remote-MTA: dns; {recipient.remote_mta}")
        lines.append(f"Last-Attempt-Date: {formatdate(usegmt=True)}")
        blocks.append("\r\n".join(lines))
    status = "\r\n\r\n".join(blocks) + "\r\n"
    head = (
        f"From: {from_address}\r\nTo: {to}\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\nMessage-ID: <{message_id}>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="{boundary}"'
        "\r\n\r\n"
    )
    return b"".join(
        [
            head.encode("ascii"),
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n".encode(),
            text.encode("utf-8"),
            f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n".encode(),
            status.encode("ascii"),
            f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n".encode(),
            _header_section(original),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
