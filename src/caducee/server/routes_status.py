"""Liveness, readiness and the public status page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import func, select

from caducee import __version__
from caducee.errors import CaduceeError
from caducee.server.pages import render
from caducee.server.state import ServerState, get_state
from caducee.store.models import IssuedCertificate

__all__ = ["router"]

router = APIRouter(tags=["status"])
State = Annotated[ServerState, Depends(get_state)]


async def _readiness(state: ServerState) -> str | None:
    """None when ready, else the first reason it is not."""
    try:
        await state.database.ping()
        await state.blobs.exists("0" * 64)
    except CaduceeError as exc:
        return exc.reason
    if state.authority is None:
        return "the operator CA is not initialised (run `caducee server init`)"
    return None


async def _describe_authority(state: ServerState) -> dict[str, Any]:
    assert state.authority is not None
    issuing = state.authority.issuing.certificate
    async with state.database.sessions() as session:
        issued = await session.scalar(select(func.count()).select_from(IssuedCertificate))
        revoked = await session.scalar(
            select(func.count())
            .select_from(IssuedCertificate)
            .where(IssuedCertificate.revoked_at.is_not(None))
        )
    return {
        "root_subject": state.authority.root.certificate.subject.rfc4514_string(),
        "root_fingerprint": state.authority.root_fingerprint,
        "issuing_subject": issuing.subject.rfc4514_string(),
        "issuing_not_after": issuing.not_valid_after_utc.date().isoformat(),
        "issued": issued or 0,
        "revoked": revoked or 0,
    }


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="Readiness: database, blob store and CA are usable")
async def readyz(state: State) -> JSONResponse:
    problem = await _readiness(state)
    if problem is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not-ready", "reason": problem}, status_code=503)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def status_page(request: Request, state: State) -> HTMLResponse:
    problem = await _readiness(state)
    ca = await _describe_authority(state) if state.authority is not None else None
    return render(
        request,
        "status.html",
        {
            "ready": problem is None,
            "problem": problem,
            "operator": state.settings.operator_name,
            "database": state.database.dialect,
            "blobs": "S3" if state.blobs.url == "s3" else "local",
            "support": f"{state.settings.support_contact} · {state.settings.support_hours}",
            "ca": ca,
        },
        status_code=200 if problem is None else 503,
    )
