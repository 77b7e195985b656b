"""The console's forms over HTTP: each done, each refusal shown in French and writing nothing.

Real server in process (httpx ASGI) on SQLite and PostgreSQL; the client logs in with the
operator token (the console's cookie) and posts the pages' CSRF token, as a browser does.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select

from caducee.directory.identifiers import luhn_complete
from caducee.directory.models import Organisation
from caducee.policy.limits import LimitService
from caducee.policy.models import Sanction
from tests.console.helpers import (
    console,
    operator_session,
    publish,
    register,
    sign,
    snapshot,
)
from tests.server.conftest import World

FINESS = luhn_complete("99000001")
RPPS = luhn_complete("9900000001")


def forged(number: str) -> str:
    """The same number with a wrong Luhn key: what a typo or a forgery gives."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def establishment(**changes: str) -> dict[str, str]:
    form = {
        "name": "EHPAD Les Tilleuls (synthétique)",
        "finess": FINESS,
        "type": "nursing_home",
        "beds": "84",
        "address": "3 rue des Lilas",
        "postcode": "35000",
        "city": "Rennes",
        "region": "Bretagne",
        "rpps": RPPS,
        "given_name": "Camille",
        "family_name": "DIRECTION",
        "profession": "directeur",
        "mailbox": "direction.tilleuls@console.test",
    }
    return {**form, **changes}


async def post(world: World, path: str, csrf: str, form: dict[str, str]) -> Any:
    return await world.client.post(path, data={**form, "csrf": csrf})


async def test_register_an_establishment_then_a_forged_finess_is_refused(world: World) -> None:
    csrf = await operator_session(world)
    response = await post(world, "/console/establishments", csrf, establishment())
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/establishments?registered={FINESS}"
    page = await world.client.get(response.headers["location"])
    assert "Établissement enregistré" in page.text and f'id="est-{FINESS}"' in page.text
    detail = (await console(world, "GET", f"/establishments/{FINESS}")).json()
    assert detail["type"] == "nursing_home" and detail["beds"] == 84
    assert detail["managers"] == [RPPS] and detail["region"] == "Bretagne"
    assert detail["people"][0]["mailbox"] == "direction.tilleuls@console.test"
    async with world.state.database.sessions() as session:
        organisation = await session.get(Organisation, FINESS)
    assert organisation is not None and organisation.address == "3 rue des Lilas"

    before = await snapshot(world)
    bad = forged(luhn_complete("99000002"))
    response = await post(
        world,
        "/console/establishments",
        csrf,
        establishment(finess=bad, rpps=luhn_complete("9900000002"), mailbox="x@console.test"),
    )
    assert response.status_code == 422
    assert "clé de Luhn" in response.text and "falsifié" in response.text
    assert 'role="alert"' in response.text and f'value="{bad}"' in response.text  # kept
    assert await snapshot(world) == before


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"finess": "12345"}, "finess", "9 chiffres"),
        ({"rpps": forged(RPPS)}, "rpps", "clé de Luhn"),
        ({"type": ""}, "type", "Choisissez un type"),
        ({"type": "castle"}, "type", "Choisissez un type"),
        ({"beds": ""}, "beds", "Un nombre entier de 1"),
        ({"beds": "-3"}, "beds", "Un nombre entier de 1"),
        ({"type": "lab"}, "beds", "Seul un EHPAD"),
        ({"name": ""}, "name", "Le nom est obligatoire"),
        ({"family_name": ""}, "family_name", "Le nom du responsable est obligatoire"),
        ({"mailbox": "pas-une-adresse"}, "mailbox", "adresse de messagerie valide"),
        ({"city": "x" * 101}, "city", "au plus 100 caractères"),
    ],
)
async def test_a_refused_registration_says_why_and_changes_nothing(
    world: World, changes: dict[str, str], field: str, words: str
) -> None:
    csrf = await operator_session(world)
    before = await snapshot(world)
    response = await post(world, "/console/establishments", csrf, establishment(**changes))
    assert response.status_code == 422, response.text
    assert words in response.text and f'data-field="{field}"' in response.text
    assert await snapshot(world) == before


async def test_registering_twice_or_a_taken_mailbox_is_refused(world: World) -> None:
    csrf = await operator_session(world)
    assert (await post(world, "/console/establishments", csrf, establishment())).status_code == 303
    before = await snapshot(world)
    again = await post(world, "/console/establishments", csrf, establishment())
    assert again.status_code == 422 and "déjà enregistré" in again.text
    other = establishment(finess=luhn_complete("99000003"), rpps=luhn_complete("9900000003"))
    taken = await post(world, "/console/establishments", csrf, other)
    assert taken.status_code == 422 and "déjà attribuée" in taken.text
    assert await snapshot(world) == before
    english = await world.client.post(
        "/console/establishments?lang=en", data={**establishment(), "csrf": csrf}
    )
    assert english.status_code == 422 and "already registered" in english.text


async def test_publish_a_charter_and_every_establishment_is_out_of_date(world: World) -> None:
    first = await publish(world)
    signed = await register(world)
    assert (await sign(world, signed, first["sha256"])).status_code == 201
    await register(world)  # never signed
    csrf = await operator_session(world)
    page = await world.client.get("/console/charter")
    assert first["sha256"] in page.text and "1 / 2" in page.text

    before = await snapshot(world)
    for text, words in (("   ", "de 1 à"), (first_text(page.text), "rien à publier")):
        response = await post(world, "/console/charter", csrf, {"text": text})
        assert response.status_code == 422 and words in response.text
    assert await snapshot(world) == before

    response = await post(world, "/console/charter", csrf, {"text": "Charte v2 (synthétique)"})
    assert response.status_code == 303 and response.headers["location"].endswith("published=2")
    page = await world.client.get(response.headers["location"])
    assert "signer à nouveau" in page.text and "0 / 2" in page.text
    listing = await world.client.get("/console/establishments")
    row = listing.text.split(f'id="est-{signed.finess}"')[1].split("</tr>")[0]
    assert "pas à jour" in row and "v1 → v2" in row
    views = (await console(world, "GET", "/establishments")).json()["establishments"]
    assert [v["up_to_date"] for v in views] == [False, False]


def first_text(page: str) -> str:
    """The current charter's text as the page's textarea holds it (HTML-unescaped)."""
    return html.unescape(
        page.split('id="charter-text"')[1].split(">", 1)[1].split("</textarea>")[0]
    )


async def test_limits_edit_a_scope_and_range_errors_change_nothing(world: World) -> None:
    csrf = await operator_session(world)
    page = await world.client.get("/console/limits")
    assert page.status_code == 200 and 'id="defaults"' in page.text
    good = {
        "scope": "type:lab",
        "recipients_per_message": "40",
        "messages_per_hour": "900",
        "new_recipients_per_hour": "60",
    }
    response = await post(world, "/console/limits", csrf, good)
    assert response.status_code == 303 and response.headers["location"].endswith("saved=type:lab")
    stored = await LimitService(world.state.database).all()
    assert vars(stored["type:lab"]) == {
        "recipients_per_message": 40,
        "messages_per_hour": 900,
        "new_recipients_per_hour": 60,
    }
    page = await world.client.get("/console/limits?scope=type:lab")
    assert 'data-scope="type:lab"' in page.text and 'value="900"' in page.text

    before = await snapshot(world)
    for changes, words in (
        ({"recipients_per_message": "0"}, "Un nombre entier de 1 à 100"),
        ({"messages_per_hour": "99999999"}, "à 10"),
        ({"new_recipients_per_hour": "douze"}, "Un nombre entier"),
        ({"messages_per_hour": "9" * 5000}, "Un nombre entier"),  # not even parsed
        ({"scope": "planet:mars"}, "Portée inconnue"),
        ({"scope": "org:123456789"}, "Aucun établissement 123456789"),
    ):
        response = await post(world, "/console/limits", csrf, {**good, **changes})
        assert response.status_code == 422 and words in response.text, changes
    english = await post(
        world, "/console/limits?lang=en", csrf, {**good, "recipients_per_message": "100001"}
    )
    assert english.status_code == 422 and "A whole number from 1 to 100,000." in english.text
    assert await snapshot(world) == before


async def test_a_sanction_is_given_listed_and_lifted(world: World) -> None:
    sender = await world.person("Questionnaire")
    csrf = await operator_session(world)
    before = await snapshot(world)
    for form, words in (
        ({"address": "personne@nulle.part", "level": "hold", "reason": "r"}, "Aucune boîte"),
        ({"address": sender.address, "level": "exile", "reason": "r"}, "Choisissez un niveau"),
        ({"address": sender.address, "level": "hold", "reason": ""}, "Le motif est obligatoire"),
        ({"address": sender.address, "level": "hold", "reason": "x" * 501}, "au plus 500"),
    ):
        response = await post(world, "/console/sanctions", csrf, form)
        assert response.status_code == 422 and words in response.text, form
    assert await snapshot(world) == before

    form = {"address": sender.address, "level": "hold", "reason": "Questionnaire de thèse"}
    response = await post(world, "/console/sanctions", csrf, form)
    assert response.status_code == 303
    sanction_id = int(response.headers["location"].rsplit("=", 1)[1])
    page = await world.client.get("/console/sanctions")
    assert f'id="sanction-{sanction_id}"' in page.text and "Questionnaire de thèse" in page.text
    seen = (await world.client.get("/api/v1/policy/sanctions", headers=sender.headers)).json()
    assert [s["level"] for s in seen["sanctions"]] == ["hold"]

    response = await post(world, f"/console/sanctions/{sanction_id}/lift", csrf, {})
    assert response.status_code == 303
    page = await world.client.get(response.headers["location"])
    assert f'id="sanction-{sanction_id}"' not in page.text and "levée" in page.text
    async with world.state.database.sessions() as session:
        row = await session.get(Sanction, sanction_id)
    assert row is not None and row.lifted_at is not None
    before = await snapshot(world)
    for missing in (sanction_id, 9999):  # lifted already, or none
        response = await post(world, f"/console/sanctions/{missing}/lift", csrf, {})
        assert response.status_code == 404 and "rien à lever" in response.text
    assert await snapshot(world) == before


async def test_reports_link_to_the_message_hold(world: World) -> None:
    sender = await world.person("Annonce")
    recipients = [await world.person(f"Lecteur{i}") for i in range(21)]
    sent = await world.send(sender, [r.address for r in recipients], message_id="annonce-1@t")
    hold_id = sent.json()["hold_id"]
    released = await console(world, "POST", f"/holds/{hold_id}/release")
    assert released.status_code == 200, released.text
    report = {"message_id": "annonce-1@t", "reason": "bulk"}
    response = await world.client.post(
        "/api/v1/reports", json=report, headers=recipients[0].headers
    )
    assert response.status_code == 201, response.text
    await operator_session(world)
    for path in ("/console/moderation", "/console/sanctions"):
        page = await world.client.get(path)
        assert f'href="/console/moderation#decided-{hold_id}"' in page.text, path
        assert sender.address in page.text
    async with world.state.database.sessions() as session:
        assert await session.scalar(select(Sanction.id)) is None  # a report sanctions nobody


async def test_the_support_contact_and_hours_are_in_every_console_page(world: World) -> None:
    await operator_session(world)
    settings = world.state.settings
    for path in (
        "/console",
        "/console/establishments",
        "/console/charter",
        "/console/limits",
        "/console/moderation",
        "/console/sanctions",
    ):
        page = await world.client.get(path)
        assert page.status_code == 200, path
        assert settings.support_contact in page.text and settings.support_hours in page.text
        for link in ("/console/charter", "/console/limits", "/console/sanctions"):
            assert f'href="{link}"' in page.text, (path, link)
        assert 'aria-current="page"' in page.text


async def test_an_organisation_and_a_person_of_the_directory_need_only_their_numbers(
    world: World,
) -> None:
    finess = await world.organisation("Laboratoire de l’annuaire")
    manager = await world.person("Connue", organisation=finess)
    csrf = await operator_session(world)
    form = {"finess": finess, "rpps": manager.extra["rpps"]}
    response = await post(world, "/console/establishments", csrf, form)
    assert response.status_code == 303, response.text
    detail = (await console(world, "GET", f"/establishments/{finess}")).json()
    assert detail["name"] == "Laboratoire de l’annuaire" and detail["type"] == "lab"
    assert detail["managers"] == [manager.extra["rpps"]]
    page = await world.client.get(f"/console/establishments/{finess}")
    assert page.status_code == 200 and "Laboratoire de l’annuaire" in page.text


async def test_an_unknown_establishment_or_a_nul_is_answered_in_a_page(world: World) -> None:
    csrf = await operator_session(world)
    page = await world.client.get(f"/console/establishments/{FINESS}")
    assert page.status_code == 404 and "pas enregistré" in page.text
    before = await snapshot(world)
    response = await post(world, "/console/charter", csrf, {"text": "Charte\x00"})
    assert response.status_code == 400 and "caractère interdit" in response.text
    assert await snapshot(world) == before
