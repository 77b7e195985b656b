"""Helpers of the MISS server tests: devices for World identities, case calls, evidence.

SYNTHETIC TEST MATERIAL: the people, certificates and device keys come from
``tests.server.conftest.World`` and :meth:`DeviceKeys.generate`; ciphertexts are made by the
real sender-key core over synthetic text.
"""

from __future__ import annotations

import base64
import itertools
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


def group(case_id: str, me: DeviceKeys) -> SenderKeyGroup:
    return SenderKeyGroup(case_id, me)


def examples(strategy: SearchStrategy[T], count: int = 40) -> list[T]:
    """Values hypothesis generates (edge cases first), for async tests against the server."""
    drawn: list[T] = []

    @settings(max_examples=count, database=None, deadline=None)
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn
