"""S/MIME 4.0 messages (RFC 8551): sign-then-encrypt of a whole RFC 5322 message, and back.

The inner message, headers included, is wrapped as message/rfc822 (RFC 8551 §3.1) and signed
as multipart/signed with a detached application/pkcs7-signature (§3.5.3); that entity is then
enveloped as application/pkcs7-mime, smime-type enveloped-data or authEnveloped-data (§3.3,
§3.4). Opening decrypts, verifies the signature, asks a ``CertificateValidator`` about the
signer, and requires the signer certificate's rfc822Name to be the inner From (§3.8, §2.4).
"""

from __future__ import annotations

import datetime
import email.policy
import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

from cryptography import x509

from caducee.crypto._asn1 import guard
from caducee.crypto._mime import (
    Headers,
    addresses,
    b64,
    crlf,
    decode,
    head_of,
    multipart_parts,
    split,
)
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
    "enveloped_entity",
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
    signer_certificate: x509.Certificate
    chain: ValidatedChain
    sender: str  # the From address checked against the certificate, lower-cased
    signed: SignedContent
    protected_headers: bool  # True when From/To/Subject were inside the signature (§3.1)

    @functools.cached_property
    def message(self) -> EmailMessage:
        """The inner message parsed by ``email`` (policy default), on first use.

        Raises ``MalformedMessage`` if it cannot be parsed (in practice it always can).
        """
        with guard("inner message"):
            parser = BytesParser(policy=email.policy.default)
            message = parser.parsebytes(self.content.replace(b"\r\n", b"\n"))
        if not isinstance(message, EmailMessage):
            raise MalformedMessage("the inner message could not be parsed")
        return message


def _param(headers: Headers, name: str) -> str | None:
    value = headers.get_param(name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedMessage(f"the {name} parameter is not a plain string")


_FOLD = re.compile(r"[\r\n]+[ \t]*")


def _header_lines(source: bytes, names: Sequence[str], extra: dict[str, str]) -> bytes:
    """Copy some headers of ``source`` (unfolded, no CR/LF smuggling) and add ``extra``."""
    headers, _ = split(crlf(head_of(source)))
    lines = []
    for name in names:
        for value in headers.get_all(name):
            flat = _FOLD.sub(" ", value).strip()
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
            b64(der),
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
    entity = b"Content-Type: message/rfc822\r\n\r\n" + crlf(inner_message)
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
    entity = b"Content-Type: message/rfc822\r\n\r\n" + crlf(inner_message)
    signed = _multipart_signed(entity, signer_cert, signer_key, digest, scheme, extra_certs)
    der = envelope(signed, recipients, encryption=encryption, key_transport=key_transport)
    extra = {
        "Subject": re.sub(r"[\r\n]+", " ", outer_subject),
        "MIME-Version": "1.0",
        **_pkcs7_mime_headers(encryption.smime_type),
    }
    return _header_lines(inner_message, _COPIED_HEADERS, extra) + b"\r\n" + b64(der)


def _pkcs7_mime_headers(smime_type: str) -> dict[str, str]:
    return {
        "Content-Type": f'application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"',
        "Content-Transfer-Encoding": "base64",
        "Content-Disposition": 'attachment; filename="smime.p7m"',
    }


def enveloped_entity(
    der: bytes, encryption: ContentEncryption = ContentEncryption.AES256_CBC
) -> bytes:
    """A bare application/pkcs7-mime entity around a DER (Auth)EnvelopedData (RFC 8551 §3.3):
    what the relay stores, made readable again by ``open_smime``."""
    headers = {"MIME-Version": "1.0", **_pkcs7_mime_headers(encryption.smime_type)}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("ascii") + b"\r\n" + b64(der)


def _verify_detached(signed_part: bytes, der: bytes) -> tuple[SignedContent, bytes]:
    """Verify over the part as received, then over its CRLF canonical form (§3.1.1)."""
    try:
        return verify_signed_data(der, detached_content=signed_part), signed_part
    except SignatureInvalid:
        canonical = crlf(signed_part)
        if canonical == signed_part:
            raise
        return verify_signed_data(der, detached_content=canonical), canonical


def _unwrap_signed(entity: bytes) -> tuple[SignedContent, bytes]:
    """Verify a multipart/signed or signed-data entity; return the result and signed bytes."""
    headers, body = split(entity)
    ctype = headers.get_content_type()
    if ctype == "multipart/signed":
        boundary = _param(headers, "boundary")
        if not boundary:
            raise MalformedMessage("multipart/signed without a boundary")
        parts = multipart_parts(body, boundary)
        if len(parts) != 2:
            raise MalformedMessage("multipart/signed must have exactly two parts")
        sig_headers, sig_body = split(parts[1])
        if sig_headers.get_content_type() not in (
            "application/pkcs7-signature",
            "application/x-pkcs7-signature",
        ):
            raise MalformedMessage("the second part is not application/pkcs7-signature")
        return _verify_detached(parts[0], decode(sig_headers, sig_body))
    smime_type = (_param(headers, "smime-type") or "").lower()
    if ctype in _PKCS7_MIME and smime_type in ("signed-data", ""):
        result = verify_signed_data(decode(headers, body))
        return result, result.content
    raise MalformedMessage(f"not a signed S/MIME entity ({ctype})")


def _sender(headers: Headers) -> str:
    froms = headers.get_all("From")
    found = addresses(froms)
    if len(froms) != 1 or len(found) != 1 or "@" not in found[0]:
        raise SenderMismatch("the signed message must have exactly one From address")
    return found[0].lower()


def _open_signed(
    entity: bytes,
    validator: CertificateValidator,
    at: datetime.datetime | None,
    outer_headers: Headers,
) -> OpenedMessage:
    result, signed_bytes = _unwrap_signed(entity)
    part_headers, part_body = split(signed_bytes)
    protected = part_headers.get_content_type() == "message/rfc822"
    if protected:
        inner = part_body  # RFC 8551 §3.1: the headers are protected
        inner_headers, _ = split(inner)
    else:
        # A peer that did not wrap the message: fall back on the unprotected From (§3.8).
        inner = signed_bytes
        inner_headers = split(entity)[0]
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
    return OpenedMessage(inner, cert, chain, sender, result, protected)


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
    headers, body = split(message_bytes)
    smime_type = (_param(headers, "smime-type") or "enveloped-data").lower()
    if headers.get_content_type() not in _PKCS7_MIME or smime_type not in _ENVELOPED:
        raise MalformedMessage("not an S/MIME enveloped message")
    entity = decrypt_enveloped(decode(headers, body), certificate, key)
    return _open_signed(entity, validator, at, headers)


def verify_smime_signed(
    message_bytes: bytes,
    validator: CertificateValidator,
    *,
    at: datetime.datetime | None = None,
) -> OpenedMessage:
    """Verify a signed-only message (multipart/signed or opaque signed-data, RFC 8551 §3.5)."""
    headers, _ = split(message_bytes)
    return _open_signed(message_bytes, validator, at, headers)
