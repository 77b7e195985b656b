"""VAPID (RFC 8292): the server's P-256 key and the signed token each push request carries.

A push service accepts a push for a subscription only with a JWT (ES256, RFC 7515/7518)
signed by the key the browser subscribed with: ``Authorization: vapid t=<JWT>, k=<key>``,
the key as the uncompressed point, base64url without padding. The JWT says the push
service's origin (``aud``), an expiry under 24 h (``exp``) and a contact (``sub``).

The key lives in ``<data_dir>/instant/vapid.key`` (PKCS#8 PEM, mode 0600 in a 0700 folder),
created on first use like the log's key; it never goes to a log. Signing is a few lines of
``cryptography`` (no JWT library needed): ES256 is ECDSA P-256 over SHA-256, its signature
the raw ``r || s`` (32 bytes each) rather than DER.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from caducee.instant.service_errors import InstantError

__all__ = [
    "KEY_FILE",
    "TOKEN_LIFETIME",
    "VapidKeyError",
    "application_server_key",
    "audience",
    "authorization",
    "b64url",
    "load_or_create_key",
    "sign_jwt",
]

log = logging.getLogger(__name__)
KEY_FILE = Path("instant") / "vapid.key"
TOKEN_LIFETIME = timedelta(hours=12)  # RFC 8292 §2: at most 24 h


class VapidKeyError(InstantError):
    code = "instant-vapid-key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def application_server_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as browsers take it (``applicationServerKey``): 65 bytes, base64url."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def audience(endpoint: str) -> str:
    """The origin of a push endpoint (``aud``): scheme, host and a non-default port."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def sign_jwt(key: ec.EllipticCurvePrivateKey, claims: dict[str, object]) -> str:
    """A compact JWS, ES256, over ``claims``."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{body}".encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def authorization(
    key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: datetime
) -> str:
    """The ``Authorization`` header value of a push to ``endpoint`` (RFC 8292 §3)."""
    claims: dict[str, object] = {
        "aud": audience(endpoint),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "sub": subject,
    }
    return f"vapid t={sign_jwt(key, claims)}, k={application_server_key(key)}"


def load_or_create_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The server's VAPID key, created (exclusively, mode 0600) on first use."""
    path = data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            log.info("VAPID key created in %s", path)
            return key
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VapidKeyError(f"the VAPID key {path} is readable by others: chmod 600 it")
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise VapidKeyError(f"the VAPID key {path} cannot be loaded") from exc
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise VapidKeyError(f"the VAPID key {path} is not a P-256 key")
    return loaded
