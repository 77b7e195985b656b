"""S/MIME 4.0 messages (RFC 8551): sign-then-encrypt of a whole RFC 5322 message, and back.

The inner message, headers included, is wrapped as message/rfc822 (RFC 8551 §3.1) and signed
as multipart/signed with a detached application/pkcs7-signature (§3.5.3); that entity is then
enveloped as application/pkcs7-mime, smime-type enveloped-data or authEnveloped-data (§3.3,
§3.4). Opening decrypts, verifies the signature, asks a ``CertificateValidator`` about the
signer, and requires the signer certificate's rfc822Name to be the inner From (§3.8, §2.4).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import email.policy
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from cryptography import x509

from caducee.crypto._asn1 import guard
from caducee.crypto.algorithms import (
    ContentEncryption,
    DigestAlgorithm,
    KeyTransport,
    SignatureScheme,
)
from caducee.crypto.cms_decrypt import RecipientKey, decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import SignerKey, sign_data
from caducee.crypto.cms_verify import SignedContent, verify_signed_data
from caducee.crypto.errors import MalformedMessage, SenderMismatch, SignatureInvalid
from caducee.crypto.trust import CertificateValidator, KeyPurpose, ValidatedChain

__all__ = [
    "NEUTRAL_SUBJECT",
    "OpenedMessage",
    "build_smime",
    "open_smime",
    "sign_smime",
    "verify_smime_signed",
]

NEUTRAL_SUBJECT = "Document concernant votre patient"
_COPIED_HEADERS = ("From", "To", "Cc", "Date", "Message-ID")
_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_ENVELOPED = ("enveloped-data", "authenveloped-data")


@dataclass(frozen=True)
class OpenedMessage:
    """A decrypted (or signed-only) message whose signature, signer and sender all checked out."""

    content: bytes  # the inner RFC 5322 message, as signed
    message: EmailMessage
    signer_certificate: x509.Certificate
    chain: ValidatedChain
    sender: str  # the From address checked against the certificate, lower-cased
    signed: SignedContent
    protected_headers: bool  # True when From/To/Subject were inside the signature (§3.1)


def _crlf(data: bytes) -> bytes:
    """Canonical line endings (RFC 8551 §3.1.1): every line ends in CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _b64(data: bytes) -> bytes:
    """base64 in CRLF-terminated lines of 76 characters (RFC 2045 §6.8)."""
    encoded = base64.b64encode(data)
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def _split(entity: bytes) -> tuple[Message, bytes]:
    """Parse an entity's header block; return it and the raw body bytes."""
    first = re.match(rb"\r?\n", entity)  # a blank first line: no headers at all
    match = first or re.search(rb"\r?\n\r?\n", entity)
    head, body = (
        (entity, b"") if match is None else (entity[: match.start()], entity[match.end() :])
    )
    with guard("MIME headers"):
        headers = BytesParser(policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n", True)
    return headers, body


def _param(headers: Message, name: str) -> str | None:
    value = headers.get_param(name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedMessage(f"the {name} parameter is not a plain string")


def _decode(headers: Message, body: bytes) -> bytes:
    """Undo the Content-Transfer-Encoding (base64, or none)."""
    cte = str(headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if cte == "base64":
        try:
            return base64.b64decode(body.translate(None, b" \t\r\n"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedMessage("bad base64 in the S/MIME part") from exc
    if cte in ("7bit", "8bit", "binary"):
        return body
    raise MalformedMessage(f"unexpected Content-Transfer-Encoding {cte}")


def _header_lines(source: bytes, names: Sequence[str], extra: dict[str, str]) -> bytes:
    """Copy some headers of ``source`` (unfolded, no CR/LF smuggling) and add ``extra``."""
    headers, _ = _split(_crlf(source))
    lines = []
    for name in names:
        for value in headers.get_all(name, []):
            flat = re.sub(r"[\r\n]+[ \t]*", " ", str(value)).strip()
            lines.append(f"{name}: {flat}")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def _multipart_signed(
    entity: bytes,
    cert: x509.Certificate,
    key: SignerKey,
    digest: DigestAlgorithm,
    scheme: SignatureScheme | None,
    extra_certs: Sequence[x509.Certificate],
) -> bytes:
    """multipart/signed over the exact bytes of ``entity`` (RFC 8551 §3.5.3, RFC 1847 §2.1)."""
    der = sign_data(
        entity, cert, key, digest=digest, scheme=scheme, detached=True, extra_certs=extra_certs
    )
    boundary = "caducee-signed-" + os.urandom(16).hex()
    b = boundary.encode()
    return b"".join(
        [
            b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
            b"micalg=" + digest.micalg.encode() + b'; boundary="' + b + b'"\r\n\r\n',
            b"This is an S/MIME signed message\r\n--" + b + b"\r\n",
            entity,
            b"\r\n--" + b + b"\r\n",
            b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n',
            _b64(der),
            b"\r\n--" + b + b"--\r\n",
        ]
    )


def sign_smime(
    inner_message: bytes,
    signer_cert: x509.Certificate,
    signer_key: SignerKey,
    *,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    scheme: SignatureScheme | None = None,
    extra_certs: Sequence[x509.Certificate] = (),
) -> bytes:
    """A signed-only S/MIME message: the inner message wrapped as message/rfc822 and signed."""
    entity = b"Content-Type: message/rfc822\r\n\r\n" + _crlf(inner_message)
    head = _header_lines(inner_message, (*_COPIED_HEADERS, "Subject"), {"MIME-Version": "1.0"})
    return head + _multipart_signed(entity, signer_cert, signer_key, digest, scheme, extra_certs)


def build_smime(
    inner_message: bytes,
    signer_cert: x509.Certificate,
    signer_key: SignerKey,
    recipients: Sequence[x509.Certificate],
    *,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    scheme: SignatureScheme | None = None,
    encryption: ContentEncryption = ContentEncryption.AES256_CBC,
    key_transport: KeyTransport = KeyTransport.RSA_OAEP_SHA256,
    extra_certs: Sequence[x509.Certificate] = (),
    outer_subject: str = NEUTRAL_SUBJECT,
) -> bytes:
    """Sign then encrypt ``inner_message`` (RFC 8551 §3.7) for ``recipients``.

    The outer message carries only From, To, Cc, Date, Message-ID and a neutral Subject.
    Add the sender's own certificate to ``recipients`` to be able to read it back.
    """
    entity = b"Content-Type: message/rfc822\r\n\r\n" + _crlf(inner_message)
    signed = _multipart_signed(entity, signer_cert, signer_key, digest, scheme, extra_certs)
    der = envelope(signed, recipients, encryption=encryption, key_transport=key_transport)
    smime_type = encryption.smime_type
    extra = {
        "Subject": re.sub(r"[\r\n]+", " ", outer_subject),
        "MIME-Version": "1.0",
        "Content-Type": f'application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"',
        "Content-Transfer-Encoding": "base64",
        "Content-Disposition": 'attachment; filename="smime.p7m"',
    }
    return _header_lines(inner_message, _COPIED_HEADERS, extra) + b"\r\n" + _b64(der)


def _parts(body: bytes, boundary: str) -> list[bytes]:
    """The raw body parts of a multipart body (RFC 2046 §5.1.1), CRLF before delimiters removed."""
    dash = b"--" + boundary.encode()
    starts: list[tuple[int, int]] = []  # (start of the delimiter incl. its line break, end)
    at = 0
    closed = False
    while not closed:
        found = body.find(dash, at)
        if found < 0:
            break
        at = found + len(dash)
        line_start = found == 0 or body[found - 1 : found] == b"\n"
        if not line_start:
            continue
        closed = body[at : at + 2] == b"--"
        eol = body.find(b"\n", at)
        if body[at + 2 * closed : len(body) if eol < 0 else eol].strip(b" \t\r"):
            continue  # "--boundary" followed by other text is not a delimiter
        begin = found - (2 if body[found - 2 : found] == b"\r\n" else 1) if found else 0
        starts.append((begin, len(body) if eol < 0 else eol + 1))
    if len(starts) < 3 or not closed:
        raise MalformedMessage("multipart/signed needs two parts and a close delimiter")
    return [body[a[1] : b[0]] for a, b in itertools.pairwise(starts)]


def _verify_detached(signed_part: bytes, der: bytes) -> tuple[SignedContent, bytes]:
    """Verify over the part as received, then over its CRLF canonical form (§3.1.1)."""
    try:
        return verify_signed_data(der, detached_content=signed_part), signed_part
    except SignatureInvalid:
        canonical = _crlf(signed_part)
        if canonical == signed_part:
            raise
        return verify_signed_data(der, detached_content=canonical), canonical


def _unwrap_signed(entity: bytes) -> tuple[SignedContent, bytes]:
    """Verify a multipart/signed or signed-data entity; return the result and signed bytes."""
    headers, body = _split(entity)
    ctype = headers.get_content_type()
    if ctype == "multipart/signed":
        boundary = _param(headers, "boundary")
        if not boundary:
            raise MalformedMessage("multipart/signed without a boundary")
        parts = _parts(body, boundary)
        if len(parts) != 2:
            raise MalformedMessage("multipart/signed must have exactly two parts")
        sig_headers, sig_body = _split(parts[1])
        if sig_headers.get_content_type() not in (
            "application/pkcs7-signature",
            "application/x-pkcs7-signature",
        ):
            raise MalformedMessage("the second part is not application/pkcs7-signature")
        return _verify_detached(parts[0], _decode(sig_headers, sig_body))
    smime_type = (_param(headers, "smime-type") or "").lower()
    if ctype in _PKCS7_MIME and smime_type in ("signed-data", ""):
        result = verify_signed_data(_decode(headers, body))
        return result, result.content
    raise MalformedMessage(f"not a signed S/MIME entity ({ctype})")


def _sender(headers: Message) -> str:
    froms = [str(v) for v in headers.get_all("From", [])]
    addresses = [a for _, a in getaddresses(froms) if a]
    if len(froms) != 1 or len(addresses) != 1 or "@" not in addresses[0]:
        raise SenderMismatch("the signed message must have exactly one From address")
    return addresses[0].lower()


def _open_signed(
    entity: bytes,
    validator: CertificateValidator,
    at: datetime.datetime | None,
    outer_headers: Message,
) -> OpenedMessage:
    result, signed_bytes = _unwrap_signed(entity)
    part_headers, part_body = _split(signed_bytes)
    protected = part_headers.get_content_type() == "message/rfc822"
    if protected:
        inner = part_body  # RFC 8551 §3.1: the headers are protected
        inner_headers, _ = _split(inner)
    else:
        # A peer that did not wrap the message: fall back on the unprotected From (§3.8).
        inner = signed_bytes
        inner_headers = _split(entity)[0]
        if not inner_headers.get_all("From"):
            inner_headers = outer_headers
    sender = _sender(inner_headers)
    cert = result.signer_certificate
    others = [c for c in result.certificates if c != cert]
    chain = validator.validate(cert, others, purpose=KeyPurpose.EMAIL_SIGNATURE, at=at)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert_emails = {e.lower() for e in san.get_values_for_type(x509.RFC822Name)}
    except x509.ExtensionNotFound:
        cert_emails = set()
    if sender not in cert_emails or sender not in {e.lower() for e in chain.email_addresses}:
        raise SenderMismatch(f"From {sender} is not an address of the signer's certificate")
    with guard("inner message"):
        message = BytesParser(policy=email.policy.default).parsebytes(inner.replace(b"\r\n", b"\n"))
    if not isinstance(message, EmailMessage):
        raise MalformedMessage("the inner message could not be parsed")
    return OpenedMessage(inner, message, cert, chain, sender, result, protected)


def open_smime(
    message_bytes: bytes,
    certificate: x509.Certificate,
    key: RecipientKey,
    validator: CertificateValidator,
    *,
    at: datetime.datetime | None = None,
) -> OpenedMessage:
    """Decrypt, verify the signature, validate the signer and check the inner From (§3.7).

    The signer's rfc822Name must be the From of the signed (message/rfc822) message; for a
    peer that signed only the body, the outer From is used and ``protected_headers`` is False.
    """
    headers, body = _split(message_bytes)
    smime_type = (_param(headers, "smime-type") or "enveloped-data").lower()
    if headers.get_content_type() not in _PKCS7_MIME or smime_type not in _ENVELOPED:
        raise MalformedMessage("not an S/MIME enveloped message")
    entity = decrypt_enveloped(_decode(headers, body), certificate, key)
    return _open_signed(entity, validator, at, headers)


def verify_smime_signed(
    message_bytes: bytes,
    validator: CertificateValidator,
    *,
    at: datetime.datetime | None = None,
) -> OpenedMessage:
    """Verify a signed-only message (multipart/signed or opaque signed-data, RFC 8551 §3.5)."""
    headers, _ = _split(message_bytes)
    return _open_signed(message_bytes, validator, at, headers)
