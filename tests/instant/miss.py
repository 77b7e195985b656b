"""Helpers of the MISS server tests: devices for World identities, case calls, evidence.

SYNTHETIC TEST MATERIAL: the people, certificates and device keys come from
``tests.server.conftest.World`` and :meth:`DeviceKeys.generate`; ciphertexts are made by the
real sender-key core over synthetic text.
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import httpx
from hypothesis import given, settings
from hypothesis.strategies import SearchStrategy

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.sender_keys import SenderKeyGroup
from caducee.ledger import EvidenceEvent
from tests.server.conftest import Identity, World

_ids = itertools.count(1)
T = TypeVar("T")
API = "/api/v1/instant"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_device(person: Identity, name: str | None = None) -> DeviceKeys:
    """Device keys for ``person`` (X25519: fast), not yet registered."""
    device_id = name or f"device-{next(_ids)}"
    return DeviceKeys.generate(device_id, person.address, kem=Kem.X25519)


def statement(person: Identity, device: DeviceKeys) -> bytes:
    return certify_device(device.public(), person.key)


async def register(
    world: World, person: Identity, device: DeviceKeys, signed: bytes | None = None
) -> httpx.Response:
    body = {"statement": b64(signed or statement(person, device))}
    return await world.client.post(f"{API}/devices", json=body, headers=person.headers)


async def with_device(world: World, person: Identity) -> DeviceKeys:
    device = new_device(person)
    response = await register(world, person, device)
    assert response.status_code == 201, response.text
    return device


async def evidence_events(world: World, message_id: str) -> list[tuple[EvidenceEvent, Any]]:
    log = world.state.extras["evidence_log"]
    return [(s.record.event, s.record) for _, s in await log.records_of(message_id)]


def group(case_id: str, me: DeviceKeys, *others: DeviceKeys) -> SenderKeyGroup:
    return SenderKeyGroup(case_id, me, [o.public() for o in others])


def examples(strategy: SearchStrategy[T], count: int = 40) -> list[T]:
    """Values hypothesis generates (edge cases first), for async tests against the server."""
    drawn: list[T] = []

    @settings(max_examples=count, database=None, deadline=None)
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn


async def open_case(
    world: World, creator: Identity, participants: list[str], role: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"participants": participants}
    if role is not None:
        body["role"] = role
    response = await world.client.post(f"{API}/cases", json=body, headers=creator.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def post(
    world: World,
    person: Identity,
    case_id: str,
    device: DeviceKeys,
    kind: str,
    ciphertext: bytes,
    message_id: str | None = None,
) -> httpx.Response:
    body = {
        "message_id": message_id or f"miss-{next(_ids)}@synthetic.caducee.test",
        "device_id": device.device_id,
        "kind": kind,
        "ciphertext": b64(ciphertext),
    }
    return await world.client.post(
        f"{API}/cases/{case_id}/messages", json=body, headers=person.headers
    )


async def acknowledge(
    world: World, who: Identity, case_id: str, device: DeviceKeys, message_id: str
) -> None:
    """ "I'm handling it" from ``who``'s ``device`` (201 asserted)."""
    body = {
        "message_id": message_id,
        "device_id": device.device_id,
        "ciphertext": b64(group(case_id, device).encrypt(b"je m'en occupe")),
    }
    response = await world.client.post(
        f"{API}/cases/{case_id}/acknowledge", json=body, headers=who.headers
    )
    assert response.status_code == 201, response.text


async def fetch(
    world: World, person: Identity, case_id: str, device: DeviceKeys, after: int = 0
) -> httpx.Response:
    return await world.client.get(
        f"{API}/cases/{case_id}/messages",
        params={"device": device.device_id, "after": after},
        headers=person.headers,
    )


async def share_keys(
    world: World, person: Identity, case_id: str, device: DeviceKeys, cipher: SenderKeyGroup
) -> None:
    """Post ``cipher``'s sender key sealed to each member device."""
    for distribution in cipher.distributions():
        response = await post(world, person, case_id, device, "key", distribution.payload)
        assert response.status_code == 201, response.text


def read_all(cipher: SenderKeyGroup, messages: list[dict[str, Any]]) -> list[bytes]:
    """Take in keys and decrypt messages as a client would; the plaintexts read."""
    read = []
    for m in messages:
        data = base64.b64decode(m["ciphertext"])
        if m["kind"] == "key":
            cipher.receive_key(data)
        else:
            read.append(cipher.decrypt(data).plaintext)
    return read


def vector_generator(folder: Path, name: str) -> ModuleType:
    """The ``make_vectors.py`` of a vectors folder, loaded as module ``name`` (the folders
    are not packages: each generator also runs as a script)."""
    spec = importlib.util.spec_from_file_location(name, folder / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
