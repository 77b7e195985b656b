"""PathValidator: paths, purposes and revocation, over the test PKI of ``tests.pki``.

The same certificates are accepted by ``openssl verify`` in tests/pki (the independent check);
here each negative case must raise its own typed error naming the certificate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from caducee.crypto.errors import (
    CertificateExpired,
    CertificateRevoked,
    KeyUsageNotAllowed,
    RevocationUnknown,
    UntrustedCertificate,
)
from caducee.crypto.keyfile import KeyKind
from caducee.crypto.trust import CertificateValidator, KeyPurpose
from caducee.crypto.x509_validation import PathValidator, StaticRevocationSource
from caducee.pki import (
    CertificateAuthority,
    Holder,
    OCSPResponder,
    Profile,
    build_crl,
    build_ocsp_response,
    create_issuing_ca,
    create_root_ca,
    issue_certificate,
    random_serial,
    revoke,
)
from tests.pki import pki_factory as f

NOW = f.NOW
DER = Encoding.DER
SIGN = KeyPurpose.EMAIL_SIGNATURE


def _issue(profile: Profile = Profile.PERSON, **kw: object) -> x509.Certificate:
    holder = kw.pop("holder", f.PERSON)
    assert isinstance(holder, Holder)
    kw.setdefault("now", NOW)  # the tests validate at NOW, however long the run has lasted
    return issue_certificate(f.issuing_ca(), f.ec_key().public_key(), profile, holder, **kw)  # type: ignore[arg-type]


def _crls(revoked_serials: tuple[int, ...] = ()) -> list[x509.CertificateRevocationList]:
    entries = tuple(
        e for s in revoked_serials for e in revoke((), s, at=NOW - dt.timedelta(hours=1))
    )
    return [
        build_crl(f.issuing_ca(), entries, 2, now=NOW - dt.timedelta(hours=1)),
        build_crl(f.root_ca(), (), 1, now=NOW - dt.timedelta(hours=1)),
    ]


def _validator(source: StaticRevocationSource | None = None) -> PathValidator:
    return PathValidator(
        [f.root_ca().certificate],
        intermediates=[f.issuing_ca().certificate],
        revocation=source if source is not None else StaticRevocationSource(_crls()),
    )


def _ocsp(cert: x509.Certificate, **kw: object) -> ocsp.OCSPResponse:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, f.issuing_ca().certificate, hashes.SHA1())  # noqa: S303
        .build()
    )
    return build_ocsp_response(request, f.issuing_ca(), now=NOW, **kw)  # type: ignore[arg-type]


def test_good() -> None:
    cert = f.person_cert()
    validator: CertificateValidator = _validator()
    result = validator.validate(cert, purpose=SIGN, at=NOW)
    assert result.chain == (cert, f.issuing_ca().certificate, f.root_ca().certificate)
    assert result.email_addresses == ("alice.martin@caducee.test",)
    assert result.revocation_checked and result.checked_at == NOW
    for purpose in KeyPurpose:
        validator.validate(cert, purpose=purpose, at=NOW)


def test_intermediates_from_caller() -> None:
    validator = PathValidator([f.root_ca().certificate], revocation=StaticRevocationSource(_crls()))
    with pytest.raises(UntrustedCertificate):
        validator.validate(f.person_cert(), purpose=SIGN, at=NOW)
    validator.validate(f.person_cert(), [f.issuing_ca().certificate], purpose=SIGN, at=NOW)


def test_expired_and_not_yet_valid() -> None:
    old = _issue(now=NOW - dt.timedelta(days=40), validity=dt.timedelta(days=30))
    with pytest.raises(CertificateExpired, match=f"serial {old.serial_number:x}"):
        _validator().validate(old, purpose=SIGN, at=NOW)
    future = _issue(now=NOW + dt.timedelta(days=10))
    with pytest.raises(CertificateExpired, match="not valid before"):
        _validator().validate(future, purpose=SIGN, at=NOW)
    with pytest.raises(CertificateExpired):  # naive datetimes are taken as UTC
        _validator().validate(f.person_cert(), purpose=SIGN, at=dt.datetime(2001, 1, 1))


def test_revoked_by_crl() -> None:
    cert = _issue()
    source = StaticRevocationSource(_crls((cert.serial_number,)))
    with pytest.raises(CertificateRevoked, match="Alice MARTIN"):
        _validator(source).validate(cert, purpose=SIGN, at=NOW)
    _validator(source).validate(f.person_cert(), purpose=SIGN, at=NOW)


def test_revoked_by_ocsp() -> None:
    cert = _issue()
    revoked = revoke((), cert.serial_number, reason=x509.ReasonFlags.key_compromise, at=NOW)
    response = _ocsp(cert, issued={cert.serial_number}, revoked=revoked)
    source = StaticRevocationSource(_crls(), [response])
    with pytest.raises(CertificateRevoked, match="keyCompromise"):
        _validator(source).validate(cert, purpose=SIGN, at=NOW)


def test_good_by_ocsp_without_issuing_crl() -> None:
    cert = f.person_cert()
    signer = issue_certificate(
        f.issuing_ca(), f.rsa_key().public_key(), Profile.OCSP_SIGNER, Holder("OCSP"), now=NOW
    )
    response = _ocsp(
        cert, issued={cert.serial_number}, revoked=(), responder=OCSPResponder(signer, f.rsa_key())
    )
    root_crl = _crls()[1:]
    result = _validator(StaticRevocationSource(root_crl, [response])).validate(
        cert, purpose=SIGN, at=NOW
    )
    assert result.revocation_checked


def test_ocsp_bad_signature() -> None:
    cert = f.person_cert()
    der = bytearray(_ocsp(cert, issued={cert.serial_number}, revoked=()).public_bytes(DER))
    der[-3] ^= 0x01  # inside the ECDSA signature value
    response = ocsp.load_der_ocsp_response(bytes(der))
    with pytest.raises(RevocationUnknown, match="signature"):
        _validator(StaticRevocationSource(_crls(), [response])).validate(cert, purpose=SIGN, at=NOW)


def test_ocsp_unknown_falls_back_to_crl() -> None:
    cert = _issue()
    response = _ocsp(cert, issued=set(), revoked=())
    source = StaticRevocationSource(_crls((cert.serial_number,)), [response])
    with pytest.raises(CertificateRevoked):
        _validator(source).validate(cert, purpose=SIGN, at=NOW)


def test_missing_crl() -> None:
    with pytest.raises(RevocationUnknown, match="CRL distribution point"):
        _validator(StaticRevocationSource()).validate(f.person_cert(), purpose=SIGN, at=NOW)
    validator = PathValidator([f.root_ca().certificate], intermediates=[f.issuing_ca().certificate])
    with pytest.raises(RevocationUnknown):
        validator.validate(f.person_cert(), purpose=SIGN, at=NOW)


def test_bad_and_stale_crls() -> None:
    forged = dataclasses.replace(f.issuing_ca(), private_key=f.ec_key())
    crls = [build_crl(forged, (), 3, now=NOW), *_crls()[1:]]
    with pytest.raises(RevocationUnknown, match="signature"):
        _validator(StaticRevocationSource(crls)).validate(f.person_cert(), purpose=SIGN, at=NOW)
    stale = [build_crl(f.issuing_ca(), (), 1, now=NOW - dt.timedelta(days=3)), *_crls()[1:]]
    with pytest.raises(RevocationUnknown, match="not current"):
        _validator(StaticRevocationSource(stale)).validate(f.person_cert(), purpose=SIGN, at=NOW)


@pytest.fixture(scope="module")
def foreign() -> CertificateAuthority:
    root = create_root_ca("Foreign Root", f.URLS, kind=KeyKind.EC_P256, now=NOW)
    return create_issuing_ca(root, "Foreign Issuing", kind=KeyKind.EC_P256, now=NOW)


def test_foreign_ca(foreign: CertificateAuthority) -> None:
    cert = issue_certificate(foreign, f.ec_key().public_key(), Profile.PERSON, f.PERSON, now=NOW)
    with pytest.raises(UntrustedCertificate, match="no valid path"):
        _validator().validate(cert, [foreign.certificate], purpose=SIGN, at=NOW)


def test_wrong_eku_and_key_usage() -> None:
    server = _issue(Profile.SERVER_TLS, holder=Holder("h", dns_names=("h.test",)))
    with pytest.raises(KeyUsageNotAllowed, match="extendedKeyUsage"):
        _validator().validate(server, purpose=SIGN, at=NOW)
    mailbox = _issue(
        Profile.ORGANISATION_MAILBOX,
        holder=Holder("Labo", email="labo@caducee.test", organisation="Labo"),
    )
    with pytest.raises(KeyUsageNotAllowed, match="clientAuth"):
        _validator().validate(mailbox, purpose=KeyPurpose.CLIENT_AUTH, at=NOW)
    _validator().validate(mailbox, purpose=KeyPurpose.EMAIL_ENCRYPTION, at=NOW)  # keyAgreement
    signer = _issue(Profile.OCSP_SIGNER, holder=Holder("OCSP"))
    with pytest.raises(KeyUsageNotAllowed, match="emailProtection"):
        _validator().validate(signer, purpose=KeyPurpose.EMAIL_ENCRYPTION, at=NOW)
    sign_only = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = _manual_leaf(sign_only)
    _validator().validate(cert, purpose=SIGN, at=NOW)
    with pytest.raises(KeyUsageNotAllowed, match="keyEncipherment or keyAgreement"):
        _validator().validate(cert, purpose=KeyPurpose.EMAIL_ENCRYPTION, at=NOW)


def _manual_leaf(usage: x509.KeyUsage) -> x509.Certificate:
    ca = f.issuing_ca()
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=Sign Only"))
        .issuer_name(ca.name)
        .public_key(f.ec_key().public_key())
        .serial_number(random_serial())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(ca.private_key, hashes.SHA256())
    )


def test_ca_false_intermediate() -> None:
    root = f.root_ca()
    fake = f.ec_key()
    name = x509.Name.from_rfc4514_string("CN=Not A CA,O=Caducée,C=FR")
    fake_ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.name)
        .public_key(fake.public_key())
        .serial_number(random_serial())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(fake.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.private_key.public_key()),
            False,
        )
        .sign(root.private_key, hashes.SHA256())
    )
    fake_ca = CertificateAuthority(fake_ca_cert, fake, f.URLS, (root.certificate,))
    leaf = issue_certificate(fake_ca, f.ec_key().public_key(), Profile.PERSON, f.PERSON, now=NOW)
    with pytest.raises(UntrustedCertificate, match=f"serial {leaf.serial_number:x}"):
        _validator().validate(leaf, [fake_ca_cert], purpose=SIGN, at=NOW)


def test_no_anchor_refused() -> None:
    with pytest.raises(ValueError):
        PathValidator([])
