"""The mail edge: SMTP submission for mail clients, inbound mail from the MSSanté trust
space (encrypted on arrival), the outbound queue to other operators (retries, DSN), the
white list, application passwords, X-MSS-* headers and the subject convention, Dovecot
(IMAP) fed over LMTP with ciphertexts."""

from caducee.gateway.config import GatewayConfig
from caducee.gateway.dovecot import DovecotServer
from caducee.gateway.edge import SMTPEdge, load_tls_context, start_smtp_edge, stop_smtp_edge
from caducee.gateway.errors import (
    BadCredentials,
    GatewayError,
    HeaderError,
    PasswordError,
    SMTPRefusal,
    TrustListError,
    TrustListUnavailable,
)
from caducee.gateway.headers import MSSHeaders, read_mss_headers, set_mss_headers
from caducee.gateway.imap_delivery import IMAPDelivery
from caducee.gateway.inbound import InboundHandler
from caducee.gateway.models import IMAPCursor, OutboundMail, OutboundState
from caducee.gateway.outbound import OutboundQueue
from caducee.gateway.passwords import AppPasswordService, CreatedPassword, SMTPIdentity
from caducee.gateway.subject import display_subject, make_subject, parse_subject
from caducee.gateway.submission import SubmissionHandler
from caducee.gateway.trust_list import TrustList, TrustListRefresher, parse_trust_list

__all__ = [
    "AppPasswordService",
    "BadCredentials",
    "CreatedPassword",
    "DovecotServer",
    "GatewayConfig",
    "GatewayError",
    "HeaderError",
    "IMAPCursor",
    "IMAPDelivery",
    "InboundHandler",
    "MSSHeaders",
    "OutboundMail",
    "OutboundQueue",
    "OutboundState",
    "PasswordError",
    "SMTPEdge",
    "SMTPIdentity",
    "SMTPRefusal",
    "SubmissionHandler",
    "TrustList",
    "TrustListError",
    "TrustListRefresher",
    "TrustListUnavailable",
    "display_subject",
    "load_tls_context",
    "make_subject",
    "parse_subject",
    "parse_trust_list",
    "read_mss_headers",
    "set_mss_headers",
    "start_smtp_edge",
    "stop_smtp_edge",
]
