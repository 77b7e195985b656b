"""The one place that talks to python-pkcs11 (PKCS#11 v2.40): tokens, sessions, mechanisms.

Everything returned is plain Python; every ``pkcs11`` exception is mapped to the crypto error
tree here, so none escapes (``TokenAbsent``, ``WrongPassphrase``, ``KeyNotFound``...).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pkcs11
from asn1crypto import keys as asn1_keys
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e

from caducee.crypto.errors import (
    DecryptionFailed,
    KeyNotFound,
    KeySourceError,
    TokenAbsent,
    UnsupportedAlgorithm,
    WrongPassphrase,
)
from caducee.crypto.pkcs11_uri import PKCS11URI

__all__ = [
    "DEFAULT_PKCS11_MODULE",
    "KeyHandle",
    "Mech",
    "PublicParts",
    "generate_keypair",
    "open_key",
    "store_certificate",
]

DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

_HASHES = {
    "sha1": (Mechanism.SHA_1, MGF.SHA1),
    "sha224": (Mechanism.SHA224, MGF.SHA224),
    "sha256": (Mechanism.SHA256, MGF.SHA256),
    "sha384": (Mechanism.SHA384, MGF.SHA384),
    "sha512": (Mechanism.SHA512, MGF.SHA512),
}
_PIN_ERRORS = (
    p11e.PinIncorrect,
    p11e.PinInvalid,
    p11e.PinLenRange,
    p11e.PinLocked,
    p11e.PinExpired,
)
_ABSENT_ERRORS = (
    p11e.NoSuchToken,
    p11e.TokenNotPresent,
    p11e.TokenNotRecognised,
    p11e.DeviceRemoved,
    p11e.SlotIDInvalid,
)
_MECH_ERRORS = (
    p11e.MechanismInvalid,
    p11e.MechanismParamInvalid,
    p11e.ArgumentsBad,
    p11e.FunctionNotSupported,
)


class Mech(enum.Enum):
    RSA_PKCS = Mechanism.RSA_PKCS
    RSA_PSS = Mechanism.RSA_PKCS_PSS
    RSA_OAEP = Mechanism.RSA_PKCS_OAEP
    ECDSA = Mechanism.ECDSA


@dataclass(frozen=True)
class PublicParts:
    """The public half read from the token: ``rsa`` = (n, e), ``ec`` = (EC_PARAMS, EC_POINT)."""

    key_type: str
    rsa: tuple[int, int] = (0, 0)
    ec: tuple[bytes, bytes] = (b"", b"")


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    try:
        yield
    except _PIN_ERRORS:
        raise WrongPassphrase(f"{what}: the PIN was refused") from None
    except p11e.UserNotLoggedIn:
        raise WrongPassphrase(f"{what}: a PIN is needed") from None
    except _ABSENT_ERRORS:
        raise TokenAbsent(f"{what}: no such token") from None
    except p11e.NoSuchKey:
        raise KeyNotFound(f"{what}: no such object on the token") from None
    except p11e.MultipleObjectsReturned:
        raise KeyNotFound(f"{what}: several objects match; give object= or id=") from None
    except _MECH_ERRORS as exc:
        raise UnsupportedAlgorithm(f"{what}: the token refused the mechanism ({exc!r})") from None
    except p11e.PKCS11Error as exc:
        raise KeySourceError(f"{what}: token error {type(exc).__name__}") from None


def _library(path: str) -> Any:  # pkcs11.lib is a factory function, not a type
    if not Path(path).is_file():
        raise TokenAbsent(f"PKCS#11 module {path} not found")
    with _mapped(f"PKCS#11 module {path}"):
        return pkcs11.lib(path)


def _resolve_pin(uri: PKCS11URI, pin: str | None) -> str | None:
    if pin is not None:
        return pin
    if uri.pin_value is not None:
        return uri.pin_value
    if uri.pin_source is not None:
        source = uri.pin_source
        path = unquote(urlparse(source).path) if source.startswith("file:") else source
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WrongPassphrase(f"cannot read the PIN from {source}: {exc}") from None
    return None


def _open_session(
    uri: PKCS11URI, pin: str | None, module: str | None, *, rw: bool = False
) -> pkcs11.Session:
    lib = _library(module or uri.module_path or DEFAULT_PKCS11_MODULE)
    where = uri.to_uri()
    with _mapped(where):
        serial = uri.serial.encode() if uri.serial is not None else None
        tokens = [
            token
            for token in lib.get_tokens(token_label=uri.token, token_serial=serial)
            if (uri.manufacturer is None or token.manufacturer_id == uri.manufacturer)
            and (uri.model is None or token.model == uri.model)
            and (uri.slot_id is None or token.slot.slot_id == uri.slot_id)
        ]
        if not tokens:
            raise TokenAbsent(f"{where}: no such token")
        if len(tokens) > 1:
            raise TokenAbsent(f"{where}: {len(tokens)} tokens match; name one (token=, serial=)")
        user_pin = _resolve_pin(uri, pin)
        if user_pin is None:
            raise WrongPassphrase(f"{where}: a PIN is needed")
        return _login(lib.so, tokens[0], user_pin, rw, where)


# PKCS#11 §5.6: login state is per application and token, shared by all its sessions, and a
# second C_Login answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN. So the first
# successful login is remembered (a salted digest, never the PIN) and later PINs checked
# against it.
_LOGINS: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_LOGINS_LOCK = threading.Lock()


def _pin_digest(salt: bytes, pin: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, 10_000)


def _login(so: str, token: Any, pin: str, rw: bool, where: str) -> pkcs11.Session:
    ident = (so, str(token.serial))
    with _LOGINS_LOCK:
        try:
            session: pkcs11.Session = token.open(user_pin=pin, rw=rw)
        except p11e.UserAlreadyLoggedIn:
            known = _LOGINS.get(ident)
            if known is None or not hmac.compare_digest(known[1], _pin_digest(known[0], pin)):
                raise WrongPassphrase(f"{where}: the PIN was refused") from None
            session = token.open(rw=rw)
        else:
            salt = os.urandom(16)
            _LOGINS[ident] = (salt, _pin_digest(salt, pin))
        return session


class KeyHandle:
    """A private-key object and the session it lives in."""

    def __init__(self, uri: PKCS11URI, session: pkcs11.Session, key: Any) -> None:
        self.uri = uri
        self._session: pkcs11.Session | None = session
        self._key = key

    def _live(self) -> Any:
        if self._session is None:
            raise KeySourceError(f"{self.uri}: the key's session is closed")
        return self._key

    def public_parts(self) -> PublicParts:
        key = self._live()
        with _mapped(str(self.uri)):
            if key.key_type == KeyType.RSA:
                n = int.from_bytes(key[Attribute.MODULUS], "big")
                e = int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big")
                return PublicParts("rsa", rsa=(n, e))
            if key.key_type != KeyType.EC:
                raise UnsupportedAlgorithm(f"{self.uri}: key type {key.key_type!r} not supported")
            assert self._session is not None
            public = self._session.get_key(ObjectClass.PUBLIC_KEY, id=key[Attribute.ID])
            return PublicParts(
                "ec", ec=(bytes(key[Attribute.EC_PARAMS]), bytes(public[Attribute.EC_POINT]))
            )

    def sign(self, mech: Mech, data: bytes, params: tuple[str, str, int] | None = None) -> bytes:
        key = self._live()
        with _mapped(f"{self.uri}: signing"):
            return bytes(key.sign(data, mechanism=mech.value, mechanism_param=_params(params)))

    def decrypt(self, mech: Mech, data: bytes, params: tuple[str, str, int] | None = None) -> bytes:
        key = self._live()
        try:
            with _mapped(f"{self.uri}: decryption"):
                return bytes(
                    key.decrypt(
                        data, mechanism=mech.value, mechanism_param=_params(params, oaep=True)
                    )
                )
        except (WrongPassphrase, TokenAbsent, UnsupportedAlgorithm):
            raise
        except KeySourceError:
            # One answer for every ciphertext failure (Bleichenbacher hygiene).
            raise DecryptionFailed(f"{self.uri}: decryption failed") from None

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            with _mapped(str(self.uri)):
                session.close()


def _params(params: tuple[str, str, int] | None, *, oaep: bool = False) -> Any:
    if params is None:
        return None
    hash_name, mgf_name, salt = params
    if hash_name not in _HASHES or mgf_name not in _HASHES:
        raise UnsupportedAlgorithm(f"hash {hash_name}/{mgf_name} not supported on tokens")
    mech, _ = _HASHES[hash_name]
    _, mgf = _HASHES[mgf_name]
    return (mech, mgf, None) if oaep else (mech, mgf, salt)


def open_key(uri: PKCS11URI, pin: str | None, module: str | None) -> KeyHandle:
    """Open a session and find the private key named by ``object``/``id``."""
    if uri.type not in (None, "private"):
        raise KeyNotFound(f"{uri}: type={uri.type} is not a private key")
    if uri.object is None and uri.id is None:
        raise KeyNotFound(f"{uri}: give object= or id= to name the key")
    session = _open_session(uri, pin, module)
    try:
        with _mapped(str(uri)):
            key = session.get_key(ObjectClass.PRIVATE_KEY, label=uri.object, id=uri.id)
    except BaseException:
        with _mapped(str(uri)):
            session.close()
        raise
    return KeyHandle(uri, session, key)


def generate_keypair(
    uri: PKCS11URI, pin: str | None, module: str | None, label: str, key_id: bytes, rsa_bits: int
) -> PublicParts:
    """A token-resident key pair: private half SENSITIVE, not EXTRACTABLE (PKCS#11 §4.9)."""
    private = {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.SIGN: True,
        Attribute.DECRYPT: rsa_bits > 0,
        Attribute.UNWRAP: rsa_bits > 0,
    }
    public = {Attribute.TOKEN: True, Attribute.VERIFY: True, Attribute.ENCRYPT: rsa_bits > 0}
    with _open_session(uri, pin, module, rw=True) as session, _mapped(str(uri)):
        if list(session.get_objects({Attribute.ID: key_id})):
            raise KeySourceError(f"{uri}: an object with id {key_id.hex()} already exists")
        options: dict[str, Any] = {
            "store": True,
            "label": label,
            "id": key_id,
            "private_template": private,
            "public_template": public,
        }
        if rsa_bits:
            pub, _priv = session.generate_keypair(KeyType.RSA, rsa_bits, **options)
            n = int.from_bytes(pub[Attribute.MODULUS], "big")
            e = int.from_bytes(pub[Attribute.PUBLIC_EXPONENT], "big")
            return PublicParts("rsa", rsa=(n, e))
        curve = asn1_keys.ECDomainParameters(name="named", value="secp256r1").dump()
        domain = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: curve}, local=True
        )
        pub, _priv = domain.generate_keypair(**options)
        return PublicParts("ec", ec=(curve, bytes(pub[Attribute.EC_POINT])))


def store_certificate(
    uri: PKCS11URI,
    pin: str | None,
    module: str | None,
    der: bytes,
    subject: bytes,
    issuer: bytes,
    serial: bytes,
    label: str,
    key_id: bytes,
) -> None:
    """Create a CKO_CERTIFICATE / CKC_X_509 object (SoftHSM requires CKA_SUBJECT)."""
    with _open_session(uri, pin, module, rw=True) as session, _mapped(str(uri)):
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.VALUE: der,
                Attribute.SUBJECT: subject,
                Attribute.ISSUER: issuer,
                Attribute.SERIAL_NUMBER: serial,
                Attribute.LABEL: label,
                Attribute.ID: key_id,
            }
        )
