"""The manager console over HTTP: signing in, the dashboard's figures and lead list, a journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from backend.access.service import create_sign_in_link, create_user
from backend.console import service as console_service
from tests.console.html import Element, parse
from tests.factories import Client, link_for, make_agent, make_rule, post_lead

HTMX = {"HX-Request": "true"}


async def sign_in(client: Client, sessions: Any, email: str = "m@example.com") -> None:
    async with sessions() as session:
        user = await create_user(session, email, "manager")
        token = await create_sign_in_link(session, user.id)
    await client.get(f"/console/sign-in/{token}")
    response = await client.post(
        f"/console/sign-in/{token}", headers={"x-csrftoken": client.cookies["pursuit_csrf"]}
    )
    assert response.status_code == 303, response.text


async def page(client: Client, url: str, **kwargs: Any) -> Element:
    response = await client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    return parse(response.text)


def figures(document: Element) -> dict[str, str]:
    return {
        card.attrs["data-figure"]: card.one("data-value").text
        for card in document.all("data-figure")
    }


def lead_rows(document: Element) -> list[tuple[str, str, str]]:
    rows = document.all("data-lead", tag="tr")
    return [
        (row.attrs["data-lead"], row.one("data-status").text, row.one("data-owner").text)
        for row in rows
    ]


@pytest.fixture
async def known_leads(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Four leads: contacted ten minutes after arrival, offered, lost two days ago, unassigned."""
    ana = await make_agent(client, auth, "Ana")
    await make_rule(
        client, auth, "Brazil", [ana], conditions={"country": ["BR"]}, contact_timeout_s=3600
    )
    link = await link_for(client, auth, ana)
    now = datetime.now(UTC)

    contacted = await post_lead(
        client, auth, "M1", value=1000, received_at=(now - timedelta(minutes=10)).isoformat()
    )
    offered = await post_lead(client, auth, "M2", value=2000)
    lost = await post_lead(
        client, auth, "M3", value=500, received_at=(now - timedelta(days=2)).isoformat()
    )
    unassigned = await post_lead(client, auth, "M4", value=300, country="US")
    await client.post(f"/api/v1/offers/{contacted['offer']['id']}/accept", headers=link)
    await client.post(
        f"/api/v1/leads/{contacted['lead_id']}/activities",
        json={"kind": "call", "outcome": "connected"},
        headers=link,
    )
    return {
        "ana": ana,
        "contacted": contacted["lead_id"],
        "offered": offered["lead_id"],
        "lost": lost["lead_id"],
        "unassigned": unassigned["lead_id"],
    }


@pytest.mark.parametrize(
    "path",
    [
        "/console",
        "/console/figures",
        "/console/leads",
        "/console/leads/abc",
        "/console/no/such/page",
    ],
)
async def test_console_signed_out_redirects_to_login(client: Client, path: str) -> None:
    response = await client.get(path)
    swap = await client.get(path, headers=HTMX)

    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    assert (swap.status_code, swap.headers["hx-redirect"]) == (401, "/console/login")


async def test_console_login_checks_password_and_csrf(client: Client, sessions: Any) -> None:
    async with sessions() as session:
        await create_user(session, "boss@example.com", "admin", password="correct horse")
    await client.get("/console/login")
    csrf = client.cookies["pursuit_csrf"]

    wrong = await client.post(
        "/console/login",
        data={"email": "boss@example.com", "password": "nope", "_csrf_token": csrf},
    )
    forged = await client.post(
        "/console/login", data={"email": "boss@example.com", "password": "correct horse"}
    )
    right = await client.post(
        "/console/login",
        data={"email": "boss@example.com", "password": "correct horse", "_csrf_token": csrf},
    )

    assert wrong.status_code == 401
    assert parse(wrong.text).one("data-message").text == "Unknown email or wrong password."
    assert forged.status_code == 403
    assert (right.status_code, right.headers["location"]) == (303, "/console")


async def test_console_logout_ends_the_session(client: Client, sessions: Any) -> None:
    await sign_in(client, sessions)
    await client.get("/console")

    response = await client.post(
        "/console/logout", headers={"x-csrftoken": client.cookies["pursuit_csrf"]}
    )
    after = await client.get("/console")

    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    assert (after.status_code, after.headers["location"]) == (303, "/console/login")


async def test_dashboard_shows_exact_figures_and_leads(
    client: Client, sessions: Any, known_leads: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console")

    assert figures(document) == {
        "leads": "4",
        "pursued": "1",
        "pursuit_rate": "25.0%",
        "lost_leads": "1",
        "lost_revenue": "500.00 BRL",
        "lrl": "125.00 BRL",
        "accept_p50": "10 min",
        "accept_p90": "10 min",
        "contact_p50": "10 min",
        "contact_p90": "10 min",
        "sla_breaches": "1",
        "unassigned": "1",
    }
    assert lead_rows(document) == [
        (known_leads["unassigned"], "unassigned", "—"),
        (known_leads["offered"], "offered", "—"),
        (known_leads["contacted"], "contacted", "Ana"),
        (known_leads["lost"], "offered", "—"),
    ]


async def test_dashboard_period_limits_figures_and_leads(
    client: Client, sessions: Any, known_leads: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    document = await page(client, f"/console?since={since}")

    assert {k: v for k, v in figures(document).items() if k in ("leads", "lost_leads", "lrl")} == {
        "leads": "3",
        "lost_leads": "0",
        "lrl": "0.00 BRL",
    }
    assert [row[0] for row in lead_rows(document)] == [
        known_leads["unassigned"],
        known_leads["offered"],
        known_leads["contacted"],
    ]


async def test_dashboard_bad_period_falls_back_to_all_time(client: Client, sessions: Any) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console?since=2026-13-01")

    assert document.one("data-message").text == (
        "since '2026-13-01' is not a date written as YYYY-MM-DD."
    )
    assert figures(document)["leads"] == "0"


async def test_figures_keep_other_currencies_beside_the_total(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    old = "2020-01-01T12:00:00Z"
    await post_lead(client, auth, "C1", value=100, currency="BRL", received_at=old)
    await post_lead(client, auth, "C2", value=100, currency="EUR", received_at=old)
    await post_lead(client, auth, "C3", value=50, currency="BRL", received_at=old)
    await sign_in(client, sessions)

    document = await page(client, "/console")
    lost = document.one("data-figure", "lost_revenue")

    assert figures(document)["lost_revenue"] == "150.00 BRL"
    assert figures(document)["lrl"] == "50.00 BRL"
    assert lost.one("class", "note").text == "plus EUR 100.00 without an exchange rate"


@pytest.mark.parametrize("path", ["/console", "/console/figures", "/console/leads"])
@pytest.mark.parametrize("query", ["until=9999-12-31", "since=9999-01-01"])
async def test_console_date_out_of_range_is_a_message(
    client: Client, sessions: Any, path: str, query: str
) -> None:
    await sign_in(client, sessions)

    response = await client.get(f"{path}?{query}", headers=HTMX)

    assert response.status_code == 200
    assert parse(response.text).one("data-message").text.startswith("That date is out of range")


@pytest.mark.parametrize("path", ["/console", "/console/leads"])
async def test_console_cursor_without_time_zone_is_not_an_error(
    client: Client, sessions: Any, path: str
) -> None:
    await sign_in(client, sessions)

    # "2018-05-01~abc": a day with no time, no time zone and an unknown lead id
    document = await page(client, f"{path}?cursor=MjAxOC0wNS0wMX5hYmM", headers=HTMX)

    assert document.one("id", "leads").tag == "section"


@pytest.mark.parametrize(
    "cursor",
    [
        "OTk5OS0xMi0zMVQyMzowMDowMC0wNTowMH5hYmM",  # past the last instant once in UTC
        "not-a-cursor",
    ],
)
@pytest.mark.parametrize("path", ["/console", "/console/leads"])
async def test_console_bad_cursor_shows_newest_leads(
    client: Client, sessions: Any, known_leads: dict[str, str], path: str, cursor: str
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"{path}?cursor={cursor}", headers=HTMX)

    assert document.one("data-message").text == (
        "That page link is no longer valid. Showing the newest leads."
    )
    assert lead_rows(document)[0][0] == known_leads["unassigned"]


async def test_figures_fragment_refreshes_on_live_events(
    client: Client, sessions: Any, known_leads: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    response = await client.get("/console/figures?since=2020-01-01", headers=HTMX)
    section = parse(response.text).one("id", "figures")

    assert response.text.lstrip().startswith('<section id="figures"')
    assert (section.attrs["hx-get"], section.attrs["hx-trigger"]) == (
        "/console/figures?since=2020-01-01",
        "sse:lead delay:300ms, every 60s",
    )
    assert figures(section)["pursued"] == "1"


async def test_leads_fragment_filters_and_pages(
    client: Client, sessions: Any, known_leads: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, sessions)
    monkeypatch.setattr(console_service, "PAGE_SIZE", 2)

    filtered = await page(client, "/console/leads?status=unassigned", headers=HTMX)
    first = await page(client, "/console/leads", headers=HTMX)
    next_url = [a.attrs["hx-get"] for a in first.tags("a") if a.text == "Next page"]
    second = await page(client, next_url[0], headers=HTMX)

    assert [row[0] for row in lead_rows(filtered)] == [known_leads["unassigned"]]
    assert [row[0] for row in lead_rows(first)] == [
        known_leads["unassigned"],
        known_leads["offered"],
    ]
    assert [row[0] for row in lead_rows(second)] == [known_leads["contacted"], known_leads["lost"]]
    assert [a.text for a in second.tags("a") if a.attrs.get("hx-get")] == ["Newest"]


async def test_dashboard_keeps_filter_and_page_in_the_address(
    client: Client, sessions: Any, known_leads: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, sessions)
    monkeypatch.setattr(console_service, "PAGE_SIZE", 1)

    first = await page(client, "/console?status=offered")
    link = next(a for a in first.tags("a") if a.text == "Next page")
    second = await page(client, link.attrs["hx-push-url"])
    status_form = next(f for f in first.tags("form") if f.attrs.get("hx-select") == "#leads")

    assert (status_form.attrs["hx-get"], status_form.attrs["hx-push-url"]) == ("/console", "true")
    assert link.attrs["hx-push-url"] == link.attrs["href"]
    assert link.attrs["href"].startswith("/console?status=offered&cursor=")
    assert [row[0] for row in lead_rows(first)] == [known_leads["offered"]]
    assert [row[0] for row in lead_rows(second)] == [known_leads["lost"]]
    assert second.one("id", "status-filter").one("selected").attrs["value"] == "offered"


async def test_lead_page_explains_decisions_and_candidates(
    client: Client, auth: dict[str, str], sessions: Any, app: Litestar
) -> None:
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Brazil", [ana, bruno], strategy="round_robin")
    created = await post_lead(client, auth, "J1")
    first_agent = created["offer"]["agent_id"]
    link = await link_for(client, auth, first_agent)
    await client.post(
        f"/api/v1/offers/{created['offer']['id']}/decline",
        json={"reason": "wrong_territory", "note": "Not my area"},
        headers=link,
    )
    await app.state.notifier.drain()  # notifications add their own events to the journey
    api = (await client.get(f"/api/v1/leads/{created['lead_id']}", headers=auth)).json()
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads/{created['lead_id']}")
    decisions = document.all("data-decision")
    rerouted = decisions[1].all("data-candidate", tag="tr")

    assert [d.one("data-explanation").text for d in decisions] == [
        d["explanation"] for d in api["decisions"]
    ]
    assert [
        (row.tags("td")[0].text, row.one("data-eligible").text, row.one("data-reasons").text)
        for row in rerouted
    ] == [
        (
            c["name"],
            "yes" if c["eligible"] else "no",
            "; ".join(c["reasons"]) or f"rank {c['rank']}",
        )
        for c in api["decisions"][1]["candidates"]
    ]
    assert decisions[1].one("data-candidate", first_agent).one("data-reasons").text == (
        "declined this lead before"
    )
    assert [row.tags("td")[5].text for row in document.all("data-offer", tag="tr")] == [
        "Wrong territory",
        "—",
    ]
    assert [e.attrs["data-event"] for e in document.all("data-event")] == [
        e["type"] for e in api["events"]
    ]


async def test_lead_page_shows_the_street_address_as_written(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    created = await post_lead(client, auth, "A1", address="Rua Augusta, 1500 - apto 42")
    await sign_in(client, sessions)

    document = await page(client, f"/console/leads/{created['lead_id']}")

    assert document.one("data-field", "address").text == "Rua Augusta, 1500 - apto 42"


async def test_lead_page_unknown_lead_is_404(client: Client, sessions: Any) -> None:
    await sign_in(client, sessions)

    response = await client.get("/console/leads/nope")

    assert response.status_code == 404
    assert parse(response.text).one("data-message").text == "Lead nope does not exist."


async def test_console_pages_name_an_icon(client: Client) -> None:
    document = await page(client, "/console/login")

    icon = next(link for link in document.tags("link") if link.attrs.get("rel") == "icon")
    response = await client.get(icon.attrs["href"])

    assert (response.status_code, response.headers["content-type"]) == (200, "image/png")


async def test_landing_links_to_console_and_rep_app(client: Client) -> None:
    document = await page(client, "/")

    hero = document.tags("section")[0]
    assert [a.attrs["href"] for a in hero.tags("a")] == ["/console", "/app"]


async def test_leads_list_opened_in_a_browser_tab_goes_to_the_whole_page(
    client: Client, sessions: Any
) -> None:
    await sign_in(client, sessions)

    filtered = await client.get("/console/leads?status=won&q=rita")
    bare = await client.get("/console/leads")

    assert (filtered.status_code, filtered.headers["location"]) == (
        302,
        "/console/?status=won&q=rita#leads",
    )
    assert bare.headers["location"] == "/console/#leads"
