"""Helpers of the pairing and device-login tests: a "browser" made of Python device keys.

SYNTHETIC TEST MATERIAL: people come from ``tests.server.conftest.World``; device keys are
generated afresh (X25519, fast); labels are invented.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime
from typing import Any

import httpx

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, DevicePublicKeys, certify_device
from caducee.server.instant_login import LOGIN_CONTEXT
from tests.instant.miss import API, b64
from tests.server.conftest import Identity, World

_ids = itertools.count(1)


def browser_keys(address: str, name: str | None = None) -> DeviceKeys:
    return DeviceKeys.generate(name or f"browser-{next(_ids)}", address, kem=Kem.X25519)


def pairing_body(keys: DeviceKeys, label: str = "Téléphone de garde") -> dict[str, Any]:
    public = keys.public()
    return {
        "address": public.address,
        "device_id": public.device_id,
        "label": label,
        "kem": public.kem.value,
        "hpke_public": b64(public.hpke_public),
        "signing_public": b64(public.signing_public),
        "created_at": int(public.created_at.timestamp()),
    }


async def ask_pairing(client: httpx.AsyncClient, keys: DeviceKeys) -> str:
    response = await client.post(f"{API}/pairing", json=pairing_body(keys))
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


async def approve_over_api(world: World, person: Identity, code: str) -> None:
    """What ``caducee agent devices approve`` does, over the ASGI client."""
    answer = await world.client.get(f"{API}/pairing/{code}", headers=person.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    public = DevicePublicKeys(
        body["device_id"],
        body["address"],
        Kem.from_id(body["kem"]),
        base64.b64decode(body["hpke_public"]),
        base64.b64decode(body["signing_public"]),
        datetime.fromtimestamp(body["created_at"], UTC),
    )
    statement = certify_device(public, person.key)
    registration = {"statement": b64(statement), "label": body["label"]}
    response = await world.client.post(f"{API}/devices", json=registration, headers=person.headers)
    assert response.status_code == 201, response.text
    consumed = await world.client.delete(f"{API}/pairing/{code}", headers=person.headers)
    assert consumed.status_code == 200, consumed.text


async def device_login(client: httpx.AsyncClient, keys: DeviceKeys) -> httpx.Response:
    challenge = await client.post(
        f"{API}/devices/login/challenge", json={"device_id": keys.device_id}
    )
    assert challenge.status_code == 200, challenge.text
    value = challenge.json()["challenge"]
    signature = keys.sign((LOGIN_CONTEXT + value).encode())
    return await client.post(
        f"{API}/devices/login",
        json={"device_id": keys.device_id, "challenge": value, "signature": b64(signature)},
    )


async def paired_device(world: World, person: Identity) -> tuple[DeviceKeys, str]:
    """A browser paired, approved and logged in: its keys and its device token."""
    keys = browser_keys(person.address)
    await approve_over_api(world, person, await ask_pairing(world.client, keys))
    response = await device_login(world.client, keys)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return keys, token
