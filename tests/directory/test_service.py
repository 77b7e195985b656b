"""The directory on SQLite and PostgreSQL: registration rules, search, valid certificates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import update

from caducee.directory import (
    AlreadyRegistered,
    DirectoryService,
    InvalidEntry,
    InvalidIdentifier,
    SearchQuery,
    UnknownMailbox,
    UnknownOrganisation,
    UnknownPerson,
    luhn_complete,
)
from caducee.directory.models import MailboxCertificate
from caducee.store import Database
from caducee.store.models import IssuedCertificate, utcnow
from tests.server.conftest import make_certificate

LAB = luhn_complete("69000001")
EHPAD = luhn_complete("69000002")
GP = luhn_complete("1000000001")
BIOLOGIST = luhn_complete("1000000002")


@pytest.fixture
async def directory(migrated_database: Database) -> DirectoryService:
    service = DirectoryService(migrated_database)
    await service.register_organisation(
        finess=LAB, name="Laboratoire des Brotteaux", type="lab", city="Lyon", region="ARA"
    )
    await service.register_organisation(
        finess=EHPAD, name="Les Tilleuls", type="nursing_home", beds=80, city="Villeurbanne"
    )
    await service.register_person(
        rpps=GP,
        given_name="Anne",
        family_name="Morel",
        profession="médecin",
        specialty="médecine générale",
    )
    await service.register_person(
        rpps=BIOLOGIST,
        given_name="Paul",
        family_name="Roux",
        profession="biologiste",
        organisation_finess=LAB,
    )
    await service.create_mailbox(address="Anne.Morel@caducee.test", kind="personal", person_rpps=GP)
    await service.create_mailbox(
        address="paul.roux@caducee.test", kind="personal", person_rpps=BIOLOGIST
    )
    await service.create_mailbox(
        address="resultats@brotteaux.caducee.test", kind="applicative", organisation_finess=LAB
    )
    return service


async def test_registration_rules(directory: DirectoryService) -> None:
    with pytest.raises(AlreadyRegistered):
        await directory.register_organisation(finess=LAB, name="Again", type="lab")
    with pytest.raises(InvalidIdentifier):
        await directory.register_organisation(finess="690000010", name="Bad key", type="lab")
    with pytest.raises(InvalidEntry):
        await directory.register_organisation(
            finess=luhn_complete("69000003"), name="X", type="spaceport"
        )
    with pytest.raises(InvalidEntry):  # beds belong to nursing homes
        await directory.register_organisation(
            finess=luhn_complete("69000004"), name="X", type="lab", beds=3
        )
    with pytest.raises(UnknownOrganisation):
        await directory.register_person(
            rpps=luhn_complete("1000000003"),
            given_name="A",
            family_name="B",
            profession="infirmier",
            organisation_finess=luhn_complete("11111111"),
        )
    with pytest.raises(InvalidEntry):  # a personal mailbox needs a person
        await directory.create_mailbox(
            address="x@caducee.test", kind="personal", organisation_finess=LAB
        )
    with pytest.raises(UnknownPerson):
        await directory.create_mailbox(
            address="x@caducee.test", kind="personal", person_rpps=luhn_complete("1000000009")
        )
    with pytest.raises(AlreadyRegistered):  # addresses are unique, case-insensitively
        await directory.create_mailbox(
            address="anne.morel@CADUCEE.test", kind="personal", person_rpps=GP
        )
    with pytest.raises(InvalidEntry):
        await directory.create_mailbox(address="not an address", kind="personal", person_rpps=GP)


async def test_search_filters_combine(directory: DirectoryService) -> None:
    def addresses(entries: list) -> list[str]:  # type: ignore[type-arg]
        return [e.address for e in entries]

    assert addresses(await directory.search(SearchQuery(text="MOREL"))) == [
        "anne.morel@caducee.test"
    ]
    assert addresses(await directory.search(SearchQuery(profession="biolog"))) == [
        "paul.roux@caducee.test"
    ]
    lyon = addresses(await directory.search(SearchQuery(city="lyon")))
    assert lyon == ["paul.roux@caducee.test", "resultats@brotteaux.caducee.test"]  # people first
    assert addresses(await directory.search(SearchQuery(organisation=LAB, profession="bio"))) == [
        "paul.roux@caducee.test"
    ]
    assert addresses(await directory.search(SearchQuery(text="%"))) == []  # LIKE is escaped
    entry = (await directory.search(SearchQuery(address="resultats")))[0]
    assert entry.organisation_name == "Laboratoire des Brotteaux" and entry.person_rpps is None
    await directory.set_active("paul.roux@caducee.test", False)
    assert addresses(await directory.search(SearchQuery(profession="biolog"))) == []
    with pytest.raises(UnknownMailbox):
        await directory.set_active("nobody@caducee.test", False)


async def test_valid_certificates_exclude_revoked_expired_and_superseded(
    directory: DirectoryService, migrated_database: Database
) -> None:
    now = utcnow()
    certificates = []
    for offset, days in ((-1, 365), (-1, 365), (-1, 365), (-400, 365)):  # last one expired
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = make_certificate(
            "anne.morel@caducee.test", key, not_before=now + timedelta(days=offset), days=days
        )
        certificates.append(certificate)
        serial = format(certificate.serial_number, "x")
        async with migrated_database.transaction() as session:
            session.add(
                IssuedCertificate(
                    serial_hex=serial,
                    profile="person",
                    subject="CN=x",
                    email=None,
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                    der=certificate.public_bytes(serialization.Encoding.DER),
                )
            )
        await directory.attach_certificate("anne.morel@caducee.test", serial)
    good, revoked, superseded, _expired = certificates
    async with migrated_database.transaction() as session:
        await session.execute(
            update(IssuedCertificate)
            .where(IssuedCertificate.serial_hex == format(revoked.serial_number, "x"))
            .values(revoked_at=now)
        )
        await session.execute(
            update(MailboxCertificate)
            .where(MailboxCertificate.serial_hex == format(superseded.serial_number, "x"))
            .values(status="superseded")
        )
    valid = await directory.valid_certificates("Anne.Morel@caducee.test")
    assert [c.serial_number for c in valid] == [good.serial_number]
    assert isinstance(valid[0], x509.Certificate)
    assert await directory.valid_certificates("paul.roux@caducee.test") == []
    with pytest.raises(UnknownMailbox):
        await directory.valid_certificates("nobody@caducee.test")
