"""The console's leads: filters, word search, the CSV export, scope, and a manager's actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.console import controllers
from backend.console.scope import Scope
from tests.console.html import Element
from tests.console.test_console import HTMX, figures, page, sign_in
from tests.factories import Client, link_for, make_agent, make_rule, post_lead


def ids(document: Element) -> list[str]:
    return [row.attrs["data-lead"] for row in document.all("data-lead", tag="tr")]


def person(n: int, **fields: Any) -> dict[str, Any]:
    """A distinct prospect, so no two test leads are the same person."""
    return {"email": f"p{n}@example.org", "phone": f"+55 11 98000-00{n:02d}", **fields}


@pytest.fixture
async def teams(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Team North (Ana) gets Brazil, team South (Bruno) Portugal; one lead each, one unassigned."""
    north = (await client.post("/api/v1/teams", json={"name": "North"}, headers=auth)).json()
    south = (await client.post("/api/v1/teams", json={"name": "South"}, headers=auth)).json()
    ana = await make_agent(client, auth, "Ana", team_id=north["id"])
    bruno = await make_agent(client, auth, "Bruno", team_id=south["id"])
    await make_rule(client, auth, "Brazil", [ana], conditions={"country": ["BR"]}, priority=1)
    await make_rule(client, auth, "Portugal", [bruno], conditions={"country": ["PT"]}, priority=2)
    br = await post_lead(
        client, auth, "T1", **person(1, company="José Solar", first_name="Zoé"), value=100
    )
    pt = await post_lead(
        client, auth, "T2", **person(2, company="Lisboa Luz", country="PT"), value=200
    )
    nowhere = await post_lead(client, auth, "T3", **person(3, company="Nobody", country="US"))
    return {
        "north": north["id"],
        "south": south["id"],
        "ana": ana,
        "bruno": bruno,
        "br": br["lead_id"],
        "br_offer": br["offer"]["id"],
        "pt": pt["lead_id"],
        "us": nowhere["lead_id"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=jose", ["br"]),
        ("q=Zo%C3%A9", ["br"]),
        ("q=lisb+luz", ["pt"]),
        ("q=p3%40example", ["us"]),
        ("q=%2B55+11+98000-0002", ["pt"]),
        ("q=11980000001", ["br"]),
        ("q=nothing", []),
        ("status=unassigned", ["us"]),
        ("source=web&product=solar", ["us", "pt", "br"]),
        ("region=XX", []),
    ],
)
async def test_leads_filter_and_search(
    client: Client, sessions: Any, teams: dict[str, str], query: str, expected: list[str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads?{query}", headers=HTMX)

    assert ids(document) == [teams[key] for key in expected]


async def test_leads_owner_team_and_at_risk(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    link = await link_for(client, auth, teams["ana"])
    await client.post(f"/api/v1/offers/{teams['br_offer']}/accept", headers=link)
    await sign_in(client, sessions)

    owned = await page(client, f"/console/leads?owner={teams['ana']}", headers=HTMX)
    south = await page(client, f"/console/leads?team_id={teams['south']}", headers=HTMX)
    at_risk = await page(client, "/console/leads?at_risk=1", headers=HTMX)

    assert ids(owned) == [teams["br"]]
    assert ids(south) == [teams["pt"]]
    assert ids(at_risk) == [teams["br"]]  # accepted and not contacted; Bruno's offer is fresh


async def test_leads_unknown_status_is_a_message(
    client: Client, sessions: Any, teams: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console/leads?status=maybe", headers=HTMX)

    assert document.one("data-message").text.startswith("Status 'maybe' is not one of routing")
    assert len(ids(document)) == 3


@pytest.mark.parametrize("typed", ["*", "%3F", "%25_"])
async def test_leads_search_without_a_word_is_a_message(
    client: Client, sessions: Any, teams: dict[str, str], typed: str
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads?q={typed}", headers=HTMX)

    assert document.one("data-message").text.startswith(
        "Search for a word of a name or company, or part of an email or phone: "
    )


async def test_leads_csv_escapes_formulas_exactly(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    await post_lead(
        client,
        auth,
        "X1",
        first_name='=HYPERLINK("http://x")',
        last_name="@SUM(A1)",
        company="-2+3",
        email="x1@example.org",
        phone="+55 11 98000-0099",
        country="US",
        value=12.5,
        received_at="2026-01-02T03:04:05Z",
    )
    await sign_in(client, sessions)

    response = await client.get("/console/leads.csv?q=x1")
    lead_id = response.text.splitlines()[1].split(",")[0]

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content == (
        b"id,received_at,status,owner,company,first_name,last_name,email,phone,source,"
        b"campaign,product,country,region,value,currency\r\n"
        + lead_id.encode()
        + b",2026-01-02T03:04:05+00:00,unassigned,,'-2+3,"
        b'"\'=HYPERLINK(""http://x"")",\'@SUM(A1),x1@example.org,\'+5511980000099,web,,'
        b"solar,US,SP,12.5,BRL\r\n"
    )


async def test_leads_csv_follows_the_filters_and_every_page(
    client: Client, sessions: Any, teams: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.console.leads.EXPORT_BATCH", 1)
    await sign_in(client, sessions)

    everything = await client.get("/console/leads.csv")
    south = await client.get(f"/console/leads.csv?team_id={teams['south']}")

    assert [line.split(",")[0] for line in everything.text.splitlines()[1:]] == [
        teams["us"],
        teams["pt"],
        teams["br"],
    ]
    assert [line.split(",")[0] for line in south.text.splitlines()[1:]] == [teams["pt"]]


def as_manager(monkeypatch: pytest.MonkeyPatch, *team_ids: str) -> None:
    """A manager of these teams only, as the sign-in stores it in the session."""
    scope = Scope(team_ids=frozenset(team_ids), partner_ids=frozenset())
    monkeypatch.setattr(controllers, "scope_from_session", lambda session: scope)


async def test_manager_sees_only_their_teams(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    teams: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sign_in(client, sessions)
    as_manager(monkeypatch, teams["north"])

    dashboard = await page(client, "/console")
    other = await client.get(f"/console/leads/{teams['pt']}")
    own = await client.get(f"/console/leads/{teams['br']}")
    export = await client.get("/console/leads.csv")
    api = await client.get(f"/api/v1/metrics/summary?team={teams['north']}", headers=auth)

    assert ids(dashboard) == [teams["br"]]  # the US lead met no rule: admins only
    assert figures(dashboard)["leads"] == "1" == str(api.json()["leads"])
    assert figures(dashboard)["unassigned"] == "0"
    assert (other.status_code, own.status_code) == (404, 200)
    assert [line.split(",")[0] for line in export.text.splitlines()[1:]] == [teams["br"]]


async def test_unassigned_lead_belongs_to_the_team_of_the_rules_tried(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    teams: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await client.patch(f"/api/v1/agents/{teams['ana']}", json={"active": False}, headers=auth)
    stuck = await post_lead(client, auth, "T4", **person(4, company="Stuck"))
    await sign_in(client, sessions)
    as_manager(monkeypatch, teams["north"])

    north = await page(client, "/console/leads?status=unassigned", headers=HTMX)
    as_manager(monkeypatch, teams["south"])
    south = await page(client, "/console/leads?status=unassigned", headers=HTMX)

    assert ids(north) == [stuck["lead_id"]]
    assert ids(south) == []


async def csrf(client: Client) -> dict[str, str]:
    await client.get("/console")
    return {"_csrf_token": client.cookies["pursuit_csrf"]}


async def test_reassign_withdraws_the_offer_and_offers_the_chosen_agent(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    form = await csrf(client)

    response = await client.post(
        f"/console/leads/{teams['br']}/reassign", data={**form, "agent_id": teams["bruno"]}
    )
    lead = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()
    shown = await page(client, response.headers["location"])

    assert response.status_code == 303
    assert [(o["agent_id"], o["status"]) for o in lead["offers"]] == [
        (teams["ana"], "withdrawn"),
        (teams["bruno"], "pending"),
    ]
    assert shown.one("data-done").text.startswith("Offered to the chosen agent")
    offered = [s.one("class", "step-text").text for s in shown.all("data-step", "offered")]
    assert offered == ["Offered to Ana", "Offered to Bruno"]


async def test_reassign_refuses_an_agent_outside_the_scope(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    teams: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sign_in(client, sessions)
    form = await csrf(client)
    as_manager(monkeypatch, teams["north"])

    response = await client.post(
        f"/console/leads/{teams['br']}/reassign", data={**form, "agent_id": teams["bruno"]}
    )
    forged = await client.post(
        f"/console/leads/{teams['br']}/reassign", data={"agent_id": teams["ana"]}
    )
    lead = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()

    assert response.status_code == 422
    assert Element and "Choose an active agent you manage" in response.text
    assert forged.status_code == 403
    assert [o["status"] for o in lead["offers"]] == ["pending"]


async def test_send_back_routes_again_and_spam_leaves_the_figures(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    link = await link_for(client, auth, teams["ana"])
    await client.post(f"/api/v1/offers/{teams['br_offer']}/accept", headers=link)
    await sign_in(client, sessions)
    form = await csrf(client)

    back = await client.post(f"/console/leads/{teams['br']}/reroute", data=form)
    rerouted = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()
    spam = await client.post(f"/console/leads/{teams['us']}/spam", data=form)
    again = await client.post(f"/console/leads/{teams['us']}/spam", data=form)
    api = (await client.get("/api/v1/metrics/summary", headers=auth)).json()
    listed = await page(client, "/console/leads?status=spam", headers=HTMX)

    assert (back.status_code, spam.status_code, again.status_code) == (303, 303, 409)
    assert [o["status"] for o in rerouted["offers"]] == ["withdrawn", "pending"]
    assert rerouted["status"] == "offered"
    assert [e["type"] for e in rerouted["events"] if e["type"] in ("sent_back", "withdrawn")] == [
        "withdrawn",
        "sent_back",
    ]
    assert "already closed (spam)" in again.text
    assert (api["leads"], api["unassigned"]) == (2, 0)
    assert ids(listed) == [teams["us"]]


async def test_split_button_only_on_a_lead_with_several_inquiries(
    client: Client, sessions: Any, teams: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads/{teams['br']}")

    assert document.all("data-split") == []


async def test_split_moves_a_coalesced_inquiry_to_a_lead_of_its_own(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    again = await post_lead(client, auth, "T9", email="P1@example.org", first_name="Zoé")
    await sign_in(client, sessions)
    form = await csrf(client)
    shown = await page(client, f"/console/leads/{teams['br']}")
    second = again["inquiry_id"]

    response = await client.post(
        f"/console/leads/{teams['br']}/inquiries/{second}/split", data=form
    )
    kept = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()
    apart = (await client.get(f"/api/v1/inquiries/{second}", headers=auth)).json()

    assert (again["coalesced"], again["lead_id"]) == (True, teams["br"])
    assert len(shown.all("data-split")) == 2
    assert response.status_code == 303
    assert [i["id"] for i in kept["inquiries"]] == [
        i["id"] for i in kept["inquiries"] if i["id"] != second
    ]
    assert len(kept["inquiries"]) == 1
    assert apart["lead_id"] not in (None, teams["br"])
    assert [e["type"] for e in kept["events"] if e["type"] == "inquiry_split"] == ["inquiry_split"]


async def test_merge_by_pasted_address_moves_the_other_leads_inquiries_here(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    form = await csrf(client)
    shown = await page(client, f"/console/leads/{teams['br']}")
    pasted = f"http://127.0.0.1:8000/console/leads/{teams['pt']}?done=split"

    response = await client.post(
        f"/console/leads/{teams['br']}/merge", data={**form, "other_lead": pasted}
    )
    kept = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()
    ended = (await client.get(f"/api/v1/leads/{teams['pt']}", headers=auth)).json()

    assert len(shown.all("data-merge")) == 1
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"/console/leads/{teams['br']}?done=merged",
    )
    assert len(kept["inquiries"]) == 2
    assert (ended["status"], ended["inquiries"]) == ("merged", [])
    [merged] = [e for e in kept["events"] if e["type"] == "lead_merged"]
    assert merged["actor"].startswith("user:")
    assert merged["data"]["from_lead_id"] == teams["pt"]


@pytest.mark.parametrize(
    ("other", "status", "problem"),
    [
        ("", 422, "Paste the id or the address of the lead to merge into this one."),
        ("nope", 404, "Lead nope does not exist."),
        ("br", 422, "A lead cannot be merged into itself."),
    ],
)
async def test_merge_refused_says_why_and_changes_nothing(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    teams: dict[str, str],
    other: str,
    status: int,
    problem: str,
) -> None:
    await sign_in(client, sessions)
    form = await csrf(client)

    response = await client.post(
        f"/console/leads/{teams['br']}/merge",
        data={**form, "other_lead": teams.get(other, other)},
    )
    kept = (await client.get(f"/api/v1/leads/{teams['br']}", headers=auth)).json()

    assert response.status_code == status
    assert problem in response.text
    assert (kept["status"], len(kept["inquiries"])) == ("offered", 1)


async def test_lead_page_journey_in_order(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    link = await link_for(client, auth, teams["ana"])
    await client.post(
        f"/api/v1/offers/{teams['br_offer']}/decline",
        json={"reason": "no_capacity"},
        headers=link,
    )
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads/{teams['br']}")
    steps = [
        (s.attrs["data-step"], s.one("class", "step-text").text) for s in document.all("data-step")
    ]

    assert [kind for kind, _ in steps if kind != "notified"][:6] == [
        "inquiry",
        "received",
        "decision",
        "offered",
        "declined",
        "decision",
    ]
    assert ("offered", "Offered to Ana") in steps
    assert ("declined", "Declined by Ana") in steps


async def test_dashboard_figures_match_the_api_for_a_filter(
    client: Client, auth: dict[str, str], sessions: Any, teams: dict[str, str]
) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    await sign_in(client, sessions)

    document = await page(client, f"/console?since={since}&region=SP&product=solar")
    api = await client.get(
        f"/api/v1/metrics/summary?since={since}T00:00:00Z&region=SP&product=solar", headers=auth
    )

    assert api.status_code == 200
    assert figures(document)["leads"] == str(api.json()["leads"]) == "3"
    assert figures(document)["sla_breaches"] == str(api.json()["sla_breaches"]) == "0"


async def test_chart_csv_and_table_hold_the_same_numbers(
    client: Client, sessions: Any, teams: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    response = await client.get("/console/charts/funnel?format=csv")
    fragment = await page(client, "/console/charts", headers=HTMX)
    missing = await client.get("/console/charts/pie")
    funnel = fragment.one("data-chart", "funnel")

    assert response.headers["content-disposition"] == 'attachment; filename="funnel.csv"'
    assert response.content == (
        b"Stage,Leads,Share of received\r\nreceived,3,100.0%\r\noffered,2,66.7%\r\n"
        b"accepted,0,0.0%\r\ncontacted,0,0.0%\r\nwon,0,0.0%\r\n"
    )
    assert [c.attrs["data-chart"] for c in fragment.all("data-chart")] == [
        "over-time",
        "funnel",
        "declines",
        "accept-times",
        "lrl-source",
        "lrl-partner",
        "scores",
    ]
    assert [td.text for td in funnel.tags("td")][:3] == ["received", "3", "100.0%"]
    assert missing.status_code == 404


async def test_leads_search_checks_common_words_row_by_row_alike(
    client: Client, sessions: Any, teams: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.console.leads.RARE", 1)  # every word counts as common
    await sign_in(client, sessions)

    found = await page(client, "/console/leads?q=lisb+luz", headers=HTMX)
    phone = await page(client, "/console/leads?q=11980000001", headers=HTMX)

    assert ids(found) == [teams["pt"]]
    assert ids(phone) == [teams["br"]]
