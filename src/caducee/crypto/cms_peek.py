"""What kind of CMS structure a body is, from its outer header only (RFC 5652 §3).

The relay asks this of every submission; asn1crypto answers in about as much time as the
rest of a submission, so strict DER is read here by hand (:mod:`caducee.crypto._der`) and
anything else (BER, an unusual form) by asn1crypto, which gives the same answer slowly.
"""

from __future__ import annotations

from asn1crypto import cms

from caducee.crypto._der import Unusual, children, read
from caducee.crypto.errors import MalformedMessage

__all__ = ["peek_content_type"]

_NAMES = {
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01": "data",
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02": "signed_data",
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03": "enveloped_data",
    b"\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17": "authenticated_enveloped_data",
}

# The top-level fields the fast path accepts (identifier octets), per content type:
# EnvelopedData (RFC 5652 §6.1) version, recipientInfos, encryptedContentInfo [, [1] unprotected
# attributes]; AuthEnvelopedData (RFC 5083 §2.1) version, recipientInfos,
# authEncryptedContentInfo [, [1] authAttrs], mac [, [2] unauthAttrs].
_SHAPES = {
    "signed_data": (b"\x02\x31\x30\xa0\x31", b"\x02\x31\x30\x31"),
    "enveloped_data": (b"\x02\x31\x30", b"\x02\x31\x30\xa1"),
    "authenticated_enveloped_data": (
        b"\x02\x31\x30\x04",
        b"\x02\x31\x30\xa1\x04",
        b"\x02\x31\x30\x04\xa2",
        b"\x02\x31\x30\xa1\x04\xa2",
    ),
}


def peek_content_type(data: bytes) -> str:
    """The ContentInfo's content type (asn1crypto's name, e.g. ``enveloped_data``).

    The whole input must be one ContentInfo whose content starts with its ``version``
    INTEGER (so that a truncated body is refused); otherwise ``MalformedMessage``.
    """
    try:
        return _strict_der(data)
    except Unusual:
        pass
    try:
        info = cms.ContentInfo.load(data, strict=True)
        name = info["content_type"].native
        info["content"]["version"].native  # noqa: B018 (parse the first inner field)
    except Exception:  # asn1crypto raises ValueError, TypeError, KeyError...
        raise MalformedMessage("the body is not a DER/BER CMS ContentInfo") from None
    return str(name)


def _strict_der(data: bytes) -> str:
    tag, start, end = read(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise Unusual
    o_tag, _, o_end = read(data, start, end)
    name = _NAMES.get(data[start:o_end])
    if o_tag != 0x06 or name is None or name == "data":
        raise Unusual  # id-data's content is an OCTET STRING: let asn1crypto judge
    c_tag, c_start, c_end = read(data, o_end, end)
    if c_tag != 0xA0 or c_end != end:
        raise Unusual
    s_tag, s_start, s_end = read(data, c_start, c_end)
    if s_tag != 0x30 or s_end != c_end:
        raise Unusual
    shape = bytes(child[0] for child in children(data, s_start, s_end))
    if shape not in _SHAPES.get(name, ()):
        raise Unusual  # an optional field or an odd form: let asn1crypto judge
    return name
