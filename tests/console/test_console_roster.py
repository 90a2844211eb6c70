"""Keeping the roster in the console: agents, teams and partners, within a manager's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.access.models import AuditEntry
from backend.roster.service import create_partner, create_team
from tests.console.html import parse
from tests.console.people import csrf, sign_in_as
from tests.factories import Client, add_agent

HTMX = {"HX-Request": "true"}


async def _two_teams(sessions: Any) -> dict[str, str]:
    async with sessions() as session:
        north = (await create_team(session, "North")).id
        south = (await create_team(session, "South")).id
        ana = await add_agent(session, "Ana", team_id=north)
        bruno = await add_agent(session, "Bruno", team_id=south)
    return {"north": north, "south": south, "ana": ana, "bruno": bruno}


def _form(**fields: str) -> dict[str, str]:
    base = {
        "name": "Ana",
        "email": "ana@example.com",
        "tier": "1",
        "capacity": "25",
        "timezone": "UTC",
        "always": "on",
        "active": "on",
    }
    return {**base, **fields}


async def test_manager_sees_only_their_teams_agents(client: Client, sessions: Any) -> None:
    roster = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[roster["north"]])

    listing = await client.get("/console/agents")
    own = await client.get(f"/console/agents/{roster['ana']}")
    other = await client.get(f"/console/agents/{roster['bruno']}")
    change = await client.post(
        f"/console/agents/{roster['bruno']}",
        data=_form(name="Bruno", team_id=roster["north"]),
        headers=csrf(client),
    )

    names = [row.one("data-name").text for row in parse(listing.text).all("data-agent")]
    assert names == ["Ana"]
    assert own.status_code == 200
    assert other.status_code == 404
    assert change.status_code == 404
    async with sessions() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert [e.entity_id for e in entries if e.entity == "agent"] == [roster["ana"], roster["bruno"]]


async def test_agent_edit_is_saved_with_its_exact_audit_entry(
    client: Client, sessions: Any
) -> None:
    roster = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[roster["north"]])

    response = await client.post(
        f"/console/agents/{roster['ana']}",
        data=_form(
            team_id=roster["north"],
            capacity="10",
            always="",
            hours_mon="09:00-12:00, 13:00-18:00",
            territories="BR/SP\nBR/RJ/20",
            languages="PT, en",
        ),
        headers={**csrf(client), **HTMX},
    )
    page = await client.get(f"/console/agents/{roster['ana']}")

    assert response.headers["hx-redirect"] == f"/console/agents/{roster['ana']}?saved=1"
    document = parse(page.text)
    assert document.one("id", "f-capacity").attrs["value"] == "10"
    assert document.one("id", "f-hours_mon").attrs["value"] == "09:00-12:00, 13:00-18:00"
    async with sessions() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "update"))
        ).one()
        user_id = (await session.execute(select(AuditEntry.actor))).scalars().all()
    assert entry.entity == "agent"
    assert entry.entity_id == roster["ana"]
    assert entry.actor.startswith("user:") and entry.actor in user_id
    assert entry.before == {
        "capacity": 25,
        "languages": [],
        "territories": [],
        "working_hours": None,
    }
    assert entry.after == {
        "capacity": 10,
        "languages": ["pt", "en"],
        "territories": [
            {"country": "BR", "region": "SP"},
            {"country": "BR", "region": "RJ", "postal_prefix": "20"},
        ],
        "working_hours": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]]},
    }


async def test_bad_agent_input_shows_messages_beside_the_fields(
    client: Client, sessions: Any
) -> None:
    roster = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[roster["north"]])

    bad_zone = await client.post(
        "/console/agents",
        data=_form(
            name="Caio", email="caio@example.com", team_id=roster["north"], timezone="Mars/Base"
        ),
        headers={**csrf(client), **HTMX},
    )
    bad_hours = await client.post(
        "/console/agents",
        data=_form(
            name="Caio",
            email="caio@example.com",
            team_id=roster["north"],
            always="",
            hours_tue="9 to 5",
        ),
        headers={**csrf(client), **HTMX},
    )
    other_team = await client.post(
        "/console/agents",
        data=_form(name="Caio", email="caio@example.com", team_id=roster["south"]),
        headers={**csrf(client), **HTMX},
    )

    assert bad_zone.status_code == 422
    assert parse(bad_zone.text).one("data-error", "timezone").text == (
        "timezone 'Mars/Base' is not an IANA time zone such as 'Europe/Berlin'."
    )
    assert parse(bad_hours.text).one("data-error", "hours_tue").text == (
        "Working hours on tue read '9 to 5'; write 09:00-18:00."
    )
    assert (
        parse(other_team.text).one("data-error", "team_id").text == "You do not manage that team."
    )
    assert parse(other_team.text).one("id", "f-name").attrs["value"] == "Caio"


async def test_manager_adds_an_agent_out_of_office_with_a_delegate(
    client: Client, sessions: Any
) -> None:
    roster = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[roster["north"]])

    response = await client.post(
        "/console/agents",
        data=_form(
            name="Caio",
            email="caio@example.com",
            team_id=roster["north"],
            timezone="America/Sao_Paulo",
            back_on="2026-12-20",
            delegate_id=roster["ana"],
        ),
        headers=csrf(client),
    )
    listing = await client.get("/api/v1/agents")

    assert response.status_code == 303
    agent_id = response.headers["location"].split("/")[3].split("?")[0]
    page = parse((await client.get(f"/console/agents/{agent_id}")).text)
    assert page.one("id", "f-back_on").attrs["value"] == "2026-12-20"
    assert listing.status_code == 401
    async with sessions() as session:
        from backend.roster.service import get_agent

        agent = await get_agent(session, agent_id)
    assert agent.out_of_office_until is not None
    assert agent.out_of_office_until.isoformat() == "2026-12-20T03:00:00+00:00"
    assert agent.delegate_id == roster["ana"]


async def test_teams_and_partners_pages_follow_scope(client: Client, sessions: Any) -> None:
    roster = await _two_teams(sessions)
    async with sessions() as session:
        acme = (await create_partner(session, "Acme")).id
        await create_partner(session, "Bolt")
    await sign_in_as(
        client, sessions, "north@example.com", team_ids=[roster["north"]], partner_ids=[acme]
    )

    teams = parse((await client.get("/console/teams")).text)
    partners = parse((await client.get("/console/partners")).text)
    add = await client.post("/console/teams", data={"name": "East"}, headers=csrf(client))

    assert [r.one("data-name").text for r in teams.all("data-team")] == ["North"]
    assert [r.one("data-name").text for r in partners.all("data-partner")] == ["Acme"]
    assert add.status_code == 403
