"""The network's figures for the operator: JSON, a CSV of the days, the yearly PDF report.

- ``GET /api/v1/console/figures`` (JSON), ``/figures.csv``, ``/report.pdf``
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from caducee.server.console_common import ConsoleOperator, State
from caducee.stats.dashboard import load_dashboard
from caducee.stats.export import daily_rows, to_csv

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/console/figures", tags=["console"])
async def figures(_op: ConsoleOperator, state: State) -> dict[str, Any]:
    return (await load_dashboard(state.database)).to_json()


@router.get("/api/v1/console/figures.csv", tags=["console"])
async def figures_csv(_op: ConsoleOperator, state: State) -> Response:
    text = to_csv(await daily_rows(state.database))
    headers = {"Content-Disposition": 'attachment; filename="caducee-figures.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/api/v1/console/report.pdf", tags=["console"])
async def report_pdf(_op: ConsoleOperator, state: State) -> Response:
    dashboard = await load_dashboard(state.database)
    year = dashboard.headline.day.year if dashboard.headline.day else None
    from caducee.stats.report import render_pdf  # matplotlib: 0.6 s to import, only here

    pdf = await asyncio.to_thread(
        render_pdf, dashboard, operator=state.settings.operator_name, year=year
    )
    headers = {"Content-Disposition": f'attachment; filename="caducee-rapport-{year}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
