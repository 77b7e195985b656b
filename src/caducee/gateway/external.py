"""Accept clear mail for other MSSanté operators (from the submission port or the agent API).

Every recipient must be outside our domains and inside the trust space; the message passes
``check_mail``; it gets ``X-MSS-NIL`` (ECO.2.4.3) and a ``Message-ID`` when it has none, and
our Received line (RFC 5321 §4.4); then it is queued (durable on return). Refusals are the
gateway's ``SMTPRefusal`` errors, so both faces answer with the same code and reason.
"""

from __future__ import annotations

from email.utils import formatdate

from caducee.gateway._mail import domain_of, message_id_of
from caducee.gateway.config import GatewayConfig
from caducee.gateway.errors import DomainNotTrusted, RelayDenied
from caducee.gateway.mail_check import CheckedMail, check_mail
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.trust_list import TrustList

__all__ = ["check_external_recipient", "queue_external"]


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
