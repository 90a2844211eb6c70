"""Rule health: pools nobody in which can take a lead now, conditions no recent lead met."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.routing.health import rule_health
from tests.factories import Client, make_agent, make_rule, post_lead

AWAY = "2099-01-01T00:00:00+00:00"


async def flags(sessions: Any) -> dict[str, list[str]]:
    async with sessions() as session:
        report = await rule_health(session, datetime.now(UTC))
    return {health.rule.name: health.flags for health in report}


async def test_rule_health_flags_pools_nobody_in_can_serve(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ana = await make_agent(client, auth, "Ana", capacity=1)
    bruno = await make_agent(client, auth, "Bruno", active=False)
    eve = await make_agent(client, auth, "Eve")
    dan = await make_agent(client, auth, "Dan", delegate_id=eve, out_of_office_until=AWAY)
    fay = await make_agent(client, auth, "Fay", out_of_office_until=AWAY)
    await make_rule(client, auth, "Busy", [ana, bruno], priority=1)
    await make_rule(client, auth, "Covered", [dan], priority=2)
    await make_rule(client, auth, "Away", [fay], priority=3)
    empty_team = await client.post("/api/v1/teams", json={"name": "Nobody yet"}, headers=auth)
    empty_pool = {"agent_ids": [], "team_ids": [empty_team.json()["id"]]}
    await make_rule(client, auth, "Empty", [], priority=4, pool=empty_pool)
    await make_rule(client, auth, "Retired", [bruno], priority=5, active=False)
    await post_lead(client, auth, "H1")  # Busy routes it to Ana, who is then full

    found = await flags(sessions)

    assert found == {
        "Busy": [
            "No agent in its pool can take a lead now. "
            "Ana: at capacity (1 of 1 open leads); Bruno: inactive."
        ],
        "Covered": [],
        "Away": [f"No agent in its pool can take a lead now. Fay: out of office until {AWAY}."],
        "Empty": ["Its pool has no agents."],
        "Retired": [],
    }


async def test_rule_health_flags_a_delegate_who_cannot_stand_in(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    eve = await make_agent(client, auth, "Eve", active=False)
    dan = await make_agent(client, auth, "Dan", delegate_id=eve, out_of_office_until=AWAY)
    await make_rule(client, auth, "Covered", [dan])
    await post_lead(client, auth, "H1")

    found = await flags(sessions)

    assert found == {
        "Covered": [
            "No agent in its pool can take a lead now. "
            f"Dan: out of office until {AWAY} (delegate Eve: inactive)."
        ]
    }


async def test_rule_health_flags_conditions_no_recent_lead_met(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    carla = await make_agent(client, auth, "Carla")
    await make_rule(client, auth, "Brazil", [carla], conditions={"country": ["BR"]}, priority=1)
    await make_rule(client, auth, "US", [carla], conditions={"country": ["US"]}, priority=2)
    long_ago = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    await post_lead(client, auth, "old-us", country="US", received_at=long_ago)
    await post_lead(client, auth, "br-1")
    await post_lead(client, auth, "br-2")

    found = await flags(sessions)

    assert found == {
        "Brazil": [],
        "US": ["No lead of the last 30 days met its conditions (2 read)."],
    }


async def test_rule_health_without_recent_leads_says_so(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    carla = await make_agent(client, auth, "Carla")
    await make_rule(client, auth, "All", [carla])

    found = await flags(sessions)

    assert found == {"All": ["No lead arrived in the last 30 days."]}
