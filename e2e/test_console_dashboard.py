"""A manager watches the dashboard: its figures equal the API's, and a lead accepted elsewhere
appears at once; then filters the leads, exports them and hands one to another rep."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from e2e.conftest import PHONE, Seed, created, lead_body, new_page
from e2e.pages.console import Dashboard
from e2e.pages.console_live import LeadActions, LiveDashboard
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1440, "height": 900}
LIVE_MS = 3_000  # far below the once-a-minute refresh: only the live stream can make it
FIGURES = {
    "leads": "leads",
    "pursued": "pursued",
    "lost_leads": "lost_leads",
    "unassigned": "unassigned",
    "sla_breaches": "sla_breaches",
}


def more_leads(api: httpx.Client) -> list[dict[str, object]]:
    bodies = [
        lead_body("e2e-2", "Sol Nascente", email="sol@example.org", phone="+5511980000002"),
        lead_body(
            "e2e-3", "Casa Verde", email="casa@example.org", phone="+5511980000003", source="ads"
        ),
    ]
    return [created(api.post("/api/v1/leads", json=body)) for body in bodies]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_equals_the_api_and_shows_an_accept_live(
    browser: Browser, api: httpx.Client, seeded: Seed, manager_link: str, viewport: dict[str, int]
) -> None:
    more_leads(api)
    context = browser.new_context(viewport=viewport)
    page = new_page(context)
    dashboard, live = Dashboard(page), LiveDashboard(page)
    dashboard.sign_in_with_link(manager_link)
    metrics = api.get("/api/v1/metrics/summary").json()

    for key, field in FIGURES.items():
        expect(dashboard.figure(key)).to_have_text(str(metrics[field]))
    expect(live.chart("funnel").locator("svg title").first).to_have_text("Pursuit funnel")
    assert dashboard.overflow_x() == 0
    live.connected()

    created(api.post(f"/api/v1/offers/{seeded.offer_id}/accept"))

    expect(live.live_item(seeded.lead_id, "accepted")).to_contain_text(
        "accepted by Ana Souza", timeout=LIVE_MS
    )
    expect(dashboard.lead_status(seeded.lead_id)).to_have_text("accepted", timeout=LIVE_MS)
    expect(dashboard.lead_owner(seeded.lead_id)).to_have_text("Ana Souza")
    live.screenshot(f"dashboard-{'phone' if viewport == PHONE else 'desktop'}")
    context.close()


def test_manager_filters_exports_and_reassigns(
    browser: Browser,
    phone: BrowserContext,
    api: httpx.Client,
    seeded: Seed,
    manager_link: str,
    tmp_path: Path,
) -> None:
    others = more_leads(api)
    bruno = created(
        api.post("/api/v1/agents", json={"name": "Bruno Reis", "email": "bruno@example.com"})
    )
    bruno_link = created(api.post(f"/api/v1/agents/{bruno['id']}/links"))
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = new_page(context)
    dashboard, live = Dashboard(page), LiveDashboard(page)
    dashboard.sign_in_with_link(manager_link)

    live.search("sol nasc")
    expect(live.lead_rows()).to_have_count(1)
    expect(dashboard.lead_row(str(others[0]["lead_id"]))).to_be_visible()
    saved = tmp_path / "leads.csv"
    live.export().save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["id"], r["company"], r["phone"]) for r in rows] == [
        (others[0]["lead_id"], "Sol Nascente", "'+5511980000002")
    ]

    live.search("")
    expect(live.lead_rows()).to_have_count(3)
    dashboard.open_lead(seeded.lead_id)
    actions = LeadActions(page)
    actions.reassign("Bruno Reis")
    expect(actions.done).to_contain_text("Offered to the chosen agent")
    expect(actions.steps("offered").last).to_have_text("Offered to Bruno Reis")
    live.screenshot("lead-journey")

    rep = RepApp(new_page(phone))
    rep.open(bruno_link["url"])
    expect(rep.card("pending", seeded.company)).to_have_count(1)
    context.close()
