"""The CA's public URLs: certificates, CRLs checked by OpenSSL, OCSP answers, on both engines."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from caducee.config import load_settings
from caducee.pki import Holder, Profile, issue_certificate
from caducee.server import create_app
from caducee.server.deployment import Deployment, init_deployment
from caducee.store import Database, upgrade_database
from caducee.store.models import IssuedCertificate
from tests.peers import require_tool


@pytest.fixture
async def served(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Deployment, Database]]:
    settings = load_settings(data_dir=tmp_path, database_url=database_url)
    upgrade_database(database_url)
    deployment = init_deployment(settings)
    app = create_app(settings)
    database = Database(database_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client, deployment, database
    await database.close()


async def _issue(deployment: Deployment, database: Database, *, revoked: bool) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    holder = Holder(
        common_name="Synthetic PERSON",
        given_name="Synthetic",
        surname="PERSON",
        rpps="10000000008",
        email="synthetic.person@caducee.test",
    )
    certificate = issue_certificate(deployment.issuing, key.public_key(), Profile.PERSON, holder)
    async with database.transaction() as session:
        session.add(
            IssuedCertificate(
                serial_hex=format(certificate.serial_number, "x"),
                profile="person",
                subject=certificate.subject.rfc4514_string(),
                email=holder.email,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                der=certificate.public_bytes(serialization.Encoding.DER),
                revoked_at=datetime.now(UTC) if revoked else None,
                revocation_reason="keyCompromise" if revoked else None,
            )
        )
    return certificate


async def test_crl_lists_revoked_certificates_and_openssl_accepts_it(
    served: tuple[httpx.AsyncClient, Deployment, Database], tmp_path: Path
) -> None:
    openssl = require_tool("openssl", "openssl")
    client, deployment, database = served
    good = await _issue(deployment, database, revoked=False)
    bad = await _issue(deployment, database, revoked=True)
    answer = await client.get("/pki/crl/issuing.crl")
    assert answer.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(answer.content)
    assert crl.get_revoked_certificate_by_serial_number(bad.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(good.serial_number) is None
    (tmp_path / "crl.der").write_bytes(answer.content)
    issuing_pem = (await client.get("/pki/issuing.pem")).content
    (tmp_path / "issuing.pem").write_bytes(issuing_pem)
    checked = subprocess.run(
        [
            openssl,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "crl.der"),
            "-noout",
            "-CAfile",
            str(tmp_path / "issuing.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and "verify OK" in checked.stderr + checked.stdout


async def test_ocsp_says_good_revoked_and_unknown(
    served: tuple[httpx.AsyncClient, Deployment, Database],
) -> None:
    client, deployment, database = served
    issuing = deployment.issuing.certificate
    good = await _issue(deployment, database, revoked=False)
    bad = await _issue(deployment, database, revoked=True)
    stranger = issue_certificate(
        deployment.issuing,
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        Profile.PERSON,
        Holder(
            common_name="Never RECORDED",
            given_name="Never",
            surname="RECORDED",
            rpps="10000000016",
            email="never@caducee.test",
        ),
    )
    expected = {
        good.serial_number: ocsp.OCSPCertStatus.GOOD,
        bad.serial_number: ocsp.OCSPCertStatus.REVOKED,
        stranger.serial_number: ocsp.OCSPCertStatus.UNKNOWN,
    }
    for certificate in (good, bad, stranger):
        request = (
            ocsp.OCSPRequestBuilder().add_certificate(certificate, issuing, hashes.SHA256()).build()
        )
        answer = await client.post(
            "/pki/ocsp",
            content=request.public_bytes(serialization.Encoding.DER),
            headers={"content-type": "application/ocsp-request"},
        )
        response = ocsp.load_der_ocsp_response(answer.content)
        assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert response.certificate_status == expected[certificate.serial_number]
        _verify_ocsp_signature(response, issuing)


def _verify_ocsp_signature(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    """The issuing CA signed the answer (raises InvalidSignature otherwise)."""
    key = issuer.public_key()
    algorithm = response.signature_hash_algorithm
    assert algorithm is not None
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))


async def test_garbage_to_the_ocsp_responder_gets_malformed_request(
    served: tuple[httpx.AsyncClient, Deployment, Database],
) -> None:
    client, _, _ = served
    answer = await client.post("/pki/ocsp", content=b"\x30\x03\x02\x01\x00")
    assert answer.status_code == 400
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


async def test_ca_certificates_are_published(
    served: tuple[httpx.AsyncClient, Deployment, Database],
) -> None:
    client, deployment, _ = served
    root = x509.load_der_x509_certificate((await client.get("/pki/ca/root.der")).content)
    assert root == deployment.root.certificate
    issuing = x509.load_pem_x509_certificate((await client.get("/pki/issuing.pem")).content)
    assert issuing == deployment.issuing.certificate
    root_crl = x509.load_der_x509_crl((await client.get("/pki/crl/root.crl")).content)
    assert root_crl.is_signature_valid(deployment.root.certificate.public_key())  # type: ignore[arg-type]
