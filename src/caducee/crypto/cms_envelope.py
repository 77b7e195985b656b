"""Encrypt for one or many recipients: EnvelopedData (RFC 5652 §6) with AES-CBC (RFC 3565),
or AuthEnvelopedData (RFC 5083) with AES-GCM (RFC 5084).

The content-encryption key is transported to each recipient's RSA certificate with
RSAES-OAEP (RFC 3560 / RFC 8017 §7.1; SHA-256 by default) or RSAES-PKCS1-v1_5.
Only public keys are used here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caducee.crypto._asn1 import GCMParameters, cert_to_asn1
from caducee.crypto.algorithms import ContentEncryption, KeyTransport
from caducee.crypto.errors import CertificateError, UnsupportedAlgorithm

__all__ = ["envelope"]

GCM_NONCE_SIZE = 12  # RFC 5084 §3.2: 12 octets RECOMMENDED
GCM_TAG_SIZE = 16  # RFC 5084 §3.2 / RFC 8551 §2.7: 16-octet ICV


def _oaep_hash(transport: KeyTransport) -> hashes.HashAlgorithm:
    if transport is KeyTransport.RSA_OAEP_SHA1:
        return hashes.SHA1()  # noqa: S303 - OAEP-SHA1 is still needed for interop (RFC 8551 §2.3)
    return hashes.SHA256()


def _key_encryption_algorithm(transport: KeyTransport) -> cms.KeyEncryptionAlgorithm:
    """RSAES-OAEP-params (RFC 3560 §3; SHA-1 is the DEFAULT, so its params are empty)."""
    if transport is KeyTransport.RSA_PKCS1V15:
        return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15", "parameters": None})
    if transport is KeyTransport.RSA_OAEP_SHA1:
        # asn1crypto refuses an empty parameters value when building, so load the DER.
        oid = core.ObjectIdentifier("1.2.840.113549.1.1.7").dump()
        body = oid + b"\x30\x00"
        return cms.KeyEncryptionAlgorithm.load(b"\x30" + bytes([len(body)]) + body)
    params = algos.RSAESOAEPParams(
        {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
        }
    )
    return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": params})


def _recipient_info(
    cert: x509.Certificate, cek: bytes, transport: KeyTransport
) -> cms.RecipientInfo:
    """A KeyTransRecipientInfo v0 naming the certificate by issuer and serial (§6.2.1)."""
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedAlgorithm(
            f"recipient key type {type(public_key).__name__} is not supported (RSA only)"
        )
    if transport is KeyTransport.RSA_PKCS1V15:
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    else:
        h = _oaep_hash(transport)
        pad = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    asn1_cert = cert_to_asn1(cert)
    return cms.RecipientInfo(
        {
            "ktri": {
                "version": "v0",
                "rid": {
                    "issuer_and_serial_number": {
                        "issuer": asn1_cert.issuer,
                        "serial_number": asn1_cert.serial_number,
                    }
                },
                "key_encryption_algorithm": _key_encryption_algorithm(transport),
                "encrypted_key": public_key.encrypt(cek, pad),
            }
        }
    )


def _encrypt_cbc(cek: bytes, content: bytes, name: str) -> cms.EncryptedContentInfo:
    """AES-CBC with PKCS#7 padding; the IV is the algorithm's parameter (RFC 3565 §4.1)."""
    iv = os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    enc = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    return cms.EncryptedContentInfo(
        {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": name, "parameters": core.OctetString(iv)},
            "encrypted_content": enc.update(padded) + enc.finalize(),
        }
    )


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
    infos = [_recipient_info(cert, cek, key_transport) for cert in recipients]
    if not encryption.is_aead:
        enveloped = cms.EnvelopedData(
            {
                "version": "v0",  # §6.1: only v0 ktri, no originatorInfo, no unprotectedAttrs
                "recipient_infos": infos,
                "encrypted_content_info": _encrypt_cbc(cek, content, encryption.value),
            }
        )
        out: bytes = cms.ContentInfo(
            {"content_type": "enveloped_data", "content": enveloped}
        ).dump()
        return out
    nonce = os.urandom(GCM_NONCE_SIZE)
    # RFC 5083 §2.2: with no authAttrs the additional authenticated data is empty.
    sealed = AESGCM(cek).encrypt(nonce, content, None)
    ciphertext, mac = sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]
    params = GCMParameters({"aes_nonce": nonce, "aes_icvlen": GCM_TAG_SIZE})
    auth = cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": infos,
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {
                    "algorithm": encryption.value,
                    "parameters": params,
                },
                "encrypted_content": ciphertext,
            },
            "mac": mac,
        }
    )
    out = cms.ContentInfo({"content_type": "authenticated_enveloped_data", "content": auth}).dump()
    return out
