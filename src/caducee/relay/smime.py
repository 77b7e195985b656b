"""The one check the relay makes on a body: is it an S/MIME (CMS) encrypted structure?

RFC 5652 §3 ContentInfo whose contentType is envelopedData (§6) or authEnvelopedData
(RFC 5083). Only the outer header is read; nothing is decrypted.
"""

from __future__ import annotations

from caducee.crypto.cms_peek import peek_content_type
from caducee.crypto.errors import MalformedMessage
from caducee.relay.errors import NotSMIME

__all__ = ["ENCRYPTED_CONTENT_TYPES", "check_encrypted_cms"]

ENCRYPTED_CONTENT_TYPES = frozenset({"enveloped_data", "authenticated_enveloped_data"})


def check_encrypted_cms(body: bytes) -> str:
    """Return the CMS content type name, or raise ``NotSMIME``."""
    try:
        content_type = peek_content_type(body)
    except MalformedMessage:
        raise NotSMIME("the body is not a DER/BER CMS ContentInfo") from None
    if content_type not in ENCRYPTED_CONTENT_TYPES:
        raise NotSMIME(f"a CMS {content_type} is not an encrypted S/MIME message")
    return content_type
