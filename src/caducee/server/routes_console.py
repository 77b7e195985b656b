"""The operator's console: establishments and the charter, moderation, the network's figures.

One router made of one module per console section, in this order:

- :mod:`~caducee.server.routes_establishments`: the operator registers establishments; a
  manager runs their own people
- :mod:`~caducee.server.routes_charter`: the charter, its signatures, the support contact
- :mod:`~caducee.server.routes_limits`: sending limits
- :mod:`~caducee.server.routes_moderation`: holds, moderators, reports, sanctions
- :mod:`~caducee.server.routes_figures`: the figures (JSON, CSV, PDF)
- :mod:`~caducee.server.console_pages`: the pages and their forms (French first)

The operator calls with ``Authorization: Bearer <operator token>`` or the console's cookie
set by ``/console/login`` (:mod:`~caducee.server.console_common`). ``start`` registers the
relay hooks (rollups, contacts, the gate) and closes the days in the background
(:mod:`~caducee.server.console_startup`).
"""

from __future__ import annotations

from fastapi import APIRouter

from caducee.server import (
    console_pages,
    routes_charter,
    routes_establishments,
    routes_figures,
    routes_limits,
    routes_moderation,
)
from caducee.server.console_common import COOKIE, charter_url, problem
from caducee.server.console_startup import close_finished_days, start

__all__ = ["COOKIE", "charter_url", "close_finished_days", "problem", "router", "start"]

router = APIRouter()
for _section in (
    routes_establishments,
    routes_charter,
    routes_limits,
    routes_moderation,
    routes_figures,
    console_pages,
):
    router.include_router(_section.router)
