"""Device statements: certified by the person's RSA or EC certificate key, forgeries refused."""

from __future__ import annotations

import datetime
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import (
    DeviceKeys,
    certify_device,
    parse_device_statement,
    verify_device_statement,
)
from caducee.instant.errors import ForgedDeviceStatement, InstantCryptoError

from .conftest import NOW, Person, make_person


@pytest.mark.parametrize("which", ["rsa_person", "ec_person"])
@pytest.mark.parametrize("kem", list(Kem))
def test_certify_and_verify(which: str, kem: Kem, request: pytest.FixtureRequest) -> None:
    person: Person = request.getfixturevalue(which)
    device = DeviceKeys.generate("phone-1", person.address, kem=kem, now=NOW)
    statement = certify_device(device.public(), person.key)
    checked = verify_device_statement(statement, person.cert)
    assert checked == device.public()
    assert checked.kem is kem
    assert checked.created_at == NOW


def test_signed_by_another_person_is_forged(rsa_person: Person, ec_person: Person) -> None:
    device = DeviceKeys.generate("phone-1", rsa_person.address, now=NOW)
    statement = certify_device(device.public(), ec_person.key)
    with pytest.raises(ForgedDeviceStatement):
        verify_device_statement(statement, rsa_person.cert)


def test_address_the_certificate_does_not_hold_is_forged(rsa_person: Person) -> None:
    """A person cannot certify a device in someone else's name, even with a good signature."""
    device = DeviceKeys.generate("phone-1", "someone.else@synthetic.caducee.test", now=NOW)
    statement = certify_device(device.public(), rsa_person.key)
    with pytest.raises(ForgedDeviceStatement):
        verify_device_statement(statement, rsa_person.cert)


def test_swapped_device_key_is_forged(ec_person: Person) -> None:
    """An attacker who substitutes their own HPKE key in a real statement is caught."""
    real = DeviceKeys.generate("phone-1", ec_person.address, kem=Kem.X25519, now=NOW)
    attacker = DeviceKeys.generate("phone-1", ec_person.address, kem=Kem.X25519, now=NOW)
    statement = certify_device(real.public(), ec_person.key)
    forged = statement.replace(real.public().hpke_public, attacker.public().hpke_public)
    assert forged != statement
    with pytest.raises(ForgedDeviceStatement):
        verify_device_statement(forged, ec_person.cert)


def test_address_is_compared_without_case(rsa_person: Person) -> None:
    device = DeviceKeys.generate("phone-1", rsa_person.address.upper(), now=NOW)
    assert verify_device_statement(certify_device(device.public(), rsa_person.key), rsa_person.cert)


def test_parse_without_verify_reads_the_fields(ec_person: Person) -> None:
    device = DeviceKeys.generate(
        "desk-7", ec_person.address, now=datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC)
    )
    parsed, signature = parse_device_statement(certify_device(device.public(), ec_person.key))
    assert parsed.device_id == "desk-7" and parsed.address == ec_person.address
    assert parsed.created_at.year == 2030 and signature


@functools.cache
def _statement() -> tuple[bytes, Person]:
    person = make_person("dr.petit@synthetic.caducee.test", "ec")
    device = DeviceKeys.generate("phone-1", person.address, kem=Kem.X25519, now=NOW)
    return certify_device(device.public(), person.key), person


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_tampered_byte_is_refused(data: st.DataObject) -> None:
    statement, person = _statement()
    position = data.draw(st.integers(0, len(statement) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(statement)
    tampered[position] ^= flip
    with pytest.raises(InstantCryptoError):
        verify_device_statement(bytes(tampered), person.cert)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    _, person = _statement()
    with pytest.raises(InstantCryptoError):
        verify_device_statement(data, person.cert)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_truncations_and_extensions_raise_only_typed_errors(data: st.DataObject) -> None:
    statement, person = _statement()
    cut = data.draw(st.integers(0, len(statement) - 1))
    with pytest.raises(InstantCryptoError):
        verify_device_statement(statement[:cut], person.cert)
    with pytest.raises(InstantCryptoError):
        verify_device_statement(
            statement + data.draw(st.binary(min_size=1, max_size=8)), person.cert
        )
