"""OCSP responses (RFC 6960) for requests made by ``openssl ocsp``, checked by OpenSSL."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from caducee.pki import (
    CertificateAuthority,
    Holder,
    OCSPResponder,
    PKIError,
    Profile,
    build_ocsp_response,
    issue_certificate,
    load_ocsp_request,
    revoke,
)
from tests.pki import pki_factory as f
from tests.pki.conftest import PEMFiles


def _request(tmp_path: Path, pem: PEMFiles, cert: x509.Certificate) -> ocsp.OCSPRequest:
    cert_path = f.write_pem(tmp_path / "ee.pem", [cert])
    out = tmp_path / "req.der"
    f.openssl("ocsp", "-issuer", str(pem.issuing), "-cert", str(cert_path), "-reqout", str(out))
    return load_ocsp_request(out.read_bytes())


def _openssl_status(tmp_path: Path, pem: PEMFiles, response: ocsp.OCSPResponse) -> str:
    resp = tmp_path / "resp.der"
    resp.write_bytes(response.public_bytes(serialization.Encoding.DER))
    done = f.openssl(
        *("ocsp", "-respin", str(resp), "-issuer", str(pem.issuing)),
        *("-cert", str(tmp_path / "ee.pem"), "-CAfile", str(pem.root)),
        *("-verify_other", str(pem.issuing), "-no_nonce"),
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Response verify OK" in output, output
    return output


@pytest.fixture(scope="module")
def certs(issuing: CertificateAuthority) -> tuple[x509.Certificate, x509.Certificate]:
    good = issue_certificate(issuing, f.ec_key().public_key(), Profile.PERSON, f.PERSON)
    bad = issue_certificate(issuing, f.ec_key().public_key(), Profile.PERSON, f.PERSON)
    return good, bad


def test_good_revoked_unknown(
    openssl: str,
    issuing: CertificateAuthority,
    pem: PEMFiles,
    tmp_path: Path,
    certs: tuple[x509.Certificate, x509.Certificate],
) -> None:
    good, bad = certs
    issued = {good.serial_number, bad.serial_number}
    revoked = revoke((), bad.serial_number, reason=x509.ReasonFlags.key_compromise)
    request = _request(tmp_path, pem, good)
    response = build_ocsp_response(request, issuing, issued=issued, revoked=revoked)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value == nonce
    assert f"{tmp_path / 'ee.pem'}: good" in _openssl_status(tmp_path, pem, response)

    request = _request(tmp_path, pem, bad)
    response = build_ocsp_response(request, issuing, issued=issued, revoked=revoked)
    output = _openssl_status(tmp_path, pem, response)
    assert ": revoked" in output and "keyCompromise" in output

    response = build_ocsp_response(request, issuing, issued=set(), revoked=())
    assert ": unknown" in _openssl_status(tmp_path, pem, response)


def test_delegated_responder(
    openssl: str,
    issuing: CertificateAuthority,
    pem: PEMFiles,
    tmp_path: Path,
    certs: tuple[x509.Certificate, x509.Certificate],
) -> None:
    signer_cert = issue_certificate(
        issuing, f.rsa_key().public_key(), Profile.OCSP_SIGNER, Holder("Caducée OCSP")
    )
    responder = OCSPResponder(signer_cert, f.rsa_key())
    good, _bad = certs
    request = _request(tmp_path, pem, good)
    response = build_ocsp_response(
        request, issuing, issued={good.serial_number}, revoked=(), responder=responder
    )
    assert response.certificates == [signer_cert]
    assert ": good" in _openssl_status(tmp_path, pem, response)
    with pytest.raises(PKIError):
        OCSPResponder(good, f.ec_key())


def test_foreign_issuer_unauthorized(
    root: CertificateAuthority, certs: tuple[x509.Certificate, x509.Certificate]
) -> None:
    good, _bad = certs
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(good, f.issuing_ca().certificate, hashes.SHA256())
        .build()
    )
    response = build_ocsp_response(request, root, issued={good.serial_number}, revoked=())
    assert response.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    with pytest.raises(PKIError):
        load_ocsp_request(b"junk")
