"""A rep accepts an offer on a phone and logs the call; the manager sees it arrive, live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from e2e.conftest import PHONE, Seed, new_page
from e2e.pages.console import Dashboard
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

LIVE = 12_000  # the dashboard polls every 5 s


def test_rep_accepts_logs_a_call_and_manager_sees_it(
    browser: Browser, phone: BrowserContext, seeded: Seed, manager_link: str
) -> None:
    manager = browser.new_context(viewport=PHONE)
    dashboard = Dashboard(new_page(manager))
    dashboard.sign_in_with_link(manager_link)
    expect(dashboard.figure("pursued")).to_have_text("0")
    expect(dashboard.lead_status(seeded.lead_id)).to_have_text("offered")

    rep = RepApp(new_page(phone))
    rep.open(seeded.rep_link)
    expect(rep.agent_name).to_have_text("Ana Souza")
    expect(rep.cards("pending")).to_have_count(1)
    expect(rep.countdown(seeded.company)).to_have_text(re.compile(r"^1[34]:\d\d left to answer$"))
    rep.accept(seeded.company)
    expect(rep.message).to_have_text("Accepted: Lima Energia is yours. Get in touch now.")
    expect(rep.cards("pending")).to_have_count(0)
    call = rep.card("waiting", seeded.company).get_by_role("link", name="Call +5511991234567")
    expect(call).to_have_attribute("href", "tel:+5511991234567")
    rep.log_contact(seeded.company, kind="Call", outcome="Connected")
    expect(rep.message).to_have_text("Logged: Call, connected.")
    expect(rep.cards("waiting")).to_have_count(0)
    expect(rep.cards("contacted")).to_have_count(1)

    expect(dashboard.figure("pursued")).to_have_text("1", timeout=LIVE)
    expect(dashboard.lead_status(seeded.lead_id)).to_have_text("contacted", timeout=LIVE)
    expect(dashboard.lead_owner(seeded.lead_id)).to_have_text("Ana Souza")
    journey = dashboard.open_lead(seeded.lead_id)
    expect(journey.title).to_have_text(seeded.company)
    expect(journey.status).to_have_text("contacted")
    expect(journey.explanations).to_have_count(1)
    expect(journey.candidate(seeded.agent_id).locator("[data-eligible]")).to_have_text("yes")
    assert journey.offer_statuses() == ["accepted"]
    assert journey.activities() == ["call connected"]
    assert [event for event in journey.events() if event != "notified"] == [
        "received",
        "offered",
        "accepted",
        "activity",
        "contacted",
    ]
    manager.close()


def test_rep_sees_why_a_stale_offer_cannot_be_accepted(phone: BrowserContext, seeded: Seed) -> None:
    first, stale = RepApp(new_page(phone)), RepApp(new_page(phone))
    first.open(seeded.rep_link)
    stale.open(seeded.rep_link)

    first.accept(seeded.company)
    expect(first.message).to_have_text("Accepted: Lima Energia is yours. Get in touch now.")
    stale.accept(seeded.company)

    expect(stale.message).to_have_text("This offer is already accepted.")
    expect(stale.cards("pending")).to_have_count(0)
    expect(stale.cards("waiting")).to_have_count(1)
