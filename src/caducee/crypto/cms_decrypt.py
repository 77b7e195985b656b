"""Decrypt EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083), DER or BER.

Reads what we produce and what ``openssl cms -encrypt`` (``-stream``, ``-aes-256-gcm``,
OAEP via ``-keyopt``) and ``gpgsm --encrypt`` produce. Only KeyTransRecipientInfo for an
RSA key is handled; 3DES, RC2 and DES are refused by name (RFC 8551 §2.7). The key is only
asked to ``decrypt``; every unwrap failure gives one and the same ``DecryptionFailed``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from caducee.crypto._asn1 import (
    GCMParameters,
    absent,
    cert_ids,
    check_hash_params,
    guard,
    hash_from_name,
    load_content_info,
    matches_recipient,
    octets,
)
from caducee.crypto._cms_read import Enveloped, read_enveloped
from caducee.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    MalformedMessage,
    NoRecipientForKey,
    TokenAbsent,
    UnsupportedAlgorithm,
    WrongPassphrase,
)

__all__ = ["RecipientKey", "decrypt_enveloped"]

RecipientKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_FAILED = "the message could not be decrypted with this key"
_CBC = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
_GCM = {"aes128_gcm": 16, "aes192_gcm": 24, "aes256_gcm": 32}
_REFUSED = {"des", "tripledes_3key", "rc2", "rc5"}


def _key_padding(der: bytes) -> padding.AsymmetricPadding:
    """The RSA padding named by keyEncryptionAlgorithm (RFC 3560 §3, RFC 8017 App. A.2.1)."""
    if der not in _PADDINGS:
        if len(_PADDINGS) > 32:
            _PADDINGS.clear()
        alg = cms.KeyEncryptionAlgorithm.load(der, strict=True)
        _PADDINGS[der] = _parse_key_padding(alg)
    return _PADDINGS[der]


_PADDINGS: dict[bytes, padding.AsymmetricPadding] = {}


def _parse_key_padding(alg: cms.KeyEncryptionAlgorithm) -> padding.AsymmetricPadding:
    name = alg["algorithm"].native
    if name == "rsaes_pkcs1v15":
        return padding.PKCS1v15()
    if name != "rsaes_oaep":
        raise UnsupportedAlgorithm(f"key transport {name} is not supported")
    params = alg["parameters"]
    if params["mask_gen_algorithm"]["algorithm"].native != "mgf1":
        raise UnsupportedAlgorithm("OAEP mask generation other than MGF1")
    if params["p_source_algorithm"]["parameters"].native not in (b"", None):
        raise UnsupportedAlgorithm("OAEP with a non-empty label")
    check_hash_params(params["hash_algorithm"])
    check_hash_params(params["mask_gen_algorithm"]["parameters"])
    h = hash_from_name(params["hash_algorithm"]["algorithm"].native)
    mgf_h = hash_from_name(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
    return padding.OAEP(mgf=padding.MGF1(mgf_h), algorithm=h, label=None)


def _content_key(
    recipient_infos: cms.RecipientInfos,
    certificate: x509.Certificate,
    key: RecipientKey,
    key_size: int,
) -> bytes:
    """Unwrap the CEK from the RecipientInfo(s) naming ``certificate`` (RFC 5652 §6.2.1).

    On any failure a random key is returned instead (RFC 3218 §2.3.2): the content then
    fails to decrypt and the caller sees one ``DecryptionFailed``, whatever went wrong.
    """
    mine = [
        ri.chosen
        for ri in recipient_infos
        if ri.name == "ktri" and matches_recipient(ri.chosen["rid"], certificate)
    ]
    for ktri in mine:  # §6.2.1: v0 with issuerAndSerialNumber, v2 with subjectKeyIdentifier
        want = "v0" if ktri["rid"].name == "issuer_and_serial_number" else "v2"
        if ktri["version"].native != want:
            raise MalformedMessage("KeyTransRecipientInfo version and identifier disagree")
    if not mine:
        kinds = sorted({ri.name for ri in recipient_infos})
        raise NoRecipientForKey(f"no recipient info for this certificate (found: {kinds})")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedAlgorithm("key transport needs an RSA key")
    pairs = [(k["key_encryption_algorithm"].dump(), octets(k["encrypted_key"])) for k in mine]
    return _unwrap(pairs, key, key_size)


def _unwrap(pairs: Sequence[tuple[bytes, bytes]], key: rsa.RSAPrivateKey, key_size: int) -> bytes:
    """Try each (keyEncryptionAlgorithm DER, encryptedKey); a random key if none unwraps."""
    for alg, encrypted_key in pairs:
        pad = _key_padding(alg)
        try:
            cek = key.decrypt(encrypted_key, pad)
        except (TokenAbsent, WrongPassphrase):
            raise  # the key source is unusable: says nothing about the ciphertext
        except Exception:  # noqa: S112 - any unwrap failure is the same failure
            continue
        if len(cek) == key_size:
            return cek
    return os.urandom(key_size)


def _decrypt_plain(
    view: Enveloped, certificate: x509.Certificate, key: RecipientKey
) -> bytes | None:
    """The fast path: a plain DER EnvelopedData for an RSA key; None to take the full path."""
    issuer, serial, ski = cert_ids(certificate)
    pairs = [
        (r.key_algorithm, r.encrypted_key)
        for r in view.recipients
        if ((r.issuer, r.serial) == (issuer, serial) if r.ski is None else r.ski == ski)
    ]
    if not pairs or not isinstance(key, rsa.RSAPrivateKey):
        return None  # the full path says why (NoRecipientForKey, UnsupportedAlgorithm)
    try:
        cek = _unwrap(pairs, key, view.key_size)
    except CryptoError:
        raise
    except Exception as exc:  # as ``guard`` does, without its cost on the hot path
        raise MalformedMessage(f"cannot read the enveloped message: {type(exc).__name__}") from exc
    return _decrypt_cbc(cek, view.iv, view.ciphertext)


def _decrypt_cbc(cek: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    if len(iv) != 16 or not ciphertext or len(ciphertext) % 16:
        raise MalformedMessage("AES-CBC IV or ciphertext length is wrong")
    dec = Cipher(algorithms.AES(cek), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionFailed(_FAILED) from exc


def _decrypt_gcm(
    cek: bytes, params: GCMParameters, ciphertext: bytes, mac: bytes, aad: bytes
) -> bytes:
    """AES-GCM with the ICV in ``mac`` (RFC 5084 §3.2, RFC 5083 §2.1)."""
    nonce = octets(params["aes_nonce"])
    icvlen = params["aes_icvlen"].native
    if icvlen not in (12, 13, 14, 15, 16) or len(mac) != icvlen or not nonce:
        raise MalformedMessage("AES-GCM parameters or MAC length are wrong")
    dec = Cipher(algorithms.AES(cek), modes.GCM(nonce, mac, min_tag_length=12)).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(ciphertext) + dec.finalize()
    except Exception as exc:
        raise DecryptionFailed(_FAILED) from exc


def _algorithm(eci: cms.EncryptedContentInfo) -> tuple[str, int]:
    alg = eci["content_encryption_algorithm"]
    name = alg["algorithm"].native
    if name in _REFUSED:
        raise UnsupportedAlgorithm(f"content encryption {name} is refused (RFC 8551 §2.7)")
    size = _CBC.get(name) or _GCM.get(name)
    if size is None:
        raise UnsupportedAlgorithm(f"content encryption {name} is not supported")
    return name, size


def decrypt_enveloped(data: bytes, certificate: x509.Certificate, key: RecipientKey) -> bytes:
    """Decrypt a DER/BER EnvelopedData or AuthEnvelopedData for ``certificate``'s ``key``.

    Raises ``NoRecipientForKey``, ``DecryptionFailed`` (one message for every key or
    content failure), ``UnsupportedAlgorithm`` or ``MalformedMessage``.
    """
    view = read_enveloped(data) if isinstance(data, bytes) else None
    if view is not None:
        plain = _decrypt_plain(view, certificate, key)
        if plain is not None:
            return plain
    info = load_content_info(data, "enveloped message")
    with guard("enveloped message"):
        kind = info["content_type"].native
        if kind not in ("enveloped_data", "authenticated_enveloped_data"):
            raise MalformedMessage(f"expected (Auth)EnvelopedData, got {kind}")
        body = info["content"]
        aead = kind == "authenticated_enveloped_data"
        eci = body["auth_encrypted_content_info" if aead else "encrypted_content_info"]
        name, size = _algorithm(eci)
        if body["version"].native not in ("v0", "v2", "v3", "v4"):
            raise MalformedMessage(f"unexpected {kind} version")
        if eci["content_type"].native != "data":  # RFC 8551 §3.3: a MIME entity, id-data
            raise MalformedMessage("the encrypted content type is not id-data")
        if (name in _GCM) != aead:
            raise MalformedMessage(f"{name} cannot be used in {kind}")
        if absent(eci["encrypted_content"]):
            raise MalformedMessage("the encrypted content is detached (absent)")
        ciphertext = octets(eci["encrypted_content"])
        params_der = eci["content_encryption_algorithm"]["parameters"].dump()
        if aead:
            params = GCMParameters.load(params_der, strict=True)
            _ = params.native
            mac = octets(body["mac"])
            auth_attrs = body["auth_attrs"]
            # RFC 5083 §2.2: AAD is the DER of authAttrs with the SET OF tag, if present.
            aad = b"" if absent(auth_attrs) else b"\x31" + auth_attrs.dump()[1:]
        else:
            iv = octets(cms.OctetString.load(params_der, strict=True))
        cek = _content_key(body["recipient_infos"], certificate, key, size)
    if aead:
        return _decrypt_gcm(cek, params, ciphertext, mac, aad)
    return _decrypt_cbc(cek, iv, ciphertext)
