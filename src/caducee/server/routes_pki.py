"""The operator CA's public face: CA certificates, CRLs and OCSP (RFC 5280, RFC 6960).

These URLs are the ones written in every certificate's CRL distribution point and AIA
(``pki.profiles.PKIURLs``); relying parties fetch them without authentication.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from caducee.pki.authority import CertificateAuthority
from caducee.pki.errors import PKIError
from caducee.pki.ocsp import build_ocsp_response, load_ocsp_request
from caducee.pki.revocation import RevokedEntry, build_crl
from caducee.server.problems import ProblemError
from caducee.server.state import ServerState, get_state
from caducee.store.models import IssuedCertificate

__all__ = ["router"]

router = APIRouter(prefix="/pki", tags=["pki"])
State = Annotated[ServerState, Depends(get_state)]
PEM = "application/x-pem-file"
DER_CERT = "application/pkix-cert"
DER_CRL = "application/pkix-crl"
OCSP_RESPONSE = "application/ocsp-response"


def _deployment(state: ServerState) -> tuple[CertificateAuthority, CertificateAuthority]:
    if state.authority is None:
        raise ProblemError(
            503, "not-initialised", "The operator CA is not initialised: run `caducee server init`."
        )
    return state.authority.root, state.authority.issuing


async def _revocations(state: ServerState) -> tuple[set[int], list[RevokedEntry]]:
    """Serials issued by the issuing CA, and those revoked, from the database."""
    async with state.database.sessions() as session:
        rows = (
            await session.execute(
                select(
                    IssuedCertificate.serial_hex,
                    IssuedCertificate.revoked_at,
                    IssuedCertificate.revocation_reason,
                )
            )
        ).all()
    issued = {int(serial, 16) for serial, _, _ in rows}
    revoked = [
        RevokedEntry(int(serial, 16), at, _reason(reason))
        for serial, at, reason in rows
        if at is not None
    ]
    return issued, revoked


def _reason(value: str | None) -> x509.ReasonFlags:
    try:
        return x509.ReasonFlags(value) if value else x509.ReasonFlags.unspecified
    except ValueError:
        return x509.ReasonFlags.unspecified


def _crl_number(now: dt.datetime) -> int:
    """Increasing CRL numbers without shared state: milliseconds since the epoch."""
    return int(now.timestamp() * 1000)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@router.get("/root.pem", summary="The root CA certificate (PEM), the trust anchor")
async def root_pem(state: State) -> Response:
    root, _ = _deployment(state)
    return Response(_pem(root.certificate), media_type=PEM)


@router.get("/issuing.pem", summary="The issuing CA certificate (PEM)")
async def issuing_pem(state: State) -> Response:
    _, issuing = _deployment(state)
    return Response(_pem(issuing.certificate), media_type=PEM)


@router.get("/ca/root.der", summary="The root CA certificate (DER, AIA caIssuers)")
async def root_der(state: State) -> Response:
    root, _ = _deployment(state)
    return Response(_der(root.certificate), media_type=DER_CERT)


@router.get("/ca/issuing.der", summary="The issuing CA certificate (DER, AIA caIssuers)")
async def issuing_der(state: State) -> Response:
    _, issuing = _deployment(state)
    return Response(_der(issuing.certificate), media_type=DER_CERT)


@router.get("/crl/issuing.crl", summary="CRL of the issuing CA (DER), fresh for a day")
async def issuing_crl(state: State) -> Response:
    _, issuing = _deployment(state)
    _, revoked = await _revocations(state)
    now = dt.datetime.now(dt.UTC)
    crl = build_crl(issuing, revoked, _crl_number(now), now=now)
    return Response(crl.public_bytes(serialization.Encoding.DER), media_type=DER_CRL)


@router.get("/crl.der", include_in_schema=False)
async def issuing_crl_short(state: State) -> Response:
    return await issuing_crl(state)


@router.get("/crl/root.crl", summary="CRL of the root CA (DER): revoked issuing CAs")
async def root_crl(state: State) -> Response:
    root, _ = _deployment(state)
    now = dt.datetime.now(dt.UTC)
    crl = build_crl(root, [], _crl_number(now), now=now, lifetime=dt.timedelta(days=30))
    return Response(crl.public_bytes(serialization.Encoding.DER), media_type=DER_CRL)


@router.post("/ocsp", summary="OCSP responder for the issuing CA (RFC 6960 over HTTP POST)")
async def ocsp_responder(request: Request, state: State) -> Response:
    _, issuing = _deployment(state)
    body = await request.body()
    if len(body) > 10_000:
        raise ProblemError(413, "request-too-large", "An OCSP request is at most 10 kB.")
    try:
        ocsp_request = load_ocsp_request(body)
    except PKIError:  # OCSP clients expect an OCSP answer, not problem+json (§2.3)
        malformed = ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )
        der = malformed.public_bytes(serialization.Encoding.DER)
        return Response(der, status_code=400, media_type=OCSP_RESPONSE)
    issued, revoked = await _revocations(state)
    response = build_ocsp_response(ocsp_request, issuing, issued=issued, revoked=revoked)
    return Response(response.public_bytes(serialization.Encoding.DER), media_type=OCSP_RESPONSE)
