"""A partner coordinator's link: their own reps and leads only, changes only on buttons."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from backend.roster.models import Agent
from backend.roster.service import create_partner, create_team
from tests.console.html import parse
from tests.console.people import csrf, sign_in_as
from tests.factories import Client, add_agent


async def _partners(sessions: Any) -> dict[str, str]:
    async with sessions() as session:
        acme = (await create_partner(session, "Acme", 1.0)).id
        bolt = (await create_partner(session, "Bolt", 3.0)).id
        ana = await add_agent(session, "Ana", partner_id=acme)
        bob = await add_agent(session, "Bob", partner_id=bolt)
    return {"acme": acme, "bolt": bolt, "ana": ana, "bob": bob}


async def _coordinator_link(client: Client, sessions: Any, partner_id: str) -> str:
    await sign_in_as(client, sessions, "pm@example.com", partner_ids=[partner_id])
    page = await client.post(
        f"/console/partners/{partner_id}/links",
        data={"days": "30", "email": "coord@acme.example"},
        headers=csrf(client),
    )
    assert page.status_code == 200, page.text
    url = parse(page.text).one("data-new-link").attrs["value"]
    path = re.sub(r"^http://testserver\.local", "", url)
    await client.post("/console/logout", headers=csrf(client))
    return path


async def test_coordinator_sees_only_their_reps_and_adds_one(client: Client, sessions: Any) -> None:
    ids = await _partners(sessions)
    path = await _coordinator_link(client, sessions, ids["acme"])

    home = parse((await client.get(path)).text)
    again = parse((await client.get(path)).text)
    added = await client.post(
        f"{path}/reps",
        data={
            "name": "Carla",
            "email": "carla@acme.example",
            "timezone": "Europe/Lisbon",
            "active": "on",
        },
        headers=csrf(client),
    )
    after = parse((await client.get(path)).text)

    assert [r.one("data-name").text for r in home.all("data-rep")] == ["Ana"]
    assert [r.one("data-name").text for r in again.all("data-rep")] == ["Ana"]
    assert home.one("data-value", "target").text == "25%"
    assert (added.status_code, added.headers["location"]) == (303, path)
    assert [r.one("data-name").text for r in after.all("data-rep")] == ["Ana", "Carla"]
    async with sessions() as session:
        carla = (await session.scalars(select(Agent).where(Agent.name == "Carla"))).one()
    assert (carla.partner_id, carla.kind, carla.timezone) == (
        ids["acme"],
        "partner",
        "Europe/Lisbon",
    )


async def test_coordinator_cannot_reach_another_partners_rep(client: Client, sessions: Any) -> None:
    ids = await _partners(sessions)
    path = await _coordinator_link(client, sessions, ids["acme"])
    await client.get(path)

    response = await client.post(
        f"{path}/reps/{ids['bob']}", data={"timezone": "UTC"}, headers=csrf(client)
    )
    away = await client.post(
        f"{path}/reps/{ids['ana']}",
        data={
            "timezone": "UTC",
            "back_on": "2026-12-24",
            "hours_mon": "09:00-17:00",
            "active": "on",
        },
        headers=csrf(client),
    )

    assert response.status_code == 404
    assert away.status_code == 303
    async with sessions() as session:
        bob = await session.get(Agent, ids["bob"])
        ana = await session.get(Agent, ids["ana"])
    assert bob is not None and bob.active
    assert ana is not None and ana.out_of_office_until is not None
    assert ana.out_of_office_until.isoformat() == "2026-12-24T00:00:00+00:00"
    assert ana.working_hours == {"mon": [["09:00", "17:00"]]}


async def test_revoked_or_unknown_partner_link_opens_nothing(client: Client, sessions: Any) -> None:
    ids = await _partners(sessions)
    path = await _coordinator_link(client, sessions, ids["acme"])
    await sign_in_as(client, sessions, "pm@example.com", partner_ids=[ids["acme"]])
    page = parse((await client.get(f"/console/partners/{ids['acme']}")).text)
    link_id = page.all("data-link")[0].attrs["data-link"]
    await client.post(
        f"/console/partners/{ids['acme']}/links/{link_id}/revoke", headers=csrf(client)
    )

    revoked = await client.get(path)
    unknown = await client.get("/p/pp_nothing")
    other_partner = await client.get(f"/console/partners/{ids['bolt']}")

    assert revoked.status_code == 401
    assert (
        parse(revoked.text).one("data-message").text
        == "This partner link is unknown or was revoked."
    )
    assert unknown.status_code == 401
    assert other_partner.status_code == 404


async def test_manager_of_a_team_cannot_make_links_for_partners(
    client: Client, sessions: Any
) -> None:
    ids = await _partners(sessions)
    async with sessions() as session:
        north = (await create_team(session, "North")).id
    await sign_in_as(client, sessions, "north@example.com", team_ids=[north])

    response = await client.post(
        f"/console/partners/{ids['acme']}/links", data={"days": "30"}, headers=csrf(client)
    )

    assert response.status_code == 404


async def test_admin_changes_a_partners_fair_share_and_bad_input_is_explained(
    client: Client, sessions: Any
) -> None:
    ids = await _partners(sessions)
    await sign_in_as(client, sessions, "admin@example.com", "admin")

    saved = await client.post(
        f"/console/partners/{ids['acme']}",
        data={"name": "Acme", "fair_share": "2", "active": "on"},
        headers=csrf(client),
    )
    bad = await client.post(
        f"/console/partners/{ids['acme']}",
        data={"name": "Acme", "fair_share": "lots"},
        headers=csrf(client),
    )
    page = parse((await client.get(f"/console/partners/{ids['acme']}")).text)

    assert saved.status_code == 303
    assert bad.status_code == 422
    assert (
        parse(bad.text).one("data-problem").text == "Fair share must be a number such as 1 or 0.5."
    )
    assert page.one("data-share").text == (
        "Last 30 days: 0 of 0 partner offers (0%), fair share 40%."
    )


async def test_coordinator_sees_their_leads_and_share_against_the_target(
    client: Client, sessions: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.factories import add_rule, submit

    ids = await _partners(sessions)
    now = datetime.now(UTC)
    async with sessions() as session:
        await add_rule(session, "Partners", [ids["ana"], ids["bob"]], strategy="round_robin")
        leads = [
            await submit(session, f"P{n}", now - timedelta(minutes=3 - n), value=100)
            for n in range(3)
        ]
    path = await _coordinator_link(client, sessions, ids["acme"])

    home = parse((await client.get(path)).text)

    to_ana = [r.lead.id for r in leads if r.lead and r.offer and r.offer.agent_id == ids["ana"]]
    assert [row.attrs["data-lead"] for row in home.all("data-lead")] == list(reversed(to_ana))
    assert home.one("data-value", "offers").text == str(len(to_ana))
    assert home.one("data-value", "actual").text == f"{len(to_ana) / 3:.0%}"
    assert home.one("data-value", "target").text == "25%"
