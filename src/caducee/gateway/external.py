"""Accept clear mail for other MSSanté operators (from the submission port or the agent API).

Every recipient must be outside our domains and inside the trust space; the message passes
``check_mail``; it gets ``X-MSS-NIL`` (ECO.2.4.3) and a ``Message-ID`` when it has none, and
our Received line (RFC 5321 §4.4), and ``X-MSS-CODECDA``/``X-MSS-INS`` (ECO.2.4.1-2) when
it carries an IHE_XDM.ZIP with CDA documents and lacks them; then it is queued (durable on
return). Refusals are the gateway's ``SMTPRefusal`` errors, so both faces answer alike.
"""

from __future__ import annotations

import contextlib
import re
from email.utils import formatdate

from caducee.formats.xdm import XDMError, XDMSubmission, cda_code
from caducee.gateway._mail import domain_of, message_id_of
from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import DomainNotTrusted, RelayDenied
from caducee.gateway.headers import CODECDA, INS
from caducee.gateway.mail_check import CheckedMail, check_mail
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.trust_list import TrustList

__all__ = ["INS_OIDS", "check_external_recipient", "queue_external"]

# The INS OIDs (NIR, NIA; the ANS test OIDs): a patient id in one of them is a qualified INS.
INS_OIDS = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10",
            "1.2.250.1.213.1.4.11")  # fmt: skip
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-^]{0,63}")


def _cda_codes(xdm: XDMSubmission) -> tuple[str, ...]:
    """The documents' type codes, or their CDA header codes (ECO.2.4.1)."""
    if xdm.type_codes:
        return xdm.type_codes
    codes: list[str] = []
    for document in xdm.documents:
        with contextlib.suppress(XDMError):
            code = cda_code(document.content) if document.mime_type.endswith("xml") else None
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)


def _xdm_headers(checked: CheckedMail) -> bytes:
    """``X-MSS-CODECDA`` and ``X-MSS-INS`` for an XDM with CDA documents, when missing."""
    if checked.xdm is None or checked.mss.codes_cda:
        return b""
    codes = [c for c in _cda_codes(checked.xdm) if _CODE.fullmatch(c)]
    if not codes:
        return b""
    fields = f"{CODECDA}: {','.join(codes[:50])}\r\n"
    if checked.mss.ins_qualified is None:
        patient = checked.xdm.patient_id or ""
        fields += f"{INS}: {'O' if any(oid in patient for oid in INS_OIDS) else 'N'}\r\n"
    return fields.encode("ascii")


def check_external_recipient(config: GatewayConfig, trust_list: TrustList, address: str) -> None:
    """Raise unless ``address`` is another operator's, in the MSSanté trust space."""
    domain = domain_of(address)
    if config.is_internal(domain):
        raise RelayDenied(
            f"{address} is a Caducée address: send it encrypted through the relay, not the gateway"
        )
    if not trust_list.allows(domain):
        raise DomainNotTrusted(
            f"recipient domain {domain or '(none)'} is not in the MSSanté trust space "
            "(liste blanche): not relayed"
        )


async def queue_external(
    queue: OutboundQueue,
    config: GatewayConfig,
    *,
    sender: str,
    sender_mailbox_id: int,
    recipients: list[str],
    content: bytes,
    checked: CheckedMail | None = None,
    via: str = "ESMTPSA",
) -> str:
    """Check (unless already ``checked``) and queue; return the Message-ID used."""
    checked = checked or check_mail(content, max_received=config.max_received_headers)
    message_id = message_id_of(checked.message, content, "out")
    extra = b""
    if checked.mss.nil is None:
        extra += f"X-MSS-NIL: {config.mss_nil}\r\n".encode("ascii")
    if not checked.message.get("Message-ID"):
        extra += f"Message-ID: <{message_id}>\r\n".encode("ascii")
    extra += _xdm_headers(checked)
    trace = (
        f"Received: from [{domain_of(sender)}] by {config.hostname} "
        f"with {via} id {message_id[:64]};\r\n\t{formatdate(usegmt=True)}\r\n"
    ).encode("ascii", "replace")
    await queue.enqueue(
        message_id=message_id,
        sender=sender,
        sender_mailbox_id=sender_mailbox_id,
        recipients=recipients,
        content=trace + extra + content,
    )
    return message_id
