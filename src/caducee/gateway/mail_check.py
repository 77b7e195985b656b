"""Checks on clear MIME mail crossing the MSSanté edge (inbound, and outbound to peers).

A message is refused with a precise reply (``BadMessage`` 554 5.6.0, ``MailLoop`` 554 5.4.6)
when: it carries more Received lines than the limit (RFC 5321 §6.3), it has no From
(RFC 5322 §3.6), its MIME structure is broken (RFC 2046 §5.1: boundaries), its X-MSS-*
headers are invalid, or its ``IHE_XDM.ZIP`` cannot be read (``formats.xdm``). Only names of
parts and codes go into the reasons, never content.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import errors as email_errors
from email.message import Message
from email.parser import BytesParser

from caducee.formats.xdm import XDMError, XDMSubmission, read_xdm
from caducee.gateway.errors import BadMessage, HeaderError, MailLoop
from caducee.gateway.headers import MSSHeaders, read_mss_headers

__all__ = ["XDM_FILENAME", "CheckedMail", "check_mail"]

XDM_FILENAME = "IHE_XDM.ZIP"
_BROKEN = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)


@dataclass(frozen=True)
class CheckedMail:
    """A message that passed: its parsed form, X-MSS-* headers and XDM archive if any."""

    message: Message
    mss: MSSHeaders
    xdm: XDMSubmission | None


def _xdm_part(message: Message) -> Message | None:
    for part in message.walk():
        name = part.get_filename()
        if name and name.strip().upper() == XDM_FILENAME:
            return part
    return None


def check_mail(content: bytes, *, max_received: int) -> CheckedMail:
    """Parse and check ``content``; raise ``BadMessage`` or ``MailLoop`` (with the reason)."""
    message = BytesParser().parsebytes(content)
    received = len(message.get_all("Received") or [])
    if received > max_received:
        raise MailLoop(f"too many Received headers ({received}): mail loop detected, refused")
    if not message.get("From"):
        raise BadMessage("malformed message: no From header (RFC 5322 section 3.6)")
    for part in message.walk():
        broken = [d for d in part.defects if isinstance(d, _BROKEN)]
        if broken:
            raise BadMessage(
                f"malformed MIME: {type(broken[0]).__name__} in a "
                f"{part.get_content_type()} part (RFC 2046 section 5.1)"
            )
    try:
        mss = read_mss_headers(message)
    except HeaderError as exc:
        raise BadMessage(f"invalid MSSante header: {exc.reason}") from None
    attachment = _xdm_part(message)
    xdm = None
    if attachment is not None:
        payload = attachment.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            raise BadMessage(f"the {XDM_FILENAME} attachment is empty or cannot be decoded")
        try:
            xdm = read_xdm(payload)
        except XDMError as exc:
            raise BadMessage(
                f"the {XDM_FILENAME} attachment cannot be read: {exc.reason}"
            ) from None
    return CheckedMail(message, mss, xdm)
