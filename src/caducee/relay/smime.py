"""The one check the relay makes on a body: is it an S/MIME (CMS) encrypted structure?

RFC 5652 §3 ContentInfo whose contentType is envelopedData (§6) or authEnvelopedData
(RFC 5083). Only the outer header is read (asn1crypto parses lazily); nothing is decrypted.
"""

from __future__ import annotations

from asn1crypto import cms

from caducee.relay.errors import NotSMIME

__all__ = ["ENCRYPTED_CONTENT_TYPES", "check_encrypted_cms"]

ENCRYPTED_CONTENT_TYPES = frozenset({"enveloped_data", "authenticated_enveloped_data"})


def check_encrypted_cms(body: bytes) -> str:
    """Return the CMS content type name, or raise ``NotSMIME``."""
    try:
        info = cms.ContentInfo.load(body, strict=True)
        content_type = info["content_type"].native
        content = info["content"]
        if content_type not in ENCRYPTED_CONTENT_TYPES:
            raise NotSMIME(f"a CMS {content_type} is not an encrypted S/MIME message")
        # Touch the first field so that a truncated inner structure is refused too.
        content["version"].native  # noqa: B018
    except NotSMIME:
        raise
    except Exception:  # asn1crypto raises ValueError, TypeError, KeyError...: map them all
        raise NotSMIME("the body is not a DER/BER CMS ContentInfo") from None
    return str(content_type)
