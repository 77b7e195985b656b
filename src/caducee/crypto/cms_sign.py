"""Build CMS SignedData (RFC 5652 §5) with our own encoder over asn1crypto.

The private key is only ever asked to ``sign``: it may live on a PKCS#11 token. Signed
attributes are content-type, message-digest, signing-time and S/MIME capabilities
(RFC 5652 §11, RFC 8551 §2.5.2); the signature covers their DER encoding as a SET OF
(RFC 5652 §5.4).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from caducee.crypto._asn1 import cert_der, der_int, der_oid, issuer_and_serial, seq, set_of, tlv
from caducee.crypto.algorithms import DigestAlgorithm, SignatureScheme
from caducee.crypto.errors import CryptoError, KeySourceError, UnsupportedAlgorithm

__all__ = ["SignerKey", "sign_data"]

SignerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# What we can decrypt, strongest first (RFC 8551 §2.5.2: the order is the preference).
_CAPABILITIES = (
    "2.16.840.1.101.3.4.1.46",  # aes256-GCM
    "2.16.840.1.101.3.4.1.6",  # aes128-GCM
    "2.16.840.1.101.3.4.1.42",  # aes256-CBC
    "2.16.840.1.101.3.4.1.2",  # aes128-CBC
)
_ID_DATA = "1.2.840.113549.1.7.1"


def _attribute(oid: str, value: bytes) -> bytes:
    """Attribute ::= SEQUENCE { attrType, attrValues SET OF } with one value (§5.3)."""
    return seq(der_oid(oid), set_of(value))


def _time(when: datetime.datetime) -> bytes:
    """RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise."""
    when = when.astimezone(datetime.UTC)
    if 1950 <= when.year < 2050:
        return tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode())


_CONTENT_TYPE_ATTRIBUTE = _attribute("1.2.840.113549.1.9.3", der_oid(_ID_DATA))
_CAPABILITIES_ATTRIBUTE = _attribute(
    "1.2.840.113549.1.9.15", seq(*(seq(der_oid(c)) for c in _CAPABILITIES))
)


def _signed_attributes(message_digest: bytes, when: datetime.datetime) -> bytes:
    """content-type, signing-time, message-digest, smimeCapabilities, as a DER SET OF."""
    return set_of(
        _CONTENT_TYPE_ATTRIBUTE,
        _attribute("1.2.840.113549.1.9.5", _time(when)),
        _attribute("1.2.840.113549.1.9.4", tlv(0x04, message_digest)),
        _CAPABILITIES_ATTRIBUTE,
    )


@functools.cache
def _signature_algorithm(scheme: SignatureScheme, digest: DigestAlgorithm) -> bytes:
    """The signatureAlgorithm of a SignerInfo (RFC 5754 §3.2, RFC 4056 §3, RFC 5753 §7.1.3)."""
    if scheme is SignatureScheme.RSA_PKCS1V15:
        return seq(der_oid("1.2.840.113549.1.1.1"), b"\x05\x00")  # rsaEncryption, NULL
    if scheme is SignatureScheme.ECDSA:
        alg = algos.SignedDigestAlgorithm({"algorithm": f"{digest.value}_ecdsa"})
        return bytes(alg.dump())
    params = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": digest.value},
            "mask_gen_algorithm": {
                "algorithm": "mgf1",
                "parameters": {"algorithm": digest.value},
            },
            "salt_length": digest.hash().digest_size,
        }
    )
    alg = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    return bytes(alg.dump())


def _default_scheme(key: SignerKey) -> SignatureScheme:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return SignatureScheme.ECDSA
    return SignatureScheme.RSA_PKCS1V15


def _sign(key: SignerKey, scheme: SignatureScheme, digest: DigestAlgorithm, data: bytes) -> bytes:
    """Ask the key (software or token) for a signature over ``data``."""
    h = digest.hash()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if scheme is not SignatureScheme.ECDSA:
            raise UnsupportedAlgorithm(f"an EC key cannot sign with {scheme.value}")
        return key.sign(data, ec.ECDSA(h))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedAlgorithm(f"unsupported signer key type {type(key).__name__}")
    if scheme is SignatureScheme.ECDSA:
        raise UnsupportedAlgorithm("an RSA key cannot sign with ECDSA")
    if scheme is SignatureScheme.RSA_PSS:
        pad: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(digest.hash()), salt_length=h.digest_size
        )
    else:
        pad = padding.PKCS1v15()
    return key.sign(data, pad, h)


def sign_data(
    content: bytes,
    signer_cert: x509.Certificate,
    signer_key: SignerKey,
    *,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    scheme: SignatureScheme | None = None,
    detached: bool = False,
    extra_certs: Sequence[x509.Certificate] = (),
    signing_time: datetime.datetime | None = None,
) -> bytes:
    """Sign ``content`` (eContentType id-data) and return a DER ContentInfo (RFC 5652 §5.1).

    ``detached=True`` leaves eContent out (RFC 5652 §5.2); the signer certificate and
    ``extra_certs`` are included. ``scheme`` defaults to PKCS#1 v1.5 for RSA, ECDSA for EC.
    """
    if not isinstance(digest, DigestAlgorithm):
        raise UnsupportedAlgorithm(f"digest {digest!r} is not supported")
    scheme = scheme or _default_scheme(signer_key)
    when = signing_time or datetime.datetime.now(datetime.UTC)
    h = hashes.Hash(digest.hash())
    h.update(content)
    message_digest = h.finalize()

    # §5.4: the signature input is the DER of the attributes with a SET OF tag.
    to_be_signed = _signed_attributes(message_digest, when)
    try:
        signature = _sign(signer_key, scheme, digest, to_be_signed)
    except CryptoError:
        raise  # UnsupportedAlgorithm, or the key source's own KeySourceError
    except Exception as exc:  # a token may fail in its own way
        raise KeySourceError(f"the signer key could not sign: {type(exc).__name__}") from exc

    digest_algorithm = seq(der_oid(digest.oid))  # RFC 5754 §2: parameters absent
    signer_info = seq(
        der_int(1),  # §5.3: version 1 with issuerAndSerialNumber
        issuer_and_serial(signer_cert),
        digest_algorithm,
        b"\xa0" + to_be_signed[1:],  # [0] IMPLICIT SignedAttributes
        _signature_algorithm(scheme, digest),
        tlv(0x04, signature),
    )
    encap = seq(der_oid(_ID_DATA), b"" if detached else tlv(0xA0, tlv(0x04, content)))
    certs = sorted(cert_der(c) for c in (signer_cert, *extra_certs))
    signed_data = seq(
        der_int(1),  # §5.1: version 1 (no v3+ certificates or other-format content)
        set_of(digest_algorithm),
        encap,
        tlv(0xA0, b"".join(certs)),  # [0] IMPLICIT CertificateSet
        set_of(signer_info),
    )
    return seq(der_oid("1.2.840.113549.1.7.2"), tlv(0xA0, signed_data))
