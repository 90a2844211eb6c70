"""Journey events reach open dashboards once committed, and only those the viewer may see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin

from backend.console.live import CHANNEL, LiveEvent, events_for, words
from backend.console.scope import EVERYTHING, Scope
from backend.pursuit.service import record_event
from tests.console.test_console_leads import person
from tests.factories import Client, link_for, make_agent, make_rule, post_lead

WAIT_S = 5  # a bound for a broken test, not a speed check


async def take(events: AsyncIterator[LiveEvent], count: int) -> list[tuple[str, str]]:
    got = []
    for _ in range(count):
        event = await asyncio.wait_for(anext(events), WAIT_S)
        got.append((event.type, words(event)))
    return got


async def test_live_events_follow_a_lead_as_it_is_offered_and_accepted(
    client: Client, auth: dict[str, str], app: Litestar
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "All", [ana])
    plugin = app.plugins.get(ChannelsPlugin)

    async with plugin.start_subscription([CHANNEL]) as subscriber:
        created = await post_lead(client, auth, "L1", **person(1, company="Live Co"))
        link = await link_for(client, auth, ana)
        await client.post(f"/api/v1/offers/{created['offer']['id']}/accept", headers=link)
        seen = await take(events_for(subscriber, EVERYTHING), 3)

    assert seen == [
        ("received", "new lead"),
        ("offered", "offered to Ana"),
        ("accepted", "accepted by Ana"),
    ]


async def test_live_events_keep_to_the_viewers_teams(
    client: Client, auth: dict[str, str], app: Litestar
) -> None:
    north = (await client.post("/api/v1/teams", json={"name": "North"}, headers=auth)).json()
    ana = await make_agent(client, auth, "Ana", team_id=north["id"])
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Brazil", [ana], conditions={"country": ["BR"]}, priority=1)
    await make_rule(client, auth, "Rest", [bruno], priority=2)
    plugin = app.plugins.get(ChannelsPlugin)
    scope = Scope(team_ids=frozenset({north["id"]}), partner_ids=frozenset())

    async with plugin.start_subscription([CHANNEL]) as subscriber:
        await post_lead(client, auth, "L2", **person(2, company="Elsewhere", country="PT"))
        mine = await post_lead(client, auth, "L3", **person(3, company="Mine"))
        seen = await asyncio.wait_for(anext(events_for(subscriber, scope)), WAIT_S)

    assert (seen.lead_id, seen.type, seen.title) == (mine["lead_id"], "received", "Mine")


async def test_live_events_wait_for_the_commit_and_forget_a_rollback(
    client: Client, auth: dict[str, str], app: Litestar, sessions: Any
) -> None:
    created = await post_lead(client, auth, "L4", **person(4, company="Quiet"))
    plugin = app.plugins.get(ChannelsPlugin)

    async with plugin.start_subscription([CHANNEL]) as subscriber:
        async with app.state.sessions() as session:
            record_event(session, lead_id=created["lead_id"], type="won", actor="test")
            await session.flush()
            await session.rollback()
            record_event(session, lead_id=created["lead_id"], type="lost", actor="test")
            await session.commit()
        seen = await asyncio.wait_for(anext(events_for(subscriber, EVERYTHING)), WAIT_S)

    assert (seen.lead_id, seen.type) == (created["lead_id"], "lost")


async def test_live_events_of_a_broadcast_name_each_agent_offered(
    client: Client, auth: dict[str, str], app: Litestar
) -> None:
    north = (await client.post("/api/v1/teams", json={"name": "North"}, headers=auth)).json()
    ana = await make_agent(client, auth, "Ana", team_id=north["id"])
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Everyone", [ana, bruno], strategy="broadcast")
    plugin = app.plugins.get(ChannelsPlugin)
    scope = Scope(team_ids=frozenset({north["id"]}), partner_ids=frozenset())

    async with plugin.start_subscription([CHANNEL]) as subscriber:
        await post_lead(client, auth, "L5", **person(5, company="Both"))
        seen = await take(events_for(subscriber, scope), 3)

    assert sorted(seen) == [
        ("offered", "offered to Ana"),
        ("offered", "offered to Bruno"),
        ("received", "new lead"),
    ]
