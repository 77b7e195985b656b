"""The algorithms the CMS layer speaks, as public enums.

Names follow RFC 8551 §2 (S/MIME 4.0 algorithm requirements) and RFC 5652 / 5083 / 5084 /
8017. Everything not listed here is refused with ``UnsupportedAlgorithm``: in particular MD5
and SHA-1 signatures, and 3DES / RC2 content encryption (RFC 8551 §2.7).
"""

from __future__ import annotations

from enum import Enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

__all__ = [
    "ContentEncryption",
    "DigestAlgorithm",
    "KeyTransport",
    "SignatureScheme",
]


class DigestAlgorithm(Enum):
    """Message digests for signatures (RFC 5754 §2); SHA-1 and MD5 are refused."""

    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    def hash(self) -> hashes.HashAlgorithm:
        """A fresh ``cryptography`` hash object for this digest."""
        return _HASHES[self]()

    @property
    def oid(self) -> str:
        """The digest's OBJECT IDENTIFIER (RFC 5754 §2)."""
        return _DIGEST_OIDS[self]

    @property
    def micalg(self) -> str:
        """The ``micalg`` parameter of multipart/signed (RFC 8551 §3.5.3.2)."""
        return {"sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512"}[self.value]


_DIGEST_OIDS = {
    DigestAlgorithm.SHA256: "2.16.840.1.101.3.4.2.1",
    DigestAlgorithm.SHA384: "2.16.840.1.101.3.4.2.2",
    DigestAlgorithm.SHA512: "2.16.840.1.101.3.4.2.3",
}

_HASHES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}


class SignatureScheme(Enum):
    """Signature schemes for SignerInfo (RFC 5754 §3, RFC 4056 for PSS, RFC 5753 for ECDSA)."""

    RSA_PKCS1V15 = "rsa-pkcs1v15"
    RSA_PSS = "rsa-pss"
    ECDSA = "ecdsa"


class ContentEncryption(Enum):
    """Content encryption: AES-CBC in EnvelopedData, AES-GCM in AuthEnvelopedData (RFC 5084)."""

    AES256_CBC = "aes256_cbc"
    AES256_GCM = "aes256_gcm"
    AES128_CBC = "aes128_cbc"
    AES128_GCM = "aes128_gcm"

    @property
    def key_size(self) -> int:
        """Content-encryption key length in bytes."""
        return 32 if self.value.startswith("aes256") else 16

    @property
    def is_aead(self) -> bool:
        """True for AES-GCM, which is carried in AuthEnvelopedData (RFC 5083)."""
        return self.value.endswith("_gcm")

    @property
    def oid(self) -> str:
        """The cipher's OBJECT IDENTIFIER (RFC 3565 §4.1 for CBC, RFC 5084 §3.2 for GCM)."""
        return _CONTENT_OIDS[self]

    @property
    def smime_type(self) -> str:
        """The smime-type parameter of the application/pkcs7-mime part (RFC 8551 §3.2.2)."""
        return "authEnveloped-data" if self.is_aead else "enveloped-data"


_CONTENT_OIDS = {
    ContentEncryption.AES128_CBC: "2.16.840.1.101.3.4.1.2",
    ContentEncryption.AES256_CBC: "2.16.840.1.101.3.4.1.42",
    ContentEncryption.AES128_GCM: "2.16.840.1.101.3.4.1.6",
    ContentEncryption.AES256_GCM: "2.16.840.1.101.3.4.1.46",
}


class KeyTransport(Enum):
    """RSA key transport for KeyTransRecipientInfo (RFC 8017 §7, RFC 3560 for OAEP in CMS)."""

    RSA_OAEP_SHA256 = "rsa-oaep-sha256"
    RSA_OAEP_SHA1 = "rsa-oaep-sha1"
    RSA_PKCS1V15 = "rsa-pkcs1v15"

    @property
    def hash(self) -> hashes.HashAlgorithm | None:
        """The OAEP (and MGF1) hash, or None for PKCS#1 v1.5 (RFC 8017 §7.1)."""
        if self is KeyTransport.RSA_OAEP_SHA1:
            return hashes.SHA1()  # noqa: S303 - OAEP-SHA1 is still needed for interop
        if self is KeyTransport.RSA_OAEP_SHA256:
            return hashes.SHA256()
        return None

    def padding(self) -> asym_padding.AsymmetricPadding:
        """The ``cryptography`` padding object for this key transport."""
        h = self.hash
        if h is None:
            return asym_padding.PKCS1v15()
        return asym_padding.OAEP(mgf=asym_padding.MGF1(h), algorithm=h, label=None)
