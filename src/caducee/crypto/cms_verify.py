"""Verify CMS SignedData signatures (RFC 5652 §5.6); certificate paths are NOT validated here.

Every SignerInfo must verify: the message-digest and content-type attributes (§11.1, §11.2)
against the content, then the signature over the signed attributes re-encoded as a SET OF
(§5.4), or over the content when there are no signed attributes. Whether the signer's
certificate is acceptable is the ``CertificateValidator``'s question (``crypto.trust``).
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from caducee.crypto._asn1 import (
    absent,
    cert_from_asn1,
    cert_ids,
    check_hash_params,
    der_oid,
    digest_from_name,
    guard,
    load_certificate,
    load_content_info,
    matches_recipient,
    octets,
    seq,
)
from caducee.crypto._cms_read import Signed, Signer, read_signed
from caducee.crypto._der import Unusual
from caducee.crypto.algorithms import DigestAlgorithm, SignatureScheme
from caducee.crypto.errors import (
    CertificateMissing,
    MalformedMessage,
    SignatureInvalid,
    UnsupportedAlgorithm,
)

__all__ = ["SignedContent", "verify_signed_data"]


@dataclass(frozen=True)
class SignedContent:
    """A SignedData whose every signature verified (the signer's path is still to be checked)."""

    content: bytes
    content_type: str
    signer_certificate: x509.Certificate
    certificates: tuple[x509.Certificate, ...]
    digest_algorithm: DigestAlgorithm
    signature_scheme: SignatureScheme
    signing_time: datetime.datetime | None


@dataclass(frozen=True)
class _SignerResult:
    certificate: x509.Certificate
    digest: DigestAlgorithm
    scheme: SignatureScheme
    signing_time: datetime.datetime | None


def _attributes(attrs: cms.CMSAttributes) -> dict[str, cms.CMSAttribute]:
    """Signed attributes by type; a type twice, or with several values, is malformed (§11)."""
    found: dict[str, cms.CMSAttribute] = {}
    for attr in attrs:
        name = attr["type"].native
        if name in found or len(attr["values"]) != 1:
            raise MalformedMessage(f"attribute {name} must appear once with one value")
        found[name] = attr["values"][0]
    return found


def _check_signature(
    cert: x509.Certificate,
    sig_alg: algos.SignedDigestAlgorithm,
    signature: bytes,
    digest: DigestAlgorithm,
    data: bytes,
) -> SignatureScheme:
    """Verify ``signature`` over ``data`` with the signer's public key."""
    algo = sig_alg.signature_algo
    key = cert.public_key()
    h: hashes.HashAlgorithm = digest.hash()
    try:
        if algo == "rsassa_pss":
            params = sig_alg["parameters"]
            check_hash_params(params["hash_algorithm"])
            check_hash_params(params["mask_gen_algorithm"]["parameters"])
            pss_hash = digest_from_name(params["hash_algorithm"]["algorithm"].native)
            mgf = params["mask_gen_algorithm"]
            if mgf["algorithm"].native != "mgf1":
                raise UnsupportedAlgorithm(f"PSS mask generation {mgf['algorithm'].native}")
            mgf_hash = digest_from_name(mgf["parameters"]["algorithm"].native)
            if pss_hash is not digest or params["trailer_field"].native != "trailer_field_bc":
                raise SignatureInvalid("PSS parameters do not match the digest algorithm")
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureInvalid("PSS signature by a non-RSA certificate")
            pss = padding.PSS(
                mgf=padding.MGF1(mgf_hash.hash()), salt_length=params["salt_length"].native
            )
            key.verify(signature, data, pss, h)
            return SignatureScheme.RSA_PSS
        if algo == "rsassa_pkcs1v15":
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureInvalid("RSA signature by a non-RSA certificate")
            _check_hash_in_oid(sig_alg, digest)
            key.verify(signature, data, padding.PKCS1v15(), h)
            return SignatureScheme.RSA_PKCS1V15
        if algo == "ecdsa":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise SignatureInvalid("ECDSA signature by a non-EC certificate")
            _check_hash_in_oid(sig_alg, digest)
            key.verify(signature, data, ec.ECDSA(h))
            return SignatureScheme.ECDSA
    except InvalidSignature as exc:
        raise SignatureInvalid("the signature does not verify") from exc
    raise UnsupportedAlgorithm(f"signature algorithm {algo} is not supported")


def _check_hash_in_oid(sig_alg: object, digest: DigestAlgorithm) -> None:
    """sha256WithRSA-style OIDs name a hash; it must be the SignerInfo's digest (RFC 5754 §3)."""
    name = sig_alg["algorithm"].native  # type: ignore[index]
    if name in ("rsassa_pkcs1v15", "ecdsa"):
        return
    if digest_from_name(name.split("_")[0]) is not digest:
        raise SignatureInvalid("signature algorithm and digest algorithm disagree")


def _verify_signer(
    info: cms.SignerInfo,
    content: bytes,
    content_type: str,
    certs: Sequence[x509.Certificate],
) -> _SignerResult:
    digest = digest_from_name(info["digest_algorithm"]["algorithm"].native)
    check_hash_params(info["digest_algorithm"])
    sid_kind = (
        "issuer_and_serial_number" if info["version"].native == "v1" else "subject_key_identifier"
    )
    if info["version"].native not in ("v1", "v3") or info["sid"].name != sid_kind:
        raise MalformedMessage("SignerInfo version and identifier disagree (RFC 5652 §5.3)")
    cert = next((c for c in certs if matches_recipient(info["sid"], c)), None)
    if cert is None:
        raise CertificateMissing("the signer's certificate is not in the message")
    attrs = info["signed_attrs"]
    sig_alg, signature = info["signature_algorithm"], octets(info["signature"])
    signing_time: datetime.datetime | None = None
    if absent(attrs):
        # §5.4: without signed attributes the signature covers the content itself.
        if content_type != "1.2.840.113549.1.7.1":
            raise MalformedMessage("signed attributes are required for non-data content")
        scheme = _check_signature(cert, sig_alg, signature, digest, content)
        return _SignerResult(cert, digest, scheme, None)
    by_type = _attributes(attrs)
    ct = by_type.get("content_type")
    md = by_type.get("message_digest")
    if ct is None or md is None:
        raise MalformedMessage("content-type and message-digest attributes are required")
    if ct.dotted != content_type:
        raise SignatureInvalid("the content-type attribute does not match the content")
    h = hashes.Hash(digest.hash())
    h.update(content)
    if not hmac.compare_digest(octets(md), h.finalize()):
        raise SignatureInvalid("the message digest does not match the content")
    st = by_type.get("signing_time")
    if st is not None:
        signing_time = st.native
    # §5.4: re-encode [0] IMPLICIT SignedAttributes with the universal SET OF tag.
    scheme = _check_signature(cert, sig_alg, signature, digest, b"\x31" + attrs.dump()[1:])
    return _SignerResult(cert, digest, scheme, signing_time)


def _load_cert(cert: asn1_x509.Certificate) -> x509.Certificate:
    """Load an embedded certificate; its signature must be whole octets (RFC 5280 §4.1.1.3)."""
    if cert["signature_value"].contents[:1] != b"\x00":
        raise MalformedMessage("certificate signature BIT STRING has unused bits")
    return cert_from_asn1(cert)


_ID_DATA = "1.2.840.113549.1.7.1"
_DIGEST_DER = {
    seq(der_oid(d.oid), *params): d for d in DigestAlgorithm for params in ((), (b"\x05\x00",))
}
"""digestAlgorithm DER, parameters absent or NULL (RFC 5754 §2), to our digests."""
_SIGNATURE_ALGORITHMS: dict[bytes, algos.SignedDigestAlgorithm] = {}


def _signature_algorithm(der: bytes) -> algos.SignedDigestAlgorithm:
    """A signatureAlgorithm read once with asn1crypto, then memoised by its DER."""
    alg = _SIGNATURE_ALGORITHMS.get(der)
    if alg is None:
        alg = algos.SignedDigestAlgorithm.load(der, strict=True)
        _ = alg.native  # parse it all now, not later
        if len(_SIGNATURE_ALGORITHMS) > 32:
            _SIGNATURE_ALGORITHMS.clear()
        _SIGNATURE_ALGORITHMS[der] = alg
    return alg


def _plain_signer(
    si: Signer, content: bytes, certs: Sequence[x509.Certificate], listed: set[DigestAlgorithm]
) -> _SignerResult:
    """``_verify_signer`` for a SignerInfo from the fast reader (RFC 5652 §5.4, §5.6)."""
    digest = _DIGEST_DER.get(si.digest_algorithm)
    if digest is None or digest not in listed:
        raise Unusual
    for cert in certs:
        issuer, serial, ski = cert_ids(cert)
        if ((si.issuer, si.serial) == (issuer, serial)) if si.ski is None else si.ski == ski:
            break
    else:
        raise Unusual
    if si.content_type != _ID_DATA or si.message_digest is None:
        raise Unusual
    h = hashes.Hash(digest.hash())
    h.update(content)
    if not hmac.compare_digest(si.message_digest, h.finalize()):
        raise Unusual
    sig_alg = _signature_algorithm(si.signature_algorithm)
    scheme = _check_signature(cert, sig_alg, si.signature, digest, si.signed_attrs)
    return _SignerResult(cert, digest, scheme, si.signing_time)


def _verify_plain(
    view: Signed, detached: bytes | None, extra_certs: Sequence[x509.Certificate]
) -> SignedContent | None:
    """The fast path over a plain DER SignedData; None when anything needs the full path."""
    if (view.content is None) == (detached is None):
        return None
    content = detached if detached is not None else view.content
    certs = [load_certificate(der) for der in view.certificates]
    listed = {_DIGEST_DER.get(der) for der in view.digest_algorithms}
    if content is None or None in certs or None in listed:
        return None
    loaded = [c for c in certs if c is not None]
    digests = {d for d in listed if d is not None}
    try:
        results = [
            _plain_signer(si, content, [*loaded, *extra_certs], digests) for si in view.signers
        ]
    except Exception:
        return None
    first = results[0]
    return SignedContent(
        content=content,
        content_type=_ID_DATA,
        signer_certificate=first.certificate,
        certificates=tuple(loaded),
        digest_algorithm=first.digest,
        signature_scheme=first.scheme,
        signing_time=first.signing_time,
    )


def verify_signed_data(
    data: bytes,
    *,
    detached_content: bytes | None = None,
    extra_certs: Sequence[x509.Certificate] = (),
) -> SignedContent:
    """Verify every signature of a DER/BER SignedData; return its content and signer.

    For a detached signature (RFC 5652 §5.2) pass the content as ``detached_content``.
    Raises ``SignatureInvalid``, ``UnsupportedAlgorithm`` (MD5, SHA-1, ...),
    ``CertificateMissing`` or ``MalformedMessage``; never returns a failure.
    """
    view = read_signed(data) if isinstance(data, bytes) else None
    if view is not None:
        fast = _verify_plain(view, detached_content, extra_certs)
        if fast is not None:
            return fast
    info = load_content_info(data, "SignedData")
    with guard("SignedData"):
        if info["content_type"].native != "signed_data":
            raise MalformedMessage(f"expected SignedData, got {info['content_type'].native}")
        sd = info["content"]
        encap = sd["encap_content_info"]
        content_type = encap["content_type"].dotted
        embedded = encap["content"]
        if not absent(embedded) and detached_content is not None:
            raise MalformedMessage("content is both embedded and given as detached")
        if absent(embedded) and detached_content is None:
            raise MalformedMessage("detached signature: the content must be given")
        content = detached_content if detached_content is not None else octets(embedded)
        certs = [
            _load_cert(c.chosen) for c in (sd["certificates"] or []) if c.name == "certificate"
        ]
        signer_infos = list(sd["signer_infos"])
        if not signer_infos:
            raise SignatureInvalid("the SignedData has no signer")
        # §5.1: version 1, 3, 4 or 5; digestAlgorithms lists every signer's digest.
        if sd["version"].native not in ("v1", "v3", "v4", "v5"):
            raise MalformedMessage("unexpected SignedData version")
        for alg in sd["digest_algorithms"]:
            check_hash_params(alg)
        listed = {a["algorithm"].native for a in sd["digest_algorithms"]}
        if any(si["digest_algorithm"]["algorithm"].native not in listed for si in signer_infos):
            raise MalformedMessage("a signer's digest algorithm is not in digestAlgorithms")
        results = [
            _verify_signer(si, content, content_type, [*certs, *extra_certs]) for si in signer_infos
        ]
    first = results[0]
    return SignedContent(
        content=content,
        content_type=content_type,
        signer_certificate=first.certificate,
        certificates=tuple(certs),
        digest_algorithm=first.digest,
        signature_scheme=first.scheme,
        signing_time=first.signing_time,
    )
