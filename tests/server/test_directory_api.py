"""The directory over HTTP: the operator fills it, agents search it and fetch certificates."""

from __future__ import annotations

from cryptography import x509

from caducee.directory import luhn_complete
from tests.server.conftest import World, problem

SEARCH = "/api/v1/directory/search"


async def test_operator_registers_and_agents_search(world: World) -> None:
    lab = await world.organisation("Laboratoire des Brotteaux", city="Lyon", region="ARA")
    ehpad = luhn_complete("69100001")
    reply = await world.admin(
        "/organisations",
        {"finess": ehpad, "name": "Les Tilleuls", "type": "nursing_home", "beds": 80,
         "city": "Villeurbanne"},
    )  # fmt: skip
    assert reply.status_code == 201 and reply.json() == {"finess": ehpad}
    gp = await world.person("Morel", specialty="médecine générale")
    bio = await world.person("Roux", organisation=lab, profession="biologiste")
    await world.mailbox("accueil@tilleuls.caducee.test", "organisational", organisation=ehpad)

    async def search(**params: str) -> list[str]:
        reply = await world.client.get(SEARCH, params=params, headers=gp.headers)
        assert reply.status_code == 200, reply.text
        return [r["address"] for r in reply.json()["results"]]

    assert await search(q="morel") == [gp.address]
    assert await search(profession="biolog", city="lyon") == [bio.address]
    assert await search(organisation=ehpad) == ["accueil@tilleuls.caducee.test"]
    assert await search(organisation="tilleuls") == ["accueil@tilleuls.caducee.test"]
    assert await search(address="accueil@") == ["accueil@tilleuls.caducee.test"]
    everyone = [gp.address, bio.address, "accueil@tilleuls.caducee.test"]  # people first
    assert await search(q="\x00") == everyone  # NUL is dropped from terms, not sent to SQL
    entry = (await world.client.get(SEARCH, params={"q": "roux"}, headers=gp.headers)).json()
    assert entry["results"][0]["organisation_name"] == "Laboratoire des Brotteaux"
    assert entry["results"][0]["profession"] == "biologiste"
    problem(await world.client.get(SEARCH), 401, "unauthenticated")


async def test_admin_refusals(world: World) -> None:
    lab = await world.organisation()
    body = {"finess": lab, "name": "Twice", "type": "lab"}
    problem(await world.admin("/organisations", body), 409, "already-registered")
    body = {"finess": "123456789", "name": "Bad key", "type": "lab"}
    problem(await world.admin("/organisations", body), 400, "invalid-identifier")
    body = {"finess": luhn_complete("12345678"), "name": "X", "type": "castle"}
    problem(await world.admin("/organisations", body), 422, "invalid-request")
    body = {"rpps": luhn_complete("1999999999"), "given_name": "A", "family_name": "B",
            "profession": "infirmier", "organisation": luhn_complete("99999999")}  # fmt: skip
    problem(await world.admin("/people", body), 404, "unknown-organisation")
    body = {"address": "x@caducee.test", "kind": "personal", "organisation": lab}
    problem(await world.admin("/mailboxes", body), 400, "invalid-entry")
    problem(await world.admin("/mailboxes/nobody@x.test/active", {"active": False}), 404,
            "unknown-mailbox")  # fmt: skip
    problem(await world.admin("/people/12/enrolment-code"), 404, "unknown-person")


async def test_certificates_are_the_valid_ones_in_pem(world: World) -> None:
    gp = await world.person()
    old = await world.certify(gp.address, gp.key)  # a second certificate, then revoked
    await world.revoke(old)
    reply = await world.client.get(
        f"/api/v1/directory/mailboxes/{gp.address}/certificates", headers=gp.headers
    )
    assert reply.status_code == 200, reply.text
    pems = reply.json()["certificates"]
    assert [x509.load_pem_x509_certificate(p.encode()).serial_number for p in pems] == [
        gp.certificate.serial_number
    ]
    unknown = await world.client.get(
        "/api/v1/directory/mailboxes/nobody@caducee.test/certificates", headers=gp.headers
    )
    problem(unknown, 404, "unknown-mailbox")
