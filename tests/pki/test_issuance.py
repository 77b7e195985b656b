"""Issuing from a CSR: only the key is taken; OpenSSL checks the result."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caducee.crypto.keyfile import KeyKind, generate_private_key
from caducee.pki import (
    CertificateAuthority,
    Holder,
    InvalidCSR,
    Profile,
    ProfileError,
    issue_certificate,
    issue_from_csr,
    load_csr,
    rpps_of,
)
from tests.pki import pki_factory as f
from tests.pki.conftest import PEMFiles


def _text(cert: x509.Certificate, tmp_path: Path) -> str:
    path = f.write_pem(tmp_path / "cert.pem", [cert])
    return f.openssl("x509", "-in", str(path), "-noout", "-text").stdout


def _verify(cert: x509.Certificate, pem: PEMFiles, tmp_path: Path, *extra: str) -> str:
    path = f.write_pem(tmp_path / "ee.pem", [cert])
    args = ["verify", "-x509_strict", "-CAfile", str(pem.root), "-untrusted", str(pem.issuing)]
    done = f.openssl(*args, *extra, str(path), check=False)
    return done.stdout + done.stderr


def test_person_from_evil_csr(
    openssl: str, issuing: CertificateAuthority, pem: PEMFiles, tmp_path: Path
) -> None:
    csr = f.csr_for(f.rsa_key(), evil=True)
    pem_csr = csr.public_bytes(serialization.Encoding.PEM)
    cert = issue_from_csr(issuing, pem_csr, Profile.PERSON, f.PERSON, now=f.NOW)
    assert cert.public_key() == f.rsa_key().public_key()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Alice MARTIN"
    assert rpps_of(cert.subject) == "10001234567"
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice.martin@caducee.test"]
    assert 1 << 64 <= cert.serial_number < 1 << 159
    text = _text(cert, tmp_path)
    assert "CA:FALSE" in text
    assert "Digital Signature, Key Encipherment" in text
    assert "E-mail Protection, TLS Web Client Authentication" in text
    assert "email:alice.martin@caducee.test" in text and "elsewhere" not in text
    assert f"URI:{f.URLS.issuing_crl}" in text
    assert f"CA Issuers - URI:{f.URLS.issuing_ca_cert}" in text
    assert f"OCSP - URI:{f.URLS.ocsp}" in text
    assert "serialNumber=810001234567" in text.replace(" = ", "=")
    for purpose in ("smimesign", "smimeencrypt", "sslclient"):
        assert _verify(cert, pem, tmp_path, "-purpose", purpose).strip().endswith("OK")


def test_openssl_generated_csr(openssl: str, issuing: CertificateAuthority, tmp_path: Path) -> None:
    key, req = tmp_path / "k.pem", tmp_path / "req.pem"
    f.openssl(
        *("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"),
        *("-keyout", str(key), "-out", str(req), "-subj", "/CN=anything"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
    )
    holder = Holder(common_name="Labo BIO", email="resultats@labo.test", organisation="Labo BIO")
    cert = issue_from_csr(issuing, req.read_bytes(), Profile.ORGANISATION_MAILBOX, holder)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_agreement and not ku.key_encipherment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert "OU=Organisation" in cert.subject.rfc4514_string()


def test_server_and_ocsp_profiles(
    openssl: str, issuing: CertificateAuthority, pem: PEMFiles, tmp_path: Path
) -> None:
    holder = Holder(
        common_name="mail.caducee.test",
        dns_names=("mail.caducee.test",),
        ip_addresses=(ipaddress.ip_address("192.0.2.1"),),
    )
    server = issue_certificate(issuing, f.ec_key().public_key(), Profile.SERVER_TLS, holder)
    text = _text(server, tmp_path)
    assert "DNS:mail.caducee.test, IP Address:192.0.2.1" in text
    assert "TLS Web Server Authentication" in text
    assert _verify(server, pem, tmp_path, "-purpose", "sslserver").strip().endswith("OK")
    signer = issue_certificate(
        issuing, f.ec_key().public_key(), Profile.OCSP_SIGNER, Holder("Caducée OCSP")
    )
    text = _text(signer, tmp_path)
    assert "OCSP Signing" in text and "OCSP No Check" in text
    app = issue_certificate(
        issuing,
        f.ec_key().public_key(),
        Profile.APPLICATION_MAILBOX,
        Holder("LGC", email="lgc@editeur.test", organisation="Éditeur"),
    )
    assert "OU=Application" in app.subject.rfc4514_string()


@pytest.mark.parametrize(
    "holder",
    [
        Holder("No RPPS", given_name="A", surname="B", email="a@b.test"),
        Holder("Bad RPPS", given_name="A", surname="B", email="a@b.test", rpps="123"),
        Holder("No mail", given_name="A", surname="B", rpps="10001234567"),
        Holder("Bad mail", given_name="A", surname="B", rpps="10001234567", email="nope"),
    ],
)
def test_person_profile_requires_identity(issuing: CertificateAuthority, holder: Holder) -> None:
    with pytest.raises(ProfileError):
        issue_certificate(issuing, f.ec_key().public_key(), Profile.PERSON, holder)


def test_server_needs_names(issuing: CertificateAuthority) -> None:
    with pytest.raises(ProfileError):
        issue_certificate(issuing, f.ec_key().public_key(), Profile.SERVER_TLS, Holder("x"))


def test_bad_csrs(issuing: CertificateAuthority, openssl: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidCSR):
        load_csr(b"not a csr")
    der = bytearray(f.csr_for(f.ec_key()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # break the signature
    with pytest.raises(InvalidCSR):
        issue_from_csr(issuing, bytes(der), Profile.PERSON, f.PERSON)
    key, req = tmp_path / "k.pem", tmp_path / "req.pem"
    f.openssl(
        *("req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", str(key)),
        *("-out", str(req), "-subj", "/CN=weak"),
    )
    with pytest.raises(InvalidCSR, match="1024"):
        issue_from_csr(issuing, req.read_bytes(), Profile.PERSON, f.PERSON)


def test_validity_capped_and_configurable(issuing: CertificateAuthority) -> None:
    import datetime as dt

    short = issue_certificate(
        issuing,
        f.ec_key().public_key(),
        Profile.PERSON,
        f.PERSON,
        validity=dt.timedelta(days=30),
        now=f.NOW,
    )
    assert short.not_valid_after_utc == f.NOW + dt.timedelta(days=30)
    long = issue_certificate(
        issuing,
        f.ec_key().public_key(),
        Profile.PERSON,
        f.PERSON,
        validity=dt.timedelta(days=100 * 365),
        now=f.NOW,
    )
    assert long.not_valid_after_utc == issuing.certificate.not_valid_after_utc
    key = generate_private_key(KeyKind.EC_P256)
    assert issue_certificate(issuing, key.public_key(), Profile.PERSON, f.PERSON).serial_number
