"""Fixtures for the MISS crypto core tests.

SYNTHETIC TEST MATERIAL: throwaway self-signed person certificates (RSA-2048 and ECDSA P-256,
with an rfc822Name SAN) and device keys generated afresh each session. No real person, key
or certificate appears here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.sender_keys import SenderKeyGroup
from tests.server.conftest import (  # noqa: F401 (the server fixtures, on both engines)
    migrated_database,
    migrated_url,
    postgres_migrated,
    sqlite_template,
    world,
)

NOW = datetime.datetime(2026, 11, 29, 8, 0, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Person:
    address: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def make_person(address: str, kind: str = "rsa") -> Person:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Synthetic {address}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Person(address, cert, key)


@pytest.fixture(scope="session")
def rsa_person() -> Person:
    return make_person("dr.durand@synthetic.caducee.test", "rsa")


@pytest.fixture(scope="session")
def ec_person() -> Person:
    return make_person("dr.martin@synthetic.caducee.test", "ec")


def make_group(
    case_id: str, names: list[str], kems: dict[str, Kem] | None = None, max_skip: int = 1000
) -> dict[str, SenderKeyGroup]:
    """Devices named ``names``, each with its group state, every sender key delivered."""
    kems = kems or {}
    devices = {
        n: DeviceKeys.generate(
            f"{n}-phone", f"{n}@synthetic.caducee.test", kem=kems.get(n, Kem.MLKEM768_X25519)
        )
        for n in names
    }
    groups = {
        n: SenderKeyGroup(
            case_id, d, [o.public() for m, o in devices.items() if m != n], max_skip=max_skip
        )
        for n, d in devices.items()
    }
    deliver_all(groups, {n: g.distributions() for n, g in groups.items()})
    return groups


def deliver_all(groups: dict[str, SenderKeyGroup], distributions: dict[str, list]) -> None:
    """Route each sealed key to the group state of its recipient device (the server's job)."""
    by_device = {g._me.device_id: g for g in groups.values()}
    for batch in distributions.values():
        for d in batch:
            if d.recipient_device_id in by_device:
                by_device[d.recipient_device_id].receive_key(d.payload)
