"""The person's MISS devices, seen from the workstation: approve a browser, list, revoke.

A browser cannot hold the person's certificate key, so it asks to be paired (its public keys
and a label, under a short code); the agent, which holds the key (a file or a PKCS#11 token),
fetches that request, shows its key fingerprints, signs the device statement
(:func:`caducee.instant.device_keys.certify_device`) and registers it, then consumes the
request. The agent talks to the server over HTTP only (``ServerClient.request``).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from caducee.agent.client import ServerClient
from caducee.crypto.cms_sign import SignerKey
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DevicePublicKeys, certify_device
from caducee.instant.pairing import key_fingerprint, normalise_code, tidy_label

__all__ = ["PairingRequest", "approve", "fetch_pairing", "list_devices", "revoke_device"]

log = logging.getLogger(__name__)
API = "/api/v1/instant"


@dataclass(frozen=True)
class PairingRequest:
    """A browser's request, as the person must check it before approving."""

    code: str
    label: str
    keys: DevicePublicKeys
    expires_at: str

    @property
    def hpke_fingerprint(self) -> str:
        return key_fingerprint(self.keys.hpke_public)

    @property
    def signing_fingerprint(self) -> str:
        return key_fingerprint(self.keys.signing_public)


def fetch_pairing(client: ServerClient, code: str) -> PairingRequest:
    """The request behind ``code`` (raises ``ServerError`` 404 if unknown or expired)."""
    code = normalise_code(code)
    body: dict[str, Any] = client.request("GET", f"{API}/pairing/{code}", retries=1).json()
    keys = DevicePublicKeys(
        str(body["device_id"]),
        str(body["address"]),
        Kem.from_id(int(body["kem"])),
        base64.b64decode(body["hpke_public"], validate=True),
        base64.b64decode(body["signing_public"], validate=True),
        datetime.fromtimestamp(int(body["created_at"]), UTC),
    )
    return PairingRequest(code, str(body["label"]), keys, str(body["expires_at"]))


def approve(client: ServerClient, key: SignerKey, request: PairingRequest) -> dict[str, Any]:
    """Certify the device with the person's key, register it, consume the request."""
    statement = certify_device(request.keys, key)
    named = {"statement": base64.b64encode(statement).decode(), "label": tidy_label(request.label)}
    registered: dict[str, Any] = client.request(
        "POST",
        f"{API}/devices",
        json=named,
        retries=1,
    ).json()
    client.request("DELETE", f"{API}/pairing/{request.code}", retries=1)
    log.info("device %s approved", request.keys.device_id)
    return registered


def list_devices(client: ServerClient) -> list[dict[str, Any]]:
    """The person's devices, revoked ones included."""
    devices: list[dict[str, Any]] = client.request("GET", f"{API}/devices").json()["devices"]
    return devices


def revoke_device(client: ServerClient, device_id: str) -> bool:
    """Revoke one of the person's devices; whether it was active until now."""
    answer = client.request("DELETE", f"{API}/devices/{device_id}", retries=1).json()
    return bool(answer["revoked"])
