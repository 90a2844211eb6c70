"""A rep declines while the phone is offline; back online, the decline lands exactly once."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.conftest import Seed, new_page
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

WORKER_ACTIVE = "navigator.serviceWorker.ready.then(r => r.active.state === 'activated')"
QUEUED = "Saved on this phone: it is sent as soon as you are back online."


def test_decline_given_offline_is_sent_once_when_back_online(
    phone: BrowserContext, api: httpx.Client, seeded: Seed
) -> None:
    rep = RepApp(new_page(phone))
    rep.open(seeded.rep_link)
    rep.page.wait_for_function(WORKER_ACTIVE)

    phone.set_offline(True)
    expect(rep.connection).to_be_visible()
    rep.decline(seeded.company, "Not a fit", note="Only residential roofs")
    card = rep.card("pending", seeded.company)
    expect(card.locator("[data-queued-note]")).to_have_text(QUEUED)
    [kept] = rep.outbox()
    while_offline = api.get(f"/api/v1/leads/{seeded.lead_id}").json()

    phone.set_offline(False)
    expect(rep.outbox_status).to_have_text("Sent: your answer reached Pursuit.")
    expect(rep.cards("pending")).to_have_count(0)
    replayed = rep.resend(kept)
    lead = api.get(f"/api/v1/leads/{seeded.lead_id}").json()

    assert (kept["kind"], kept["body"]) == (
        "decline",
        {"reason": "not_a_fit", "note": "Only residential roofs"},
    )
    assert [o["status"] for o in while_offline["offers"]] == ["pending"]
    assert replayed == 200
    assert rep.outbox() == []
    assert [(o["status"], o["decline_reason"]) for o in lead["offers"]] == [
        ("declined", "not_a_fit")
    ]
    assert [e["type"] for e in lead["events"]].count("declined") == 1
    assert lead["status"] == "unassigned"


def test_decline_sent_after_the_offer_expired_is_refused_plainly(
    phone: BrowserContext, api: httpx.Client, seeded: Seed
) -> None:
    rep = RepApp(new_page(phone))
    rep.open(seeded.rep_link)
    rep.page.wait_for_function(WORKER_ACTIVE)
    phone.set_offline(True)
    rep.decline(seeded.company, "Wrong product")
    expect(rep.card("pending", seeded.company).locator("[data-queued-note]")).to_have_text(QUEUED)

    # Meanwhile the offer is answered elsewhere, here by an integration through the API.
    created = api.post(f"/api/v1/offers/{seeded.offer_id}/accept")
    phone.set_offline(False)

    assert created.status_code == 200
    expect(rep.outbox_status).to_have_text(
        "Your answer arrived too late: This offer is already accepted. "
        "Nothing was changed; the lead has moved on."
    )
    lead = api.get(f"/api/v1/leads/{seeded.lead_id}").json()
    assert [(o["status"], o["decline_reason"]) for o in lead["offers"]] == [("accepted", None)]
    assert [e["type"] for e in lead["events"]].count("declined") == 0
