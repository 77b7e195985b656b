"""The Caducée side of ``bench_instant.py``: a real ``caducee server run`` with MISS set up.

``members`` people (each an enrolled mailbox with an RSA-2048 certificate), their devices
registered with statements signed by that key, one case holding them all, and the posts:
real sender-key ciphertexts (``SenderKeyGroup.encrypt``, X25519 device keys) made and
encoded as HTTP requests before the clock starts. SYNTHETIC DATA: invented people, random
keys, a made-up text.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

from instant_load import HttpClient, Post, devices_per_person, encode_request
from server_process import ServerProcess

from caducee.agent.client import ServerClient
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device
from caducee.instant.sender_keys import SenderKeyGroup

__all__ = ["CaduceePeer", "synthetic_text"]

API = "/api/v1/instant"
SETUP_CONNECTIONS = 8


def synthetic_text(number: int) -> bytes:
    """About 200 bytes of invented clinical chat, different for each message."""
    return (
        f"[synthétique] Patient fictif n° {number:05d}, créatinine 180 µmol/L ce matin, "
        "kaliémie 5,9 mmol/L. Pouvez-vous me rappeler au poste 4321 ? Merci. "
        f"{secrets.token_hex(8)}"
    ).encode()


class CaduceePeer:
    """A server process, the case, the clients' connection details and the posts."""

    name = "Caducée (SQLite)"

    def __init__(
        self, members: int, clients: int, idle: bool = False, database_url: str | None = None
    ) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="caducee-bench-instant-")
        if database_url:
            self.name = "Caducée (PostgreSQL)"
        self.server = ServerProcess(Path(self.folder.name), database_url)
        self.host, self.port = "127.0.0.1", self.server.port
        self.pid = self.server.process.pid
        self.members, self.clients = members, clients
        self.per_person = devices_per_person(members, clients, idle)
        self.people: list[tuple[str, Any]] = []  # (address, person key)
        self.tokens: list[str] = []
        self.devices: list[list[DeviceKeys]] = []
        self.case_id = ""

    # -- set-up (not timed) ------------------------------------------------------------------

    def setup(self) -> None:
        for number in range(len(self.per_person)):
            credentials, _ = self.server.enrol(f"membre{number:03d}@miss-bench.test", number + 1)
            self.people.append((credentials.address, credentials.key))
            with ServerClient(self.server.base, credentials) as client:
                client.login()
                self.tokens.append(client._bearer())
        asyncio.run(self._devices_and_case())

    async def _devices_and_case(self) -> None:
        per_person = self.per_person
        jobs: list[tuple[int, DeviceKeys]] = []
        for number, (address, _key) in enumerate(self.people):
            mine = [
                DeviceKeys.generate(f"m{number:03d}-d{d:02d}", address, kem=Kem.X25519)
                for d in range(max(1, per_person[number]))
            ]
            self.devices.append(mine)
            jobs.extend((number, device) for device in mine)

        async def register(queue: list[tuple[int, DeviceKeys]]) -> None:
            client = HttpClient(self.host, self.port)
            try:
                while queue:
                    number, device = queue.pop()
                    statement = certify_device(device.public(), self.people[number][1])
                    body = {"statement": base64.b64encode(statement).decode()}
                    await client.json("POST", f"{API}/devices", body, self.tokens[number])
            finally:
                await client.close()

        await asyncio.gather(*(register(jobs) for _ in range(SETUP_CONNECTIONS)))
        client = HttpClient(self.host, self.port)
        try:
            others = [address for address, _ in self.people[1 : self.members]]
            case = await client.json(
                "POST", f"{API}/cases", {"participants": others}, self.tokens[0]
            )
            for number in range(self.members, len(self.people)):  # idle people: a case each
                await client.json("POST", f"{API}/cases", {"participants": []}, self.tokens[number])
        finally:
            await client.close()
        self.case_id = str(case["case_id"])

    def receiver_specs(self) -> list[dict[str, Any]]:
        """One hub client per device (devices beyond ``clients`` are not connected)."""
        specs = [
            {
                "kind": "hub",
                "host": self.host,
                "port": self.port,
                "path": f"{API}/ws",
                "token": self.tokens[number],
                "device": device.device_id,
                "in_case": number < self.members,
            }
            for number, mine in enumerate(self.devices)
            for device in mine
        ]
        return specs[: self.clients]

    def ciphertexts(self, count: int, senders: int) -> list[tuple[int, bytes]]:
        """(sender, ciphertext) for ``count`` messages, round robin over ``senders`` people."""
        groups = [
            SenderKeyGroup(self.case_id, self.devices[s][0]) for s in range(min(senders, 1_000))
        ]
        return [
            (n % len(groups), groups[n % len(groups)].encrypt(synthetic_text(n)))
            for n in range(count)
        ]

    def posts(self, ciphertexts: list[tuple[int, bytes]]) -> list[Post]:
        host = f"{self.host}:{self.port}"
        path = f"{API}/cases/{self.case_id}/messages"
        return [
            Post(
                sender,
                encode_request(
                    host,
                    "POST",
                    path,
                    json.dumps(
                        {
                            "message_id": f"miss-bench-{n}-{secrets.token_hex(6)}@miss-bench.test",
                            "device_id": self.devices[sender][0].device_id,
                            "kind": "message",
                            "ciphertext": base64.b64encode(data).decode(),
                        }
                    ).encode(),
                    self.tokens[sender],
                ),
            )
            for n, (sender, data) in enumerate(ciphertexts)
        ]

    @staticmethod
    def key_of(status: int, data: bytes) -> str:
        if status != 201:
            raise RuntimeError(f"not a new message: {status} {data[:200]!r}")
        return str(json.loads(data)["sequence"])

    def stop(self) -> None:
        self.server.stop()
        self.folder.cleanup()
