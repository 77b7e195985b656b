"""Build CMS SignedData (RFC 5652 §5) with our own encoder over asn1crypto.

The private key is only ever asked to ``sign``: it may live on a PKCS#11 token. Signed
attributes are content-type, message-digest, signing-time and S/MIME capabilities
(RFC 5652 §11, RFC 8551 §2.5.2); the signature covers their DER encoding as a SET OF
(RFC 5652 §5.4).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from caducee.crypto._asn1 import cert_to_asn1
from caducee.crypto.algorithms import DigestAlgorithm, SignatureScheme
from caducee.crypto.errors import KeySourceError, UnsupportedAlgorithm

__all__ = ["SignerKey", "sign_data"]

SignerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# What we can decrypt, strongest first (RFC 8551 §2.5.2: the order is the preference).
_CAPABILITIES = ("aes256_gcm", "aes128_gcm", "aes256_cbc", "aes128_cbc")


def _capabilities() -> cms.SMIMECapabilites:
    return cms.SMIMECapabilites(  # sic: asn1crypto spelling
        [cms.SMIMECapabilityIdentifier({"capability_id": c}) for c in _CAPABILITIES]
    )


def _signature_algorithm(
    scheme: SignatureScheme, digest: DigestAlgorithm
) -> algos.SignedDigestAlgorithm:
    """The signatureAlgorithm of a SignerInfo (RFC 5754 §3.2, RFC 4056 §3, RFC 5753 §7.1.3)."""
    if scheme is SignatureScheme.RSA_PKCS1V15:
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    if scheme is SignatureScheme.ECDSA:
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest.value}_ecdsa"})
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
    return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})


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
    asn1_cert = cert_to_asn1(signer_cert)
    h = hashes.Hash(digest.hash())
    h.update(content)
    message_digest = h.finalize()

    # RFC 5652 §11.3: UTCTime through 2049, GeneralizedTime after.
    attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
            cms.CMSAttribute({"type": "smime_capabilities", "values": [_capabilities()]}),
        ]
    )
    # §5.4: the signature input is the DER of the attributes with a SET OF tag.
    to_be_signed = attrs.dump(force=True)
    try:
        signature = _sign(signer_key, scheme, digest, to_be_signed)
    except UnsupportedAlgorithm:
        raise
    except Exception as exc:  # a token may fail in its own way
        raise KeySourceError(f"the signer key could not sign: {type(exc).__name__}") from exc

    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": asn1_cert.issuer,
                        "serial_number": asn1_cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": digest.value},
            "signed_attrs": attrs,
            "signature_algorithm": _signature_algorithm(scheme, digest),
            "signature": signature,
        }
    )
    encap: dict[str, object] = {"content_type": "data"}
    if not detached:
        encap["content"] = core.OctetString(content)
    certs = [asn1_cert] + [cert_to_asn1(c) for c in extra_certs]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest.value}],
            "encap_content_info": encap,
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in certs],
            "signer_infos": [signer_info],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    der: bytes = info.dump()
    return der
