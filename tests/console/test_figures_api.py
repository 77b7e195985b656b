"""The figures from real submissions: counted by the relay's commit hook, never by scanning.

Messages go through the API over several (moved) days; the days are closed; the figures,
the CSV and the JSON are checked against a count of what was sent, and stay the same after
the messages themselves are deleted.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import delete

from caducee.relay.models import Delivery, Message
from caducee.server.routes_console import close_finished_days
from caducee.stats.rollup import french_day
from tests.console.helpers import OPERATOR
from tests.server.conftest import World


async def test_figures_follow_the_traffic_and_survive_message_deletion(world: World) -> None:
    lab_finess = await world.organisation("Laboratoire Chiffres", type="lab")
    gp_finess = await world.organisation("Cabinet Chiffres", type="gp_practice")
    lab = await world.person("Biologiste", organisation=lab_finess)
    gps = [await world.person(f"Generaliste{i}", organisation=gp_finess) for i in range(3)]
    sent: dict[str, int] = {}
    days = []
    for day in range(4):
        for gp in gps[: day + 1 if day < 3 else 1]:
            response = await world.send(lab, [gp.address])
            assert response.status_code == 201, response.text
            sent[french_day(world.clock()).isoformat()] = (
                sent.get(french_day(world.clock()).isoformat(), 0) + 1
            )
        days.append(french_day(world.clock()))
        world.clock.advance(days=1)
        for who in (lab, *gps):
            await world.login(who)
    assert await close_finished_days(world.state) == 4

    async with world.state.database.transaction() as session:  # the messages go away...
        await session.execute(delete(Delivery))
        await session.execute(delete(Message))

    figures = (await world.client.get("/api/v1/console/figures", headers=OPERATOR)).json()
    headline = figures["headline"]
    assert headline["day"] == days[-1].isoformat()
    assert headline["active_users"] == 4  # the lab and the three GPs, within 30 days
    assert headline["active_by_type"] == {"gp_practice": 3, "lab": 1}
    assert headline["messages_total"] == sum(sent.values()) == 7
    assert headline["labs_registered"] == 1 and headline["labs_on_network"] == 1
    assert headline["labs_share"] == 100.0
    assert headline["daily_users_share"] == 0.0  # four days are not a habit yet

    text = (await world.client.get("/api/v1/console/figures.csv", headers=OPERATOR)).text
    rows = list(csv.DictReader(io.StringIO(text)))
    by_day: dict[str, int] = {}
    for row in rows:
        by_day[row["day"]] = by_day.get(row["day"], 0) + int(row["messages"])
    assert by_day == sent
    gp_rows = [r for r in rows if r["org_type"] == "gp_practice"]
    assert [int(r["deliveries"]) for r in gp_rows] == [1, 2, 3, 1]
    assert [int(r["active_users"]) for r in gp_rows] == [1, 2, 3, 3]
