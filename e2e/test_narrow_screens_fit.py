"""On the narrowest phones, and with text enlarged, nothing makes a page scroll sideways.

A 180 CSS-pixel viewport stands for a 360-pixel phone with its text at 200%.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import Seed, created, lead_body, new_page
from e2e.pages.console import Dashboard
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

ZOOMED_PHONE = {"width": 180, "height": 370}
SMALL_PHONE = {"width": 360, "height": 740}


def test_rep_app_fits_a_zoomed_phone_with_forms_open(
    browser: Browser, api: httpx.Client, seeded: Seed
) -> None:
    long_name = "Cooperativa-Energética-Fotovoltaica-do-Interior-Paulista"
    created(api.post("/api/v1/leads", json=lead_body("e2e-2", long_name)))
    context = browser.new_context(viewport=ZOOMED_PHONE, is_mobile=True, has_touch=True)
    rep = RepApp(new_page(context))
    rep.open(seeded.rep_link)
    rep.accept(seeded.company)
    expect(rep.cards("waiting")).to_have_count(1)

    assert rep.overflow_x() <= 0
    expect(rep.open_decline(long_name)).to_be_visible()
    assert rep.overflow_x() <= 0
    expect(rep.open_log_contact(seeded.company)).to_be_visible()
    assert rep.overflow_x() <= 0
    context.close()


def test_dashboard_fits_a_small_phone_with_large_amounts(
    browser: Browser, api: httpx.Client, seeded: Seed, manager_link: str
) -> None:
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    lost = lead_body("e2e-lost", "Grande Solar", value=2_576_000, received_at=two_days_ago)
    created(api.post("/api/v1/leads", json=lost))
    context = browser.new_context(viewport=SMALL_PHONE)
    dashboard = Dashboard(new_page(context))

    dashboard.sign_in_with_link(manager_link)

    expect(dashboard.figure("lost_revenue")).to_have_text("2,576,000 BRL")
    expect(dashboard.figure_unit("lrl")).to_have_text("BRL")
    assert dashboard.clipped_figures() == []
    assert dashboard.overflow_x() <= 0
    context.close()
