"""Endorsements: a certified device vouches for a new device of the same person (depth one).

SYNTHETIC TEST MATERIAL: throwaway person certificates from ``conftest.make_person`` and
device keys generated afresh; no real person, key or certificate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.instant import _wire
from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys, certify_device, parse_device_statement
from caducee.instant.endorsement import (
    ENDORSEMENT_MAGIC,
    endorse_device,
    endorsement_body,
    endorser_of,
    is_endorsement,
    parse_endorsement,
    verify_endorsed_device,
    verify_endorsement,
)
from caducee.instant.errors import ForgedDeviceStatement, MalformedInstantData
from tests.instant.miss import vector_generator

from .conftest import NOW, Person

ADDRESS = "dr.durand@synthetic.caducee.test"
OLD = DeviceKeys.generate("old-phone", ADDRESS, kem=Kem.X25519, now=NOW)
NEW = DeviceKeys.generate("new-tablet", ADDRESS, kem=Kem.X25519, now=NOW)


@pytest.mark.parametrize("kem", list(Kem))
def test_an_endorsement_verifies_with_its_endorsers_key(kem: Kem) -> None:
    new = DeviceKeys.generate("new-laptop", ADDRESS.upper(), kem=kem, now=NOW)
    data = endorse_device(new.public(), OLD)
    assert verify_endorsement(data, OLD.public()) == new.public()
    parsed = parse_endorsement(data)
    assert parsed.endorser_id == "old-phone"
    assert parsed.body.startswith(ENDORSEMENT_MAGIC)
    assert parsed.body == endorsement_body(new.public(), "old-phone")
    assert is_endorsement(data) and endorser_of(data) == "old-phone"


def test_the_whole_chain_ends_at_the_persons_certificate(
    rsa_person: Person, ec_person: Person
) -> None:
    old = DeviceKeys.generate("old", rsa_person.address, kem=Kem.X25519, now=NOW)
    new = DeviceKeys.generate("new", rsa_person.address, kem=Kem.X25519, now=NOW)
    statement = certify_device(old.public(), rsa_person.key)
    data = endorse_device(new.public(), old)
    assert verify_endorsed_device(data, statement, rsa_person.cert) == new.public()
    with pytest.raises(ForgedDeviceStatement):  # the endorser certified by someone else
        verify_endorsed_device(data, certify_device(old.public(), ec_person.key), rsa_person.cert)
    third = DeviceKeys.generate("third", rsa_person.address, kem=Kem.X25519, now=NOW)
    with pytest.raises(MalformedInstantData):  # depth one: an endorsement is no statement
        verify_endorsed_device(endorse_device(third.public(), new), data, rsa_person.cert)


def test_a_statement_is_not_an_endorsement_and_back(rsa_person: Person) -> None:
    statement = certify_device(NEW.public(), rsa_person.key)
    assert not is_endorsement(statement) and endorser_of(statement) is None
    with pytest.raises(MalformedInstantData):
        parse_endorsement(statement)
    with pytest.raises(MalformedInstantData):
        parse_device_statement(endorse_device(NEW.public(), OLD))


def test_forgeries_are_refused() -> None:
    data = endorse_device(NEW.public(), OLD)
    other = DeviceKeys.generate("old-phone", ADDRESS, kem=Kem.X25519, now=NOW)
    with pytest.raises(ForgedDeviceStatement):  # same id, other key
        verify_endorsement(data, other.public())
    with pytest.raises(ForgedDeviceStatement):  # another endorser named
        verify_endorsement(data, NEW.public())
    flipped = bytearray(data)
    flipped[-1] ^= 1
    with pytest.raises(ForgedDeviceStatement):
        verify_endorsement(bytes(flipped), OLD.public())
    stranger = DeviceKeys.generate("stranger", "dr.autre@synthetic.caducee.test", now=NOW)
    with pytest.raises(ForgedDeviceStatement):  # another address, refused when signing
        endorse_device(stranger.public(), OLD)
    body = endorsement_body(stranger.public(), "old-phone")  # ... and when verifying
    with pytest.raises(ForgedDeviceStatement):
        verify_endorsement(_wire.fields(body, OLD.sign(body)), OLD.public())
    with pytest.raises(ForgedDeviceStatement):
        endorse_device(OLD.public(), OLD)
    body = endorsement_body(OLD.public(), "old-phone")
    with pytest.raises(ForgedDeviceStatement):
        verify_endorsement(_wire.fields(body, OLD.sign(body)), OLD.public())


def test_non_canonical_or_truncated_endorsements_are_malformed() -> None:
    data = endorse_device(NEW.public(), OLD)
    parsed = parse_endorsement(data)
    kem = _wire.integer(Kem.X25519.value)
    kem_7 = parsed.body.replace(kem, _wire.integer(7), 1)
    assert kem_7 != parsed.body
    upper = parsed.body.replace(ADDRESS.encode(), ADDRESS.upper().encode())
    for bad in (
        data[:-1],
        data + b"\x00",
        _wire.fields(upper, OLD.sign(upper)),
        _wire.fields(parsed.body + b"x", parsed.signature),
        _wire.fields(parsed.body, parsed.signature[:63]),
        _wire.fields(endorsement_body(NEW.public(), ""), parsed.signature),
        _wire.fields(endorsement_body(NEW.public(), "x" * 129), parsed.signature),
        _wire.fields(kem_7, OLD.sign(kem_7)),  # a KEM nobody speaks: malformed, not a suite
    ):
        with pytest.raises(MalformedInstantData):
            parse_endorsement(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_an_endorsement_or_a_clear_error(data: bytes) -> None:
    assert isinstance(is_endorsement(data), bool)
    try:
        device = verify_endorsement(data, OLD.public())
    except (ForgedDeviceStatement, MalformedInstantData):
        return
    assert device.address == ADDRESS  # only a real endorsement by OLD gets here


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_endorsements_give_a_value_or_a_clear_error(data: st.DataObject) -> None:
    good = bytearray(endorse_device(NEW.public(), OLD))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(good) - 1))
        good[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    try:
        device = verify_endorsement(bytes(good[:cut]), OLD.public())
    except (ForgedDeviceStatement, MalformedInstantData):
        return
    assert device == NEW.public()  # only the untouched bytes verify


def test_the_committed_endorsement_vectors_are_what_python_makes_today() -> None:
    folder = Path(__file__).resolve().parents[1] / "vectors" / "instant" / "endorsement"
    generator = vector_generator(folder, "miss_endorsements")
    vectors = generator.build()
    assert generator.render(vectors) == (folder / "endorsements.json").read_text()
    assert {r["error"] for r in vectors["refused"]} == {
        "instant-forged-device",
        "instant-malformed",
    }
