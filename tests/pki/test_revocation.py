"""Revocation as plain data, and CRLs checked by OpenSSL (RFC 5280 §5)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from caducee.pki import (
    AlreadyRevoked,
    CertificateAuthority,
    PKIError,
    Profile,
    UnknownCertificate,
    build_crl,
    issue_certificate,
    revoke,
)
from tests.pki import pki_factory as f
from tests.pki.conftest import PEMFiles


def test_revoke_rules() -> None:
    entries = revoke((), 42, issued={42, 43}, reason=x509.ReasonFlags.key_compromise)
    assert entries[0].serial_number == 42
    assert entries[0].reason is x509.ReasonFlags.key_compromise
    with pytest.raises(AlreadyRevoked):
        revoke(entries, 42, issued={42, 43})
    with pytest.raises(UnknownCertificate):
        revoke(entries, 44, issued={42, 43})
    with pytest.raises(PKIError):
        revoke(entries, 43, reason=x509.ReasonFlags.remove_from_crl)
    assert len(revoke(entries, 43)) == 2


def test_crl_contents(issuing: CertificateAuthority) -> None:
    entries = revoke((), 7, reason=x509.ReasonFlags.superseded, at=f.NOW)
    crl = build_crl(issuing, entries, 12, now=f.NOW, lifetime=dt.timedelta(hours=6))
    assert crl.is_signature_valid(issuing.certificate.public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 12
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ski.value.digest
    assert crl.next_update_utc == f.NOW + dt.timedelta(hours=6)
    item = crl.get_revoked_certificate_by_serial_number(7)
    assert item is not None and item.revocation_date_utc == f.NOW
    assert item.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.superseded
    )


def test_openssl_crl_and_verify(
    openssl: str, issuing: CertificateAuthority, pem: PEMFiles, tmp_path: Path
) -> None:
    good = issue_certificate(issuing, f.ec_key().public_key(), Profile.PERSON, f.PERSON)
    bad = issue_certificate(issuing, f.ec_key().public_key(), Profile.PERSON, f.PERSON)
    entries = revoke((), bad.serial_number, issued={good.serial_number, bad.serial_number})
    crl = f.write_pem(tmp_path / "crl.pem", [build_crl(issuing, entries, 1)])
    done = f.openssl("crl", "-in", str(crl), "-CAfile", str(pem.issuing), "-noout", "-verify")
    assert "verify OK" in done.stdout + done.stderr
    text = f.openssl("crl", "-in", str(crl), "-noout", "-text").stdout
    assert "X509v3 CRL Number" in text and f"{bad.serial_number:X}" in text
    base = ["verify", "-CAfile", str(pem.root), "-untrusted", str(pem.issuing)]
    crls = ["-crl_check_all", "-CRLfile", str(crl), "-CRLfile", str(pem.root_crl)]
    ok = f.openssl(*base, *crls, str(f.write_pem(tmp_path / "good.pem", [good])))
    assert ok.stdout.strip().endswith("OK")
    ko = f.openssl(*base, *crls, str(f.write_pem(tmp_path / "bad.pem", [bad])), check=False)
    assert ko.returncode != 0 and "certificate revoked" in ko.stdout + ko.stderr
