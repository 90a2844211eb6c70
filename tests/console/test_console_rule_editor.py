"""Editing, reordering and trying routing rules in the console, within a manager's scope."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.access.models import AuditEntry
from backend.roster.service import create_team
from backend.routing.service import get_rule, list_rules
from tests.console.html import parse
from tests.console.people import csrf, sign_in_as
from tests.factories import Client, add_agent, add_rule

HTMX = {"HX-Request": "true"}


async def _two_teams(sessions: Any) -> dict[str, str]:
    async with sessions() as session:
        north = (await create_team(session, "North")).id
        south = (await create_team(session, "South")).id
        ana = await add_agent(session, "Ana", team_id=north, territories=[{"country": "BR"}])
        bea = await add_agent(session, "Bea", team_id=north, territories=[{"country": "PT"}])
        bruno = await add_agent(session, "Bruno", team_id=south)
        first = await add_rule(
            session, "Brazil", [ana], priority=10, conditions={"country": ["BR"]}
        )
        second = await add_rule(session, "Portugal", [bea], priority=20)
        south_rule = await add_rule(session, "South", [bruno], priority=15)
    return {
        "north": north,
        "ana": ana,
        "bea": bea,
        "bruno": bruno,
        "first": first,
        "second": second,
        "south_rule": south_rule,
    }


def _rule_form(**fields: Any) -> dict[str, Any]:
    base = {
        "name": "Brazil",
        "priority": "10",
        "strategy": "round_robin",
        "accept_minutes": "15",
        "contact_hours": "24",
        "active": "on",
    }
    return {**base, **fields}


async def test_rule_change_is_saved_with_its_exact_audit_entry(
    client: Client, sessions: Any
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    response = await client.post(
        f"/console/rules/{ids['first']}/edit",
        data=_rule_form(
            cond_country="br, pt",
            pool_agent=[ids["ana"], ids["bea"]],
            strategy="least_loaded",
            accept_minutes="5",
            escalate_to_rule_id=ids["second"],
        ),
        headers={**csrf(client), **HTMX},
    )

    assert response.headers["hx-redirect"] == f"/console/rules/{ids['first']}/edit?saved=1"
    async with sessions() as session:
        entry = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "rule", AuditEntry.action == "update")
            )
        ).one()
    assert entry.entity_id == ids["first"]
    assert entry.actor.startswith("user:")
    assert entry.before == {
        "accept_timeout_s": 900,
        "conditions": {"country": ["BR"]},
        "escalate_to_rule_id": None,
        "pool": {"agent_ids": [ids["ana"]], "partner_ids": [], "team_ids": []},
        "strategy": "round_robin",
    }
    assert entry.after == {
        "accept_timeout_s": 300,
        "conditions": {"country": ["BR", "PT"]},
        "escalate_to_rule_id": ids["second"],
        "pool": {"agent_ids": [ids["ana"], ids["bea"]], "partner_ids": [], "team_ids": []},
        "strategy": "least_loaded",
    }


async def test_manager_is_refused_another_teams_rule(client: Client, sessions: Any) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    page = await client.get(f"/console/rules/{ids['south_rule']}/edit")
    change = await client.post(
        f"/console/rules/{ids['south_rule']}/edit",
        data=_rule_form(name="Taken", pool_agent=ids["ana"]),
        headers=csrf(client),
    )
    move = await client.post(
        f"/console/rules/{ids['south_rule']}/move", data={"direction": "up"}, headers=csrf(client)
    )
    steal = await client.post(
        f"/console/rules/{ids['first']}/edit",
        data=_rule_form(pool_agent=[ids["ana"], ids["bruno"]]),
        headers={**csrf(client), **HTMX},
    )

    assert (page.status_code, change.status_code, move.status_code) == (404, 404, 404)
    assert steal.status_code == 422
    assert parse(steal.text).one("data-error", "pool").text == (
        "The pool may name only your own teams, partners and agents."
    )
    async with sessions() as session:
        assert (await get_rule(session, ids["south_rule"])).name == "South"


async def test_moving_a_rule_up_swaps_it_with_the_visible_rule_above(
    client: Client, sessions: Any
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    response = await client.post(
        f"/console/rules/{ids['second']}/move", data={"direction": "up"}, headers=csrf(client)
    )

    assert (response.status_code, response.headers["location"]) == (303, "/console/rules")
    async with sessions() as session:
        order = [(r.name, r.priority) for r in await list_rules(session)]
    assert order == [("Portugal", 10), ("South", 15), ("Brazil", 20)]


async def test_bad_rule_input_is_shown_beside_its_field(client: Client, sessions: Any) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    no_pool = await client.post(
        "/console/rules/new", data=_rule_form(name="Empty"), headers={**csrf(client), **HTMX}
    )
    bad_timeout = await client.post(
        "/console/rules/new",
        data=_rule_form(name="Slow", pool_agent=ids["ana"], accept_minutes="soon"),
        headers={**csrf(client), **HTMX},
    )

    assert no_pool.status_code == 422
    assert parse(no_pool.text).one("data-error", "pool").text == (
        "A rule's pool needs at least one of agent_ids, team_ids or partner_ids."
    )
    assert parse(bad_timeout.text).one("data-error", "accept_minutes").text == (
        "The accept timeout must be a number."
    )


ACCEPT_RANGE = "The accept timeout must be more than 0 and at most 43,200 minutes."
CONTACT_RANGE = "The contact timeout must be more than 0 and at most 8,760 hours."


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("accept_minutes", "1e400", "The accept timeout must be a number."),
        ("accept_minutes", "nan", "The accept timeout must be a number."),
        ("accept_minutes", "0", ACCEPT_RANGE),
        ("accept_minutes", "50000", ACCEPT_RANGE),
        ("contact_hours", "inf", "The contact timeout must be a number."),
        ("contact_hours", "9000", CONTACT_RANGE),
        ("priority", "-inf", "Priority must be a number."),
    ],
)
async def test_timeouts_out_of_range_are_refused_in_the_unit_typed(
    client: Client, sessions: Any, field: str, typed: str, error: str
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    response = await client.post(
        "/console/rules/new",
        data=_rule_form(name="Odd", pool_agent=ids["ana"], **{field: typed}),
        headers={**csrf(client), **HTMX},
    )

    assert response.status_code == 422
    assert parse(response.text).one("data-error", field).text == error


async def test_trying_a_lead_shows_where_it_would_go_and_saves_nothing(
    client: Client, sessions: Any
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    brazil = await client.post(
        "/console/rules/try",
        data={"country": "BR", "source": "web"},
        headers={**csrf(client), **HTMX},
    )
    bad = await client.post(
        "/console/rules/try", data={"country": "Brazil!"}, headers={**csrf(client), **HTMX}
    )

    document = parse(brazil.text)
    assert document.one("data-chosen").text == "Ana"
    assert document.one("data-rule-name").text == "Brazil"
    assert bad.status_code == 422
    assert "country" in parse(bad.text).one("data-problem").text
    async with sessions() as session:
        from backend.pursuit.models import Lead

        assert (await session.scalars(select(Lead))).all() == []


async def test_a_managers_rules_list_holds_only_their_teams_rules(
    client: Client, sessions: Any
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])

    page = parse((await client.get("/console/rules")).text)
    mine = parse((await client.get("/console/rules/mine", headers=HTMX)).text)

    assert page.all("data-rule") == []
    assert page.one("id", "rules-table").attrs["hx-get"] == "/console/rules/mine"
    assert [row.one("data-name").text for row in mine.all("data-rule")] == ["Brazil", "Portugal"]


async def test_console_roster_import_dry_run_reports_and_stores_nothing(
    client: Client, sessions: Any
) -> None:
    ids = await _two_teams(sessions)
    await sign_in_as(client, sessions, "north@example.com", team_ids=[ids["north"]])
    content = b"name,email,team\nCaio,caio@example.com,North\nDani,dani@example.com,South\n"

    response = await client.post(
        "/console/agents/import",
        files={"file": ("roster.csv", content, "text/csv")},
        data={"dry_run": "on"},
        headers=csrf(client),
    )

    assert response.status_code == 422
    assert [li.text for li in parse(response.text).all("data-report-line")] == [
        "line 3: name one of your teams or partner companies.",
        "line 2: create Caio",
        "1 to create, 0 to update, 0 unchanged, 1 with errors: nothing was imported; "
        "fix the lines above and try again.",
    ]
