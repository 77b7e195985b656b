"""asn1crypto helpers shared by the CMS modules (private).

RFC 5652 structures come from ``asn1crypto.cms``; what it lacks is here: the GCM parameters
of RFC 5084 §3.2, BER→DER normalisation, OID tables, and one guard that turns any parsing
surprise into ``MalformedMessage`` so no third-party exception escapes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from caducee.crypto._der import children, read
from caducee.crypto.algorithms import DigestAlgorithm
from caducee.crypto.errors import CryptoError, MalformedMessage, UnsupportedAlgorithm

__all__ = [
    "DIGESTS",
    "GCMParameters",
    "absent",
    "cert_der",
    "cert_from_asn1",
    "cert_ids",
    "check_hash_params",
    "der_int",
    "der_oid",
    "digest_from_name",
    "guard",
    "hash_from_name",
    "issuer_and_serial",
    "load_certificate",
    "load_content_info",
    "matches_recipient",
    "octets",
    "seq",
    "set_of",
    "tlv",
    "to_der",
]

DIGESTS: dict[str, DigestAlgorithm] = {d.value: d for d in DigestAlgorithm}
"""asn1crypto digest names we accept for signatures (RFC 5754 §2)."""

_REFUSED_DIGESTS = {"md2", "md5", "sha1", "sha224"}

_OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class GCMParameters(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """``GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }``.

    RFC 5084 §3.2; asn1crypto leaves these parameters as ``Any``.
    """

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


def tlv(tag: int, body: bytes) -> bytes:
    """One DER TLV with a definite length (X.690 §8.1); ``tag`` is a one-byte identifier."""
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def seq(*parts: bytes) -> bytes:
    """DER SEQUENCE of already-encoded parts."""
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    """DER SET OF: elements sorted by their encodings (X.690 §11.6)."""
    return tlv(0x31, b"".join(sorted(parts)))


def der_int(value: int) -> bytes:
    """DER INTEGER (two's complement, minimal)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def der_oid(dotted: str) -> bytes:
    """DER OBJECT IDENTIFIER."""
    return _oid_cache.get(dotted) or _oid_cache.setdefault(
        dotted, core.ObjectIdentifier(dotted).dump()
    )


_oid_cache: dict[str, bytes] = {}


def issuer_and_serial(cert: x509.Certificate) -> bytes:
    """IssuerAndSerialNumber (RFC 5652 §10.2.4), the issuer copied byte for byte."""
    issuer, serial, _ = cert_ids(cert)
    return seq(issuer, der_int(serial))


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Let our own errors through; turn anything else raised while parsing into MalformedMessage."""
    try:
        yield
    except CryptoError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError, ...
        raise MalformedMessage(f"cannot read the {what}: {type(exc).__name__}") from exc


def load_content_info(data: bytes, what: str = "CMS message") -> cms.ContentInfo:
    """Parse a DER or BER (indefinite-length) ContentInfo (RFC 5652 §3)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedMessage(f"the {what} must be bytes")
    with guard(what):
        info = cms.ContentInfo.load(bytes(data), strict=True)
        _ = info["content_type"].native
        _ = info["content"].parsed if isinstance(info["content"], core.Any) else info["content"]
    return info


def to_der(data: bytes) -> bytes:
    """Re-encode a BER ContentInfo as DER (every length definite, every string primitive)."""
    info = load_content_info(data)
    with guard("CMS message"):
        der: bytes = info.dump(force=True)
    return der


def absent(value: core.Asn1Value) -> bool:
    """Whether an OPTIONAL field is absent (asn1crypto gives a Void)."""
    return isinstance(value, core.Void)


def octets(value: core.Asn1Value) -> bytes:
    """The bytes of an OCTET STRING, primitive or constructed (BER chunks merged)."""
    return bytes(value)  # OctetString.__bytes__ merges BER chunks


def digest_from_name(name: str) -> DigestAlgorithm:
    """Our DigestAlgorithm for an asn1crypto digest name; MD5/SHA-1 are refused (RFC 8551 §2.1)."""
    if name in DIGESTS:
        return DIGESTS[name]
    if name in _REFUSED_DIGESTS:
        raise UnsupportedAlgorithm(f"digest algorithm {name} is refused for signatures")
    raise UnsupportedAlgorithm(f"digest algorithm {name} is not supported")


def check_hash_params(alg: core.Sequence) -> None:
    """Hash AlgorithmIdentifier parameters must be absent or NULL (RFC 5754 §2)."""
    if alg["parameters"].dump() not in (b"", b"\x05\x00"):
        raise MalformedMessage("digest algorithm parameters must be absent or NULL")


def hash_from_name(name: str) -> hashes.HashAlgorithm:
    """A hash for OAEP / MGF1 parameters (RFC 8017 App. A.2.1); SHA-1 is allowed there."""
    if name not in _OAEP_HASHES:
        raise UnsupportedAlgorithm(f"hash {name} is not supported in OAEP/MGF1 parameters")
    return _OAEP_HASHES[name]()


def cert_from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    """An asn1crypto certificate as a ``cryptography`` one (serial must be positive, RFC 5280)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # we refuse such serials ourselves, just below
        loaded = x509.load_der_x509_certificate(cert.dump())
        if loaded.serial_number <= 0:
            raise MalformedMessage("certificate serial number is not positive")
    return loaded


_CACHE_SIZE = 256
_CERTS: dict[bytes, x509.Certificate] = {}
"""Certificates ``load_certificate`` loaded and checked, by DER: peers send the same few."""


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    """Bounded memo: forget everything once full (simple, and no unbounded growth)."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def load_certificate(der: bytes) -> x509.Certificate | None:
    """A certificate from strict DER with whole-octet signature and positive serial, or None.

    RFC 5280 §4.1; None means "read it with asn1crypto", which gives the typed error.
    """
    cached = _CERTS.get(der)
    if cached is not None:
        return cached
    try:
        tag, start, end = read(der, 0, len(der))
        parts = children(der, start, end)
        if tag != 0x30 or end != len(der) or len(parts) != 3 or parts[2][0] != 0x03:
            return None
        if der[parts[2][1] : parts[2][1] + 1] != b"\x00":  # unused bits (RFC 5280 §4.1.1.3)
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = x509.load_der_x509_certificate(der)
            if loaded.serial_number <= 0:
                return None
    except Exception:  # Unusual, ValueError, InvalidVersion, ...: the full path says what
        return None
    _remember(_CERTS, der, loaded)
    return loaded


def cert_ids(cert: x509.Certificate) -> tuple[bytes, int, bytes | None]:
    """(issuer DER, serial, subjectKeyIdentifier) of ``cert`` (RFC 5652 §10.2.4), memoised."""
    ids = _IDS.get(cert)
    if ids is None:
        ids = (cert.issuer.public_bytes(), cert.serial_number, _ski(cert))
        _remember(_IDS, cert, ids)
    return ids


_IDS: dict[x509.Certificate, tuple[bytes, int, bytes | None]] = {}


def cert_der(cert: x509.Certificate) -> bytes:
    """The DER of ``cert`` (RFC 5280 §4.1), memoised."""
    der = _DER.get(cert)
    if der is None:
        der = cert.public_bytes(Encoding.DER)
        _remember(_DER, cert, der)
    return der


_DER: dict[x509.Certificate, bytes] = {}


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.digest


def matches_recipient(rid: core.Choice, cert: x509.Certificate) -> bool:
    """Whether a SignerIdentifier / RecipientIdentifier names ``cert`` (RFC 5652 §5.3, §6.2.1)."""
    with guard("identifier"):
        if rid.name == "issuer_and_serial_number":
            ias = rid.chosen
            return bool(
                ias["serial_number"].native == cert.serial_number
                and ias["issuer"].dump() == cert.issuer.public_bytes()  # byte-exact, as copied
            )
        if rid.name == "subject_key_identifier":
            return _ski(cert) == bytes(rid.chosen)
    return False
