"""A manager connects HubSpot from a phone; with the portal down, changes wait in the outbox."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import Server, created, free_port, lead_body, new_page
from e2e.pages.console import Dashboard
from e2e.pages.crm import CrmPage

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}


def test_manager_connects_a_crm_that_is_down_and_nothing_is_lost(
    browser: Browser, server: Server, api: httpx.Client, manager_link: str
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    context = browser.new_context(viewport=SMALL_PHONE)
    page = new_page(context)
    Dashboard(page).sign_in_with_link(manager_link)
    crm = CrmPage(page)
    crm.open(server.url)

    crm.connect_hubspot("EU portal", "pat-e2e", down, sync_all=True)

    expect(crm.message()).to_have_text("EU portal is connected. Test it, then review its mapping.")
    expect(crm.test_connection("EU portal")).to_have_text(
        "HubSpot could not be reached: ConnectError."
    )
    assert crm.overflow_x() <= 0

    created(api.post("/api/v1/leads", json=lead_body("e2e-crm", "Lima Energia")))
    row = crm.outbox_rows().first
    for _ in range(20):  # the worker's first try fails within a few seconds
        crm.open(server.url)
        if "could not be reached" in (crm.outbox_rows().first.text_content() or ""):
            break
        page.wait_for_timeout(500)
    expect(row.locator("[data-error]")).to_have_text("HubSpot could not be reached: ConnectError.")
    expect(row).to_have_attribute("data-state", "pending")
    assert crm.overflow_x() <= 0
    context.close()
