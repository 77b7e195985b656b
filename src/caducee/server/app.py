"""The app factory: one FastAPI app per process, built from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from caducee import __version__
from caducee.config import Settings
from caducee.evidence import EvidenceLog, HTTPTimestamper, load_log_identity
from caducee.evidence.signing_process import SigningProcess
from caducee.gateway import start_smtp_edge
from caducee.relay import InProcessNotifier
from caducee.relay.sweep import start_blob_sweeper
from caducee.server import (
    routes_admin,
    routes_auth,
    routes_console,
    routes_directory,
    routes_docs,
    routes_instant,
    routes_interop,
    routes_ledger,
    routes_manager,
    routes_pki,
    routes_policy,
    routes_prescriptions,
    routes_relay,
    routes_status,
)
from caducee.server.auth import relay_committer
from caducee.server.deployment import is_initialised, load_deployment
from caducee.server.problems import install_problem_handlers
from caducee.server.state import ServerState
from caducee.store import Database, S3Options, open_blob_store, upgrade_database

__all__ = ["create_app"]


def _blob_options(settings: Settings) -> S3Options:
    return S3Options(
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        allow_http=settings.s3_allow_http,
    )


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Build the server. ``migrate`` brings the schema up to date at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url
        if migrate:
            await asyncio.to_thread(upgrade_database, url)
        database = Database(url)
        blobs = open_blob_store(settings.resolved_blob_url, _blob_options(settings))
        state = ServerState(settings=settings, database=database, blobs=blobs)
        if is_initialised(settings):
            state.authority = await asyncio.to_thread(load_deployment, settings)
        state.extras["relay_notifier"] = InProcessNotifier()
        identity = await asyncio.to_thread(
            load_log_identity, settings.data_dir, settings.mail_domain
        )
        timestamper = HTTPTimestamper(settings.tsa_url) if settings.tsa_url else None
        # The relay's evidence is signed in a child process, off this process's GIL.
        signing = SigningProcess(identity.private_key)
        state.extras["evidence_log"] = EvidenceLog(
            database, identity, timestamper=timestamper, signer=signing.sign_many
        )
        committer = relay_committer(state)  # before the SMTP edge, which shares it
        app.state.caducee = state
        edge = await start_smtp_edge(state) if settings.smtp_enabled else None
        stoppers = [
            stop
            for part in (routes_prescriptions, routes_console, routes_interop, routes_instant)
            if (stop := await part.start(state)) is not None
        ]
        if (stop_sweep := start_blob_sweeper(database, blobs, settings)) is not None:
            stoppers.append(stop_sweep)
        try:
            yield
        finally:
            for stop in reversed(stoppers):
                await stop()
            if edge is not None:
                await edge.stop()
            await committer.close()  # nothing may still write when the database closes
            await asyncio.to_thread(signing.close)
            await database.close()

    app = FastAPI(
        title="Caducée",
        version=__version__,
        description="End-to-end encrypted messaging for health professionals.",
        lifespan=lifespan,
        docs_url=None,  # routes_docs serves it without a CDN
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(routes_status.router)
    app.include_router(routes_docs.router)
    app.include_router(routes_pki.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_directory.router)
    app.include_router(routes_relay.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_ledger.router)
    app.include_router(routes_policy.router)
    app.include_router(routes_prescriptions.router)
    app.include_router(routes_console.router)
    app.include_router(routes_interop.router)
    app.include_router(routes_instant.router)
    app.include_router(routes_manager.router)
    return app
