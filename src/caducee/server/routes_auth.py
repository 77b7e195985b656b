"""Password-less agent authentication and enrolment.

- ``POST /api/v1/auth/challenge`` {address} → {challenge, expires_at}: anyone; single use.
- ``POST /api/v1/auth/token`` {address, challenge, signature, certificate_serial} →
  {access_token, token_type, expires_at}. ``signature`` is base64 of a signature over the
  UTF-8 bytes of ``challenge`` (RSA PKCS#1 v1.5 or PSS with SHA-256, ECDSA SHA-256, Ed25519).
- ``POST /api/v1/enrol`` {code, csr_pem} → 201 {certificate_pem, serial_hex, address}: the
  holder of a one-time enrolment code (made by the operator) gets a certificate from the CA.
- ``POST /api/v1/certificates/renew`` {csr_pem} → 201 (same answer): an authenticated agent
  gets a new certificate for its mailbox; the old one stays valid until revoked or expired.
- ``POST /api/v1/certificates/{serial}/revoke`` {reason}: the operator revokes any
  certificate, an agent only its own mailbox's. Takes effect at once (CRL, OCSP, tokens).

Every issuance and revocation is also an evidence record (key transparency).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from caducee.directory import EnrolmentSubject, MailboxKind
from caducee.errors import CaduceeError
from caducee.pki.authority import CertificateAuthority
from caducee.pki.issuance import issue_from_csr
from caducee.pki.profiles import Holder, Profile
from caducee.server.auth import Agent, authenticated_mailbox, credential_service, is_operator
from caducee.server.domain_problems import to_problem
from caducee.server.problems import ProblemError
from caducee.server.requests import StrictRequest
from caducee.server.state import ServerState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["auth"])
State = Annotated[ServerState, Depends(get_state)]


class ChallengeRequest(StrictRequest):
    address: str = Field(min_length=3, max_length=320)


class ChallengeAnswer(BaseModel):
    challenge: str
    expires_at: datetime


class TokenRequest(StrictRequest):
    address: str = Field(min_length=3, max_length=320)
    challenge: str = Field(min_length=1, max_length=128)
    signature: str = Field(min_length=1, max_length=4096)
    certificate_serial: str = Field(min_length=1, max_length=64)


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (RFC 6750 token type)
    expires_at: datetime


class EnrolRequest(StrictRequest):
    code: str = Field(min_length=1, max_length=64)
    csr_pem: str = Field(min_length=1, max_length=16384)


class EnrolAnswer(BaseModel):
    address: str
    serial_hex: str
    certificate_pem: str


@router.post("/auth/challenge", summary="A single-use challenge to sign")
async def challenge(body: ChallengeRequest, state: State) -> ChallengeAnswer:
    try:
        value, expires_at = await credential_service(state).new_challenge(body.address)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return ChallengeAnswer(challenge=value, expires_at=expires_at)


@router.post("/auth/token", summary="Trade a signed challenge for an access token")
async def token(body: TokenRequest, state: State) -> TokenAnswer:
    try:
        signature = base64.b64decode(body.signature, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(400, "invalid-request", "signature must be base64") from None
    try:
        issued = await credential_service(state).exchange(
            address=body.address,
            challenge=body.challenge,
            signature=signature,
            serial_hex=body.certificate_serial,
        )
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return TokenAnswer(access_token=issued.token, expires_at=issued.expires_at)


def _holder(subject: EnrolmentSubject) -> tuple[Profile, Holder]:
    if subject.kind == MailboxKind.PERSONAL.value:
        name = f"{subject.given_name} {subject.family_name}"
        return Profile.PERSON, Holder(
            common_name=name,
            email=subject.address,
            given_name=subject.given_name,
            surname=subject.family_name,
            rpps=subject.rpps,
            organisation=subject.organisation,
        )
    profile = (
        Profile.APPLICATION_MAILBOX
        if subject.kind == MailboxKind.APPLICATIVE.value
        else Profile.ORGANISATION_MAILBOX
    )
    holder = Holder(
        common_name=subject.organisation or subject.address,
        email=subject.address,
        organisation=subject.organisation,
    )
    return profile, holder


def _issuer(state: ServerState, csr_pem: str) -> Callable[[EnrolmentSubject], x509.Certificate]:
    """Issue from ``csr_pem`` with the operator's issuing CA, for whichever subject."""
    deployment = state.authority
    if deployment is None:
        raise ProblemError(503, "ca-not-initialised", "the operator CA is not initialised")
    issuing: CertificateAuthority = deployment.issuing
    now = credential_service(state).now

    def issue(subject: EnrolmentSubject) -> x509.Certificate:
        profile, holder = _holder(subject)
        return issue_from_csr(issuing, csr_pem.encode(), profile, holder, now=now())

    return issue


def _answer(address: str, certificate: x509.Certificate) -> EnrolAnswer:
    return EnrolAnswer(
        address=address,
        serial_hex=format(certificate.serial_number, "x"),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


@router.post("/enrol", status_code=201, summary="Spend an enrolment code for a certificate")
async def enrol(body: EnrolRequest, state: State) -> EnrolAnswer:
    issue = _issuer(state, body.csr_pem)
    try:
        address, certificate = await credential_service(state).enrol(body.code, issue)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return _answer(address, certificate)


class RenewRequest(StrictRequest):
    csr_pem: str = Field(min_length=1, max_length=16384)


@router.post("/certificates/renew", status_code=201, summary="A new certificate for my mailbox")
async def renew(body: RenewRequest, agent: Agent, state: State) -> EnrolAnswer:
    issue = _issuer(state, body.csr_pem)
    try:
        certificate = await credential_service(state).renew(agent.mailbox_id, issue)
    except CaduceeError as exc:
        raise to_problem(exc) from None
    return _answer(agent.address, certificate)


class RevokeRequest(StrictRequest):
    reason: str = Field(default="unspecified", max_length=32)


@router.post("/certificates/{serial_hex}/revoke", summary="Revoke a certificate")
async def revoke(
    serial_hex: str, body: RevokeRequest, request: Request, state: State
) -> dict[str, Any]:
    """The operator revokes any certificate; an agent, only one of its own mailbox."""
    if is_operator(request, state):
        mailbox_id, actor = None, "operator"
    else:
        agent = await authenticated_mailbox(request, state)
        mailbox_id, actor = agent.mailbox_id, agent.address
    try:
        changed = await credential_service(state).certificates.revoke(
            serial_hex, reason=body.reason, actor=actor, mailbox_id=mailbox_id
        )
    except CaduceeError as exc:
        raise to_problem(exc) from None
    state.extras.get("auth_cache", {}).clear()  # no cached token outlives its certificate
    return {
        "serial_hex": serial_hex.lower().lstrip("0") or "0",
        "revoked": True,
        "changed": changed,
    }
