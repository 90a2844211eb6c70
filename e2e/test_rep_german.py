"""A German-speaking rep reads the app in German, with euro amounts written the German way,
and accepting there accepts the offer."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import PHONE, Server, created, lead_body, new_page
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

NBSP = "\xa0"


def test_german_rep_sees_german_words_and_euros_and_accepts(
    browser: Browser, server: Server, api: httpx.Client
) -> None:
    agent = created(
        api.post(
            "/api/v1/agents",
            json={"name": "Jonas Weber", "languages": ["de"], "timezone": "Europe/Berlin"},
        )
    )
    created(api.post("/api/v1/rules", json={"name": "Alles", "pool": {"agent_ids": [agent["id"]]}}))
    link = created(api.post(f"/api/v1/agents/{agent['id']}/links"))["url"]
    body = lead_body("de-1", "Sonnenhof GmbH", country="DE", region="BY", language="de")
    answer = created(api.post("/api/v1/leads", json={**body, "currency": "EUR"}))
    context = browser.new_context(viewport=PHONE, locale="en-US")
    rep = RepApp(new_page(context))

    rep.open(link, heading="Ihre Leads")
    card = rep.card("pending", "Sonnenhof GmbH")
    expect(card.locator("[data-value]")).to_have_text(f"12.000,00{NBSP}€")
    expect(rep.lane("pending").get_by_role("heading", level=2)).to_have_text("Neue Angebote 1")
    expect(card.get_by_role("link", name="Auf einer Karte zeigen")).to_be_visible()
    card.get_by_role("button", name="Annehmen").click()
    expect(rep.message).to_have_text(
        "Angenommen: Sonnenhof GmbH gehört Ihnen. Melden Sie sich jetzt."
    )
    expect(rep.card("waiting", "Sonnenhof GmbH").locator("summary")).to_have_text(
        "Kontakt erfassen"
    )
    lead = api.get(f"/api/v1/leads/{answer['lead_id']}").json()
    context.close()

    assert [(o["id"], o["status"]) for o in lead["offers"]] == [(answer["offer"]["id"], "accepted")]
    assert lead["status"] == "accepted"


def test_browser_language_chooses_the_words_of_a_page_without_a_rep(
    browser: Browser, server: Server
) -> None:
    context = browser.new_context(viewport=PHONE, locale="pt-BR")
    page = new_page(context)

    page.goto(f"{server.url}/r/pl_unknown")
    heading = page.get_by_role("heading", level=1).inner_text()
    lang = page.evaluate("document.documentElement.lang")
    context.close()

    assert (heading, lang) == ("Link inválido", "pt-BR")
