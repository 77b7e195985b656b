"""RFC 3161 time-stamps: build a request, verify a token (RFC 5652 SignedData, RFC 5816).

The verifier checks the message imprint, the CMS signature over the signed attributes, the
ESS signing-certificate hash, the TSA certificate's critical ``timeStamping`` EKU (§2.3),
and a path to one of the given roots valid at ``genTime``. Revocation is not checked.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from caducee.ledger.errors import TimestampInvalid

__all__ = [
    "TimestampInfo",
    "build_timestamp_request",
    "token_from_response",
    "verify_timestamp",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
MAX_CHAIN = 8
_PARSE_ERRORS = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
    UnsupportedAlgorithm, x509.InvalidVersion,
)  # fmt: skip


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """§2.4.2 TimeStampResp; asn1crypto's makes the token mandatory, it is OPTIONAL."""

    _fields = [  # noqa: RUF012 (asn1crypto declares structures this way)
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class TimestampInfo:
    """What a verified token attests: ``hashed_message`` existed at ``gen_time``."""

    gen_time: datetime
    serial_number: int
    policy: str
    hash_name: str
    hashed_message: bytes
    nonce: int | None
    tsa_certificate: x509.Certificate


def build_timestamp_request(
    digest: bytes, *, hash_name: str = "sha256", nonce: int | None = None
) -> tuple[bytes, int]:
    """DER ``TimeStampReq`` (§2.4.1) with certReq and a nonce; returns (der, nonce)."""
    if hash_name not in _HASHES or len(digest) != _HASHES[hash_name]().digest_size:
        raise TimestampInvalid(f"{len(digest)} bytes is not a {hash_name} digest")
    nonce = secrets.randbits(63) if nonce is None else nonce
    req = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_name}),
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return req.dump(), nonce


def token_from_response(response: bytes) -> bytes:
    """The ``timeStampToken`` of a granted ``TimeStampResp`` (§2.4.2)."""
    try:
        resp = _TimeStampResp.load(response, strict=True)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            raise TimestampInvalid(f"the TSA did not grant the time-stamp ({status})")
        return bytes(resp["time_stamp_token"].dump())
    except TimestampInvalid:
        raise
    except _PARSE_ERRORS as exc:
        raise TimestampInvalid(f"the time-stamp response is malformed: {exc}") from exc


def verify_timestamp(
    token: bytes,
    digest: bytes,
    *,
    roots: Sequence[x509.Certificate],
    hash_name: str = "sha256",
    nonce: int | None = None,
    intermediates: Sequence[x509.Certificate] = (),
) -> TimestampInfo:
    """Verify a DER time-stamp token over ``digest``; raise :class:`TimestampInvalid`."""
    if not roots:
        raise TimestampInvalid("no TSA root to verify the time-stamp against")
    try:
        return _verify(token, digest, roots, hash_name, nonce, intermediates)
    except TimestampInvalid:
        raise
    except _PARSE_ERRORS as e:  # asn1crypto and cryptography parsing errors, mapped here
        raise TimestampInvalid(f"the time-stamp token is malformed: {e}") from e


def _verify(
    token: bytes,
    digest: bytes,
    roots: Sequence[x509.Certificate],
    hash_name: str,
    nonce: int | None,
    intermediates: Sequence[x509.Certificate],
) -> TimestampInfo:
    # 1. ContentInfo(SignedData(TSTInfo)) (§2.4.2).
    info = cms.ContentInfo.load(token, strict=True)
    if info["content_type"].native != "signed_data":
        raise TimestampInvalid("the token is not a CMS SignedData")
    sd = info["content"]
    encap = sd["encap_content_info"]
    if encap["content_type"].native != "tst_info" or not encap["content"]:
        raise TimestampInvalid("the token does not hold a TSTInfo")
    tst_der = bytes(encap["content"].contents)
    tst = tsp.TSTInfo.load(tst_der, strict=True)
    # 2. The message imprint and the nonce.
    imprint = tst["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != hash_name:
        raise TimestampInvalid(f"the token's imprint is not {hash_name}")
    if not hmac.compare_digest(bytes(imprint["hashed_message"].native), digest):
        raise TimestampInvalid("the token time-stamps another digest")
    if nonce is not None and tst["nonce"].native != nonce:
        raise TimestampInvalid("the token's nonce is not the request's")
    # 3. One signer, whose certificate is in the token.
    if len(sd["signer_infos"]) != 1:
        raise TimestampInvalid("the token must have exactly one signer")
    si = sd["signer_infos"][0]
    certs = [c.chosen for c in sd["certificates"] or () if c.name == "certificate"]
    signer = next((c for c in certs if _matches(si["sid"], c)), None)
    if signer is None:
        raise TimestampInvalid("the TSA certificate is not in the token (certReq)")
    tsa_cert = x509.load_der_x509_certificate(signer.dump())
    # 4. Signed attributes: content type and message digest (RFC 5652 §5.4, §11).
    algo = si["digest_algorithm"]["algorithm"].native
    if algo not in _HASHES or not si["signed_attrs"]:
        raise TimestampInvalid(f"digest {algo!r} or signed attributes not acceptable")
    attrs = {a["type"].native: a["values"] for a in si["signed_attrs"]}
    if attrs.get("content_type") is None or attrs["content_type"][0].native != "tst_info":
        raise TimestampInvalid("the signed content-type attribute is not id-ct-TSTInfo")
    content_digest = hashlib.new(algo, tst_der).digest()
    if attrs.get("message_digest") is None or not hmac.compare_digest(
        bytes(attrs["message_digest"][0].native), content_digest
    ):
        raise TimestampInvalid("the signed message-digest does not match the TSTInfo")
    # 5. ESS signing certificate (RFC 2634 / RFC 5816) names this certificate.
    _check_ess(attrs, signer.dump())
    # 6. The signature over DER(SET OF signed attributes).
    _check_signature(tsa_cert, si, algo, si["signed_attrs"].untag().dump())
    # 7. The TSA certificate: critical EKU timeStamping only (§2.3), a path to a root.
    gen_time: datetime = tst["gen_time"].native
    _check_tsa_certificate(tsa_cert, gen_time)
    pool = [*intermediates, *(x509.load_der_x509_certificate(c.dump()) for c in certs)]
    _check_path(tsa_cert, roots, pool, gen_time)
    return TimestampInfo(
        gen_time=gen_time,
        serial_number=tst["serial_number"].native,
        policy=tst["policy"].dotted,
        hash_name=hash_name,
        hashed_message=digest,
        nonce=tst["nonce"].native,
        tsa_certificate=tsa_cert,
    )


def _matches(sid: cms.SignerIdentifier, cert: cms.Certificate) -> bool:
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        return bool(
            ias["issuer"] == cert.issuer and ias["serial_number"].native == cert.serial_number
        )
    return bool(sid.chosen.native == cert.key_identifier)


def _check_ess(attrs: dict[str, cms.SetOfAny], cert_der: bytes) -> None:
    if attrs.get("signing_certificate_v2") is not None:
        cert_id = attrs["signing_certificate_v2"][0]["certs"][0]
        algo = cert_id["hash_algorithm"]["algorithm"].native
    elif attrs.get("signing_certificate") is not None:
        cert_id, algo = attrs["signing_certificate"][0]["certs"][0], "sha1"
    else:
        raise TimestampInvalid("the token has no ESS signing-certificate attribute")
    if algo not in _HASHES and algo != "sha1":
        raise TimestampInvalid(f"ESS certificate hash {algo!r} not acceptable")
    expected = hashlib.new(algo, cert_der).digest()
    if not hmac.compare_digest(bytes(cert_id["cert_hash"].native), expected):
        raise TimestampInvalid("the ESS signing-certificate is not the signer's certificate")


def _check_signature(cert: x509.Certificate, si: cms.SignerInfo, algo: str, data: bytes) -> None:
    key = cert.public_key()
    sig = bytes(si["signature"].native)
    hash_ = _HASHES[algo]()
    sig_algo = si["signature_algorithm"]["algorithm"].native
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(hash_))
        elif isinstance(key, rsa.RSAPublicKey) and sig_algo != "rsassa_pss":
            key.verify(sig, data, padding.PKCS1v15(), hash_)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        else:
            raise TimestampInvalid(f"TSA key or signature algorithm {sig_algo!r} not supported")
    except InvalidSignature:
        raise TimestampInvalid("the TSA signature over the token does not verify") from None


def _check_tsa_certificate(cert: x509.Certificate, at: datetime) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampInvalid("the TSA certificate has no extendedKeyUsage") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimestampInvalid("the TSA certificate's EKU is not critical timeStamping only")
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise TimestampInvalid("the TSA certificate was not valid at the time-stamp's time")


def _check_path(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    for _ in range(MAX_CHAIN):
        if cert in roots:
            return
        for root in roots:
            if _issued_by(cert, root, at):
                return
        parent = next((c for c in pool if c != cert and _issued_by(cert, c, at)), None)
        if parent is None or not _is_ca(parent):
            break
        cert = parent
    raise TimestampInvalid("the TSA certificate does not chain to a trusted TSA root")


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate, at: datetime) -> bool:
    if cert.issuer != issuer.subject:
        return False
    if not issuer.not_valid_before_utc <= at <= issuer.not_valid_after_utc:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
