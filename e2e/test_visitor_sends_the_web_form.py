"""A visitor on a small phone fills an inlet's web form; the inquiry becomes an offered lead."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import Seed, Server, new_page
from e2e.pages.web_form import WebForm

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 360, "height": 740}


def test_visitor_sends_the_form_on_a_small_phone(
    browser: Browser, server: Server, api: httpx.Client, seeded: Seed
) -> None:
    server.cli(
        "inlet", "create", "--kind", "form", "--slug", "contact", "--source", "web",
        "--name", "Talk to our solar team", "--country", "BR",
    )  # fmt: skip
    context = browser.new_context(viewport=SMALL_PHONE, is_mobile=True, has_touch=True)
    form = WebForm(new_page(context))
    form.open(f"{server.url}/f/contact", "Talk to our solar team")
    assert form.overflow_x() <= 0
    expect(form.trap()).not_to_be_in_viewport()

    form.fill(Your_name="Marta Quintela", Email="marta@", Phone="(11) 98888-7777")
    form.send()
    expect(form.problem()).to_contain_text("email 'marta@' is not a valid address")
    assert form.overflow_x() <= 0
    form.fill(Email="marta@example.org")
    form.page.get_by_label("How can we help?").fill("Painéis para a fazenda")
    form.send()

    expect(form.thanks()).to_have_text("Your message reached us; someone will be in touch soon.")
    assert form.overflow_x() <= 0
    leads = api.get("/api/v1/leads").json()["items"]
    marta = api.get(f"/api/v1/leads/{leads[0]['id']}").json()
    assert marta["status"] == "offered"
    assert marta["offers"][0]["agent_id"] == seeded.agent_id
    assert marta["inquiries"][0]["payload"]["message"] == "Painéis para a fazenda"
    context.close()
