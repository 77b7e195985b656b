"""GET /api/v1/instant/people/{address}/certificates: the person's certificates for a paired
browser (a device token is refused by the directory), the same the directory gives agents.
Run on SQLite and PostgreSQL by the ``world`` fixture."""

from __future__ import annotations

import base64

from cryptography import x509

from tests.instant.miss import API
from tests.instant.test_pairing_support import paired_device
from tests.server.conftest import World, problem


async def test_a_device_token_gets_the_certificates_the_directory_gives_agents(
    world: World,
) -> None:
    alice = await world.person("Alice")
    bob = await world.person("Bob")
    _, token = await paired_device(world, alice)
    device = {"Authorization": f"Bearer {token}"}
    path = f"{API}/people/{bob.address.upper()}/certificates"

    answer = await world.client.get(path, headers=device)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["address"] == bob.address.lower()
    certificates = [
        x509.load_der_x509_certificate(base64.b64decode(c)) for c in body["certificates"]
    ]
    assert certificates == [bob.certificate]

    directory = f"/api/v1/directory/mailboxes/{bob.address}/certificates"
    problem(await world.client.get(directory, headers=device), 403, "device-token-out-of-scope")
    pems = (await world.client.get(directory, headers=alice.headers)).json()["certificates"]
    assert [x509.load_pem_x509_certificate(p.encode()) for p in pems] == certificates


async def test_refusals(world: World) -> None:
    alice = await world.person("Alice")
    problem(
        await world.client.get(f"{API}/people/{alice.address}/certificates"), 401, "unauthenticated"
    )
    unknown = f"{API}/people/nobody@caducee.test/certificates"
    answer = await world.client.get(unknown, headers=alice.headers)
    assert answer.status_code == 404, answer.text
