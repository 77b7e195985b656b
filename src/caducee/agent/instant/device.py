"""The workstation's own MISS device: its keys, kept in the agent folder, and its login.

The device keys (an HPKE key pair, ML-KEM-768 + X25519 by default, and an Ed25519 signing
key) are made once and kept in ``miss-device.json`` in the agent folder, mode 0600, written
atomically. The private keys in it are sealed to the person's own certificate (CMS
AuthEnvelopedData, AES-256-GCM, the content key wrapped with RSA-OAEP), so they open with the
agent's key only, exactly as the documents the agent receives: the key file and its
passphrase, or the card. The device id, the address and the certificate serial are in clear
beside them (they are public: the server and the directory hold them too). Nothing of the
private keys is ever logged.

The device is certified with the person's certificate key (:func:`certify_device`) and
registered (``POST /api/v1/instant/devices`` with the person's token); a revoked device, or a
file sealed to a certificate the agent no longer has (a renewal with a new key), gives way to
a new device. Then :class:`DeviceSession` logs the device in with its own Ed25519 key
(``/devices/login/challenge`` then ``/devices/login``: the same as the browser's
``Session.login``) and calls the instant API with the 15-minute device token, logging in again
before it expires or once on a 401. The agent talks to the server over HTTP only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.errors import ServerError
from caducee.agent.instant.errors import DeviceFileError, NotConnected
from caducee.crypto.algorithms import ContentEncryption
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import SignerKey
from caducee.crypto.errors import CryptoError
from caducee.instant._hpke import HpkeKeyPair, Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.errors import InstantCryptoError
from caducee.instant.pairing import key_fingerprint

__all__ = [
    "API",
    "DEVICE_FILE",
    "LOGIN_CONTEXT",
    "DeviceSession",
    "b64",
    "ensure_device",
    "load_device",
]

log = logging.getLogger(__name__)
API = "/api/v1/instant"
DEVICE_FILE = "miss-device.json"
FILE_FORMAT = "caducee-miss-device-v1"
# What the device signs to log in (caducee.server.instant_login.LOGIN_CONTEXT; the agent does
# not import the server: the login test proves both say the same).
LOGIN_CONTEXT = "caducee-miss-v1 device login\n"
TOKEN_MARGIN = timedelta(seconds=30)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _device_id() -> str:
    return f"agent-{secrets.token_hex(8)}"


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path``, mode 0600, atomically (temporary file, then rename)."""
    fd, temp = tempfile.mkstemp(prefix=".miss-device-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _new_keys(address: str, kem: Kem) -> tuple[DeviceKeys, ed25519.Ed25519PrivateKey]:
    signing = ed25519.Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    return DeviceKeys(_device_id(), address, HpkeKeyPair.generate(kem), signing, now), signing


def _save(
    path: Path,
    device: DeviceKeys,
    signing: ed25519.Ed25519PrivateKey,
    certificate: x509.Certificate,
    serial_hex: str,
) -> None:
    secret = json.dumps(
        {
            "hpke_private": b64(device.hpke_key.private_bytes()),
            "signing_private": b64(signing.private_bytes_raw()),
        }
    ).encode()
    try:
        sealed = envelope(secret, [certificate], encryption=ContentEncryption.AES256_GCM)
    except CryptoError as exc:
        raise DeviceFileError(
            f"cannot seal the device keys to the person's certificate: {exc.reason}"
        ) from None
    document = {
        "format": FILE_FORMAT,
        "device_id": device.device_id,
        "address": device.address,
        "certificate_serial": serial_hex,
        "kem": device.hpke_key.kem.value,
        "created_at": int(device.created_at.timestamp()),
        "sealed": b64(sealed),
    }
    _write_private(path, (json.dumps(document, indent=2) + "\n").encode())


def load_device(
    config: AgentConfig, key: SignerKey, certificate: x509.Certificate
) -> DeviceKeys | None:
    """The device kept in the agent folder, or None when there is none for this certificate
    (no file yet, or one sealed to an earlier certificate). An unreadable file is an error:
    it is never replaced behind the person's back."""
    path = config.directory / DEVICE_FILE
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DeviceFileError(f"{path.name} is unreadable: {type(exc).__name__}") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise DeviceFileError(f"{path.name} is not a Caducée MISS device file")
    if str(document.get("certificate_serial", "")).lower() != config.serial_hex.lower():
        log.info("device %s: sealed to an earlier certificate", document.get("device_id"))
        return None
    if str(document.get("address", "")).lower() != config.address.lower():
        raise DeviceFileError(f"{path.name} belongs to another address")
    try:
        sealed = base64.b64decode(str(document["sealed"]), validate=True)
        secret = json.loads(decrypt_enveloped(sealed, certificate, key))
        kem = Kem.from_id(int(document["kem"]))
        device = DeviceKeys(
            str(document["device_id"]),
            str(document["address"]),
            HpkeKeyPair.from_private_bytes(kem, base64.b64decode(secret["hpke_private"])),
            ed25519.Ed25519PrivateKey.from_private_bytes(
                base64.b64decode(secret["signing_private"])
            ),
            datetime.fromtimestamp(int(document["created_at"]), UTC),
        )
    except (CryptoError, InstantCryptoError, KeyError, TypeError, ValueError, binascii.Error):
        raise DeviceFileError(
            f"{path.name} does not open with this agent's key (changed or damaged)"
        ) from None
    return device


def _create(config: AgentConfig, certificate: x509.Certificate, kem: Kem) -> DeviceKeys:
    device, signing = _new_keys(config.address, kem)
    _save(config.directory / DEVICE_FILE, device, signing, certificate, config.serial_hex)
    log.info("MISS device %s created", device.device_id)
    return device


def _registered_state(client: ServerClient, device_id: str) -> str:
    """ "active", "revoked" or "absent": the device as the person's device list has it."""
    devices = client.request("GET", f"{API}/devices").json()["devices"]
    for found in devices:
        if found["device_id"] == device_id:
            return "revoked" if found["revoked_at"] else "active"
    return "absent"


def ensure_device(
    config: AgentConfig,
    client: ServerClient,
    *,
    kem: Kem = Kem.MLKEM768_X25519,
) -> DeviceKeys:
    """This workstation's device, made, certified and registered when needed."""
    if client.credentials is None:
        raise NotConnected("no identity loaded: the agent cannot certify its device")
    key = client.credentials.key
    certificate = config.load_certificate()
    device = load_device(config, key, certificate)
    replaced = workstation_device_id(config) if device is None else None
    if device is not None:
        state = _registered_state(client, device.device_id)
        if state == "active":
            return device
        if state == "revoked":
            log.info("MISS device %s was revoked: making a new one", device.device_id)
            device = None
    if device is None:
        device = _create(config, certificate, kem)
    statement = certify_device(device.public(), key)
    named = {"statement": b64(statement), "label": workstation_label()}
    client.request("POST", f"{API}/devices", json=named, retries=1)
    log.info(
        "MISS device %s registered (signing key %s)",
        device.device_id,
        key_fingerprint(device.public().signing_public),
    )
    if replaced and replaced != device.device_id:
        try:  # the keys of the replaced device are gone with its file: nobody should seal to it
            client.request("DELETE", f"{API}/devices/{replaced}", retries=1)
        except ServerError:
            log.info("MISS device %s: not revoked (unknown or already revoked)", replaced)
    return device


def workstation_label() -> str:
    """The name this workstation's device gets on its person's devices page: the machine's
    name, which tells one practice's workstations apart (printable, at most 100 chars)."""
    name = "".join(c for c in socket.gethostname() if c.isprintable()).strip()
    return f"Poste / workstation {name}"[:100].strip()


def workstation_device_id(config: AgentConfig) -> str | None:
    """This workstation's device id, read from the clear part of its device file (its keys
    stay sealed): the device to revoke when the file was sealed to an earlier certificate,
    and the one the devices page marks as this workstation. None when there is none."""
    try:
        document = json.loads((config.directory / DEVICE_FILE).read_text("utf-8"))
        return str(document["device_id"]) if isinstance(document, dict) else None
    except (OSError, ValueError, KeyError):
        return None


class DeviceSession:
    """The device's token for the instant API: logs in with the device's own key."""

    def __init__(self, client: ServerClient, device: DeviceKeys) -> None:
        self.client = client
        self.device = device
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def login(self) -> None:
        """Challenge, signature with the device key, token (as ``client.js`` does)."""
        body = {"device_id": self.device.device_id}
        challenge = str(
            self.client.request(
                "POST", f"{API}/devices/login/challenge", auth=False, json=body
            ).json()["challenge"]
        )
        signature = self.device.sign((LOGIN_CONTEXT + challenge).encode())
        answer = self.client.request(
            "POST",
            f"{API}/devices/login",
            auth=False,
            json={**body, "challenge": challenge, "signature": b64(signature)},
        ).json()
        self._token = str(answer["access_token"])
        expires = datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
        self._expires_at = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        log.info("MISS device %s logged in", self.device.device_id)

    def _bearer(self, *, renew: bool = False) -> str:
        with self._lock:
            stale = datetime.now(UTC) + TOKEN_MARGIN >= self._expires_at
            if renew or self._token is None or stale:
                self.login()
            assert self._token is not None
            return self._token

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One call to ``/api/v1/instant{path}`` with the device token (a 401 logs in again,
        once); network trouble and 5xx are retried by the agent's client."""
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._bearer(renew=attempt > 0)}"}
            try:
                return self.client.request(method, API + path, auth=False, headers=headers, **kw)
            except ServerError as exc:
                if exc.status != 401 or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()
