"""Private keys on a PKCS#11 token (a CPS card, SoftHSM2 in tests), addressed by RFC 7512 URIs.

``load_token_key`` returns an object that *is* a ``cryptography`` RSA or EC private key: it
signs (PKCS#1 v1.5, PSS, ECDSA; RFC 8017, FIPS 186) and decrypts (PKCS#1 v1.5, OAEP) on the
token; it refuses to export (the key never leaves the token). Hashing is done in software and
the token applies the raw mechanism (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA), so
``Prehashed`` digests work too. Each key holds one session, guarded by a lock.
"""

from __future__ import annotations

import threading
from typing import Any, NoReturn

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding

from caducee.crypto import _pkcs11_session as _s
from caducee.crypto.errors import KeySourceError, UnsupportedAlgorithm
from caducee.crypto.keyfile import KeyKind
from caducee.crypto.pkcs11_uri import PKCS11URI, parse_pkcs11_uri

__all__ = [
    "DEFAULT_PKCS11_MODULE",
    "TokenECPrivateKey",
    "TokenRSAPrivateKey",
    "generate_token_key",
    "load_token_key",
    "store_certificate_on_token",
]

DEFAULT_PKCS11_MODULE = _s.DEFAULT_PKCS11_MODULE

# RFC 8017 §9.2 note 1: DER DigestInfo prefixes for EMSA-PKCS1-v1_5.
_DIGEST_INFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_CURVES: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}


def _digest(data: bytes, algorithm: hashes.HashAlgorithm | utils.Prehashed) -> tuple[bytes, str]:
    if isinstance(algorithm, utils.Prehashed):
        if len(data) != algorithm.digest_size:
            raise ValueError("prehashed data does not match the digest size")
        return data, algorithm._algorithm.name
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize(), algorithm.name


class _TokenKey:
    """One key object on the token with its own session."""

    def __init__(self, handle: _s.KeyHandle) -> None:
        self._handle = handle
        self._lock = threading.Lock()

    @property
    def uri(self) -> PKCS11URI:
        return self._handle.uri

    def close(self) -> None:
        """Close the key's session; the object is unusable afterwards."""
        with self._lock:
            self._handle.close()

    def _refuse_export(self) -> NoReturn:
        raise KeySourceError(
            f"the key {self._handle.uri} stays on the token and cannot be exported"
        )

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Any:
        return self


class TokenRSAPrivateKey(_TokenKey, rsa.RSAPrivateKey):
    """An RSA private key held by a PKCS#11 token."""

    def __init__(self, handle: _s.KeyHandle, public: rsa.RSAPublicKey) -> None:
        super().__init__(handle)
        self._public = public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | utils.Prehashed | utils.NoDigestInfo,
    ) -> bytes:
        """RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 8017 §8) on the token."""
        if isinstance(algorithm, utils.NoDigestInfo):
            if not isinstance(padding, _PKCS1v15):
                raise UnsupportedAlgorithm("NoDigestInfo needs PKCS#1 v1.5 padding")
            with self._lock:
                return self._handle.sign(_s.Mech.RSA_PKCS, bytes(data))
        digest, name = _digest(bytes(data), algorithm)
        if isinstance(padding, _PKCS1v15):
            if name not in _DIGEST_INFO:
                raise UnsupportedAlgorithm(f"PKCS#1 v1.5 with {name} is not supported")
            with self._lock:
                return self._handle.sign(_s.Mech.RSA_PKCS, _DIGEST_INFO[name] + digest)
        if isinstance(padding, _PSS):
            salt = _pss_salt(padding, self.key_size, len(digest))
            mgf = _mgf_hash(padding)
            with self._lock:
                return self._handle.sign(_s.Mech.RSA_PSS, digest, (name, mgf, salt))
        raise UnsupportedAlgorithm(f"padding {padding.name} is not supported for signing")

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        """RSAES-PKCS1-v1_5 or RSAES-OAEP (RFC 8017 §7); every failure is ``DecryptionFailed``."""
        if isinstance(padding, _OAEP):
            if padding._label:
                raise UnsupportedAlgorithm("OAEP labels are not supported")
            params = (padding._algorithm.name, _mgf_hash(padding), 0)
            with self._lock:
                return self._handle.decrypt(_s.Mech.RSA_OAEP, ciphertext, params)
        if isinstance(padding, _PKCS1v15):
            with self._lock:
                return self._handle.decrypt(_s.Mech.RSA_PKCS, ciphertext)
        raise UnsupportedAlgorithm(f"padding {padding.name} is not supported for decryption")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        self._refuse_export()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse_export()


class TokenECPrivateKey(_TokenKey, ec.EllipticCurvePrivateKey):
    """An ECDSA private key held by a PKCS#11 token."""

    def __init__(self, handle: _s.KeyHandle, public: ec.EllipticCurvePublicKey) -> None:
        super().__init__(handle)
        self._public = public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        """ECDSA (FIPS 186-5) on the token; the token's r‖s becomes a DER Ecdsa-Sig-Value."""
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise UnsupportedAlgorithm("only ECDSA signatures are supported")
        digest, _name = _digest(bytes(data), signature_algorithm.algorithm)
        with self._lock:
            raw = self._handle.sign(_s.Mech.ECDSA, digest)
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise UnsupportedAlgorithm("ECDH on a token key is not supported")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._refuse_export()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse_export()


_PKCS1v15 = padding.PKCS1v15
_PSS = padding.PSS
_OAEP = padding.OAEP


def _mgf_hash(pad: padding.PSS | padding.OAEP) -> str:
    mgf = pad._mgf
    if not isinstance(mgf, padding.MGF1):
        raise UnsupportedAlgorithm("only MGF1 is supported")
    return mgf._algorithm.name


def _pss_salt(pad: padding.PSS, key_bits: int, digest_len: int) -> int:
    salt = pad._salt_length
    if isinstance(salt, int):
        return salt
    if isinstance(salt, padding._MaxLength):
        return (key_bits + 6) // 8 - digest_len - 2  # RFC 8017 §9.1.1: emLen - hLen - 2
    if isinstance(salt, padding._DigestLength):
        return digest_len
    raise UnsupportedAlgorithm("PSS salt length AUTO is only for verification")


def _rsa_public(attrs: _s.PublicParts) -> rsa.RSAPublicKey:
    modulus, exponent = attrs.rsa
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _ec_public(attrs: _s.PublicParts) -> ec.EllipticCurvePublicKey:
    params_der, point_der = attrs.ec
    try:
        curve_name = asn1_keys.ECDomainParameters.load(params_der).chosen.native
        point = asn1_core.OctetString.load(point_der).native
    except ValueError as exc:
        raise KeySourceError(f"unreadable EC public key on the token: {exc}") from None
    curve = _CURVES.get(str(curve_name))
    if curve is None:
        raise UnsupportedAlgorithm(f"curve {curve_name} is not supported")
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)


def _as_uri(uri: PKCS11URI | str) -> PKCS11URI:
    return parse_pkcs11_uri(uri) if isinstance(uri, str) else uri


def load_token_key(
    uri: PKCS11URI | str, pin: str | None = None, *, module: str | None = None
) -> TokenRSAPrivateKey | TokenECPrivateKey:
    """Open the token named by ``uri`` and find the private key it names (``object``/``id``).

    The PIN comes from ``pin``, else the URI's ``pin-value`` or ``pin-source``. The module is
    ``module``, else the URI's ``module-path``, else ``DEFAULT_PKCS11_MODULE``.
    Raises ``TokenAbsent``, ``WrongPassphrase`` or ``KeyNotFound``.
    """
    parsed = _as_uri(uri)
    handle = _s.open_key(parsed, pin, module)
    try:
        parts = handle.public_parts()
        if parts.key_type == "rsa":
            return TokenRSAPrivateKey(handle, _rsa_public(parts))
        return TokenECPrivateKey(handle, _ec_public(parts))
    except BaseException:
        handle.close()
        raise


def generate_token_key(
    uri: PKCS11URI | str,
    *,
    label: str,
    key_id: bytes,
    kind: KeyKind,
    pin: str | None = None,
    module: str | None = None,
) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """Generate a key pair ON the token: private half sensitive and never extractable.

    Returns the public key (for a CSR or ``pki.issue_certificate``). Refuses to reuse ``key_id``.
    """
    parts = _s.generate_keypair(_as_uri(uri), pin, module, label, key_id, kind.rsa_bits)
    return _rsa_public(parts) if kind.is_rsa else _ec_public(parts)


def store_certificate_on_token(
    uri: PKCS11URI | str,
    certificate: x509.Certificate,
    *,
    label: str,
    key_id: bytes,
    pin: str | None = None,
    module: str | None = None,
) -> None:
    """Store an X.509 certificate object next to its key (same ``key_id``), PKCS#11 §4.6.3."""
    serial = asn1_core.Integer(certificate.serial_number).dump()
    _s.store_certificate(
        _as_uri(uri),
        pin,
        module,
        certificate.public_bytes(serialization.Encoding.DER),
        certificate.subject.public_bytes(),
        certificate.issuer.public_bytes(),
        serial,
        label,
        key_id,
    )
