"""Synthetic CMS structures for relay tests: the relay only reads the outer header.

They are built with asn1crypto from random bytes (no key, no plaintext): an envelopedData
whose encrypted content is noise, and a signedData the relay must refuse.
"""

from __future__ import annotations

import os

from asn1crypto import algos, cms

__all__ = ["fake_enveloped", "fake_signed"]


def fake_enveloped(size: int = 256, *, auth: bool = False) -> bytes:
    """A DER ContentInfo(envelopedData) around ``size`` random bytes (unique each call)."""
    encrypted = cms.EncryptedContentInfo(
        {
            "content_type": "data",
            "content_encryption_algorithm": algos.EncryptionAlgorithm(
                {"algorithm": "aes256_cbc", "parameters": os.urandom(16)}
            ),
            "encrypted_content": os.urandom(size),
        }
    )
    if auth:
        content: cms.Asn1Value = cms.AuthEnvelopedData(
            {
                "version": "v0",
                "recipient_infos": [],
                "auth_encrypted_content_info": encrypted,
                "mac": os.urandom(16),
            }
        )
        kind = "authenticated_enveloped_data"
    else:
        content = cms.EnvelopedData(
            {"version": "v0", "recipient_infos": [], "encrypted_content_info": encrypted}
        )
        kind = "enveloped_data"
    return bytes(cms.ContentInfo({"content_type": kind, "content": content}).dump())


def fake_signed() -> bytes:
    """A DER ContentInfo(signedData) without signers: valid CMS, but not encrypted."""
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data", "content": os.urandom(32)},
            "signer_infos": [],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())
