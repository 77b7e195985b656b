"""Encrypt for one or many recipients: EnvelopedData (RFC 5652 §6) with AES-CBC (RFC 3565),
or AuthEnvelopedData (RFC 5083) with AES-GCM (RFC 5084).

The content-encryption key is transported to each recipient's RSA certificate with
RSAES-OAEP (RFC 3560 / RFC 8017 §7.1; SHA-256 by default) or RSAES-PKCS1-v1_5.
Only public keys are used here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caducee.crypto._asn1 import der_int, der_oid, issuer_and_serial, seq, set_of, tlv
from caducee.crypto.algorithms import ContentEncryption, KeyTransport
from caducee.crypto.errors import CertificateError, UnsupportedAlgorithm

__all__ = ["envelope"]

GCM_NONCE_SIZE = 12  # RFC 5084 §3.2: 12 octets RECOMMENDED
GCM_TAG_SIZE = 16  # RFC 5084 §3.2 / RFC 8551 §2.7: 16-octet ICV


def _key_encryption_algorithm(transport: KeyTransport) -> bytes:
    """DER keyEncryptionAlgorithm (RFC 3560 §3: OAEP-SHA1 is the DEFAULT, params empty)."""
    if transport is KeyTransport.RSA_PKCS1V15:
        return seq(der_oid("1.2.840.113549.1.1.1"), b"\x05\x00")
    if transport is KeyTransport.RSA_OAEP_SHA1:
        return seq(der_oid("1.2.840.113549.1.1.7"), seq())
    params = algos.RSAESOAEPParams(
        {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
        }
    )
    return seq(der_oid("1.2.840.113549.1.1.7"), params.dump())


_KEY_ALGORITHMS = {t: _key_encryption_algorithm(t) for t in KeyTransport}
_PADDINGS = {t: t.padding() for t in KeyTransport}  # immutable padding objects, made once
_ID_DATA = "1.2.840.113549.1.7.1"


def _recipient_info(cert: x509.Certificate, cek: bytes, transport: KeyTransport) -> bytes:
    """A KeyTransRecipientInfo v0 naming the certificate by issuer and serial (§6.2.1)."""
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedAlgorithm(
            f"recipient key type {type(public_key).__name__} is not supported (RSA only)"
        )
    return seq(
        der_int(0),
        issuer_and_serial(cert),
        _KEY_ALGORITHMS[transport],
        tlv(0x04, public_key.encrypt(cek, _PADDINGS[transport])),
    )


def _content_info(algorithm: bytes, ciphertext: bytes) -> bytes:
    """EncryptedContentInfo with [0] IMPLICIT encryptedContent (RFC 5652 §6.1)."""
    return seq(der_oid(_ID_DATA), algorithm, tlv(0x80, ciphertext))


def envelope(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    encryption: ContentEncryption = ContentEncryption.AES256_CBC,
    key_transport: KeyTransport = KeyTransport.RSA_OAEP_SHA256,
) -> bytes:
    """Encrypt ``content`` for every certificate in ``recipients``; return a DER ContentInfo.

    AES-CBC gives EnvelopedData (RFC 5652 §6.1), AES-GCM AuthEnvelopedData (RFC 5083 §2.1)
    without authenticated attributes. AES-256-CBC is the default because gpgsm 2.2 and
    many deployed peers cannot read AuthEnvelopedData.
    """
    if not isinstance(encryption, ContentEncryption):
        raise UnsupportedAlgorithm(f"content encryption {encryption!r} is not supported")
    if not isinstance(key_transport, KeyTransport):
        raise UnsupportedAlgorithm(f"key transport {key_transport!r} is not supported")
    if not recipients:
        raise CertificateError("at least one recipient certificate is needed")
    cek = os.urandom(encryption.key_size)
    infos = set_of(*(_recipient_info(cert, cek, key_transport) for cert in recipients))
    oid = der_oid(encryption.oid)
    if not encryption.is_aead:
        # RFC 3565 §4.1: AES-CBC with PKCS#7 padding, the IV as the parameter.
        iv = os.urandom(16)
        pad = 16 - len(content) % 16  # PKCS #7 padding (RFC 5652 §6.3): 1 to 16 octets
        enc = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
        ciphertext = enc.update(content + bytes((pad,)) * pad) + enc.finalize()
        eci = _content_info(seq(oid, tlv(0x04, iv)), ciphertext)
        # §6.1: version 0 (only v0 ktri, no originatorInfo, no unprotectedAttrs).
        body = seq(der_int(0), infos, eci)
        return seq(der_oid("1.2.840.113549.1.7.3"), tlv(0xA0, body))
    nonce = os.urandom(GCM_NONCE_SIZE)
    # RFC 5083 §2.2: with no authAttrs the additional authenticated data is empty.
    sealed = AESGCM(cek).encrypt(nonce, content, None)
    ciphertext, mac = sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]
    params = seq(tlv(0x04, nonce), der_int(GCM_TAG_SIZE))  # GCMParameters, RFC 5084 §3.2
    eci = _content_info(seq(oid, params), ciphertext)
    body = seq(der_int(0), infos, eci, tlv(0x04, mac))
    return seq(der_oid("1.2.840.113549.1.9.16.1.23"), tlv(0xA0, body))
