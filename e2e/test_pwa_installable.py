"""The rep app installs as a PWA, and an offer's push reaches the phone as a notification."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.conftest import PushService, Seed, Server, created, lead_body, new_page
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

WORKER_ACTIVE = "navigator.serviceWorker.ready.then(r => r.active.state === 'activated')"
SHOWN = """
navigator.serviceWorker.ready
  .then(registration => registration.getNotifications())
  .then(shown => shown.map(n => ({
    title: n.title, body: n.body, url: n.data.url, actions: n.actions.map(a => a.title),
  })))
"""

# Headless Chromium has no push service: hand the page a subscription to the test's own.
FAKE_SUBSCRIBE = """
(() => {
  const json = %s;
  const subscription = {
    endpoint: json.endpoint, expirationTime: null, options: {},
    toJSON: () => json, unsubscribe: () => Promise.resolve(true),
  };
  PushManager.prototype.subscribe = () => Promise.resolve(subscription);
  PushManager.prototype.getSubscription = () => Promise.resolve(null);
})();
"""


def installability_errors(context: BrowserContext, page: Page) -> list[Any]:
    """Chromium's verdict, asked again for a while: it settles once the worker is in charge."""
    cdp = context.new_cdp_session(page)
    for _ in range(20):
        errors = list(cdp.send("Page.getInstallabilityErrors")["installabilityErrors"])
        if not errors:
            return errors
        page.wait_for_timeout(500)
    return errors


def test_rep_app_is_installable(
    installed_profile: BrowserContext, server: Server, seeded: Seed
) -> None:
    page = new_page(installed_profile)
    rep = RepApp(page)
    rep.open(seeded.rep_link)
    page.wait_for_function(WORKER_ACTIVE)

    manifest = installed_profile.new_cdp_session(page).send("Page.getAppManifest")
    errors = installability_errors(installed_profile, page)
    page.goto(f"{server.url}/app")

    assert (manifest["url"], manifest["errors"]) == (f"{server.url}/manifest.webmanifest", [])
    assert errors == []
    expect(page).to_have_url(seeded.rep_link)


def worker_registration(context: BrowserContext, page: Page, server: Server) -> tuple[Any, str]:
    """A DevTools session with the ServiceWorker domain on, and the page's registration id."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        scope = f"{server.url}/"
        ours = [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]]
        if ours:
            return cdp, str(ours[0]["registrationId"])
        page.wait_for_timeout(100)
    raise AssertionError(f"no service worker registration for {server.url}: {registrations}")


def test_offer_push_is_shown_as_a_notification(
    phone: BrowserContext,
    server: Server,
    api: httpx.Client,
    seeded: Seed,
    push_service: PushService,
) -> None:
    phone.grant_permissions(["notifications"], origin=server.url)
    page = new_page(phone)
    page.add_init_script(FAKE_SUBSCRIBE % json.dumps(push_service.subscription))
    rep = RepApp(page)
    rep.open(seeded.rep_link)
    page.wait_for_function(WORKER_ACTIVE)
    rep.turn_on_notifications()
    expect(rep.push_status).to_have_text("Notifications are on for this device.")

    offer = created(api.post("/api/v1/leads", json=lead_body("e2e-2", "Costa Solar")))["offer"]
    [message] = push_service.wait_for_messages(1)
    cdp, registration_id = worker_registration(phone, page, server)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url,
            "registrationId": registration_id,
            "data": json.dumps(message),
        },
    )
    page.wait_for_function(
        "id => document.documentElement.dataset.lastNotification === id", arg=offer["id"]
    )

    assert (message["offer_id"], message["title"]) == (offer["id"], "New lead: Costa Solar")
    assert message["url"] == f"{server.url}/app?offer={offer['id']}"
    assert page.evaluate(SHOWN) == [
        {
            "title": "New lead: Costa Solar",
            "body": message["body"],
            "url": message["url"],
            "actions": ["Accept", "Decline"],
        }
    ]
    expect(rep.card("pending", "Costa Solar")).to_be_visible()


# What the Accept button on the notification runs; headless Chromium cannot click it itself.
ACCEPT_FROM_NOTIFICATION = """
() => self.registration.getNotifications()
  .then(shown => acceptFromNotification(shown[0].data))
  .then(() => self.registration.getNotifications())
  .then(shown => shown.map(n => n.title))
"""


def test_accept_on_the_notification_accepts_the_offer(
    phone: BrowserContext, server: Server, api: httpx.Client, seeded: Seed
) -> None:
    phone.grant_permissions(["notifications"], origin=server.url)
    page = new_page(phone)
    rep = RepApp(page)
    rep.open(seeded.rep_link)
    page.wait_for_function(WORKER_ACTIVE)
    message = {
        "title": "New lead: Lima Energia",
        "body": "web · solar · SP, BR.",
        "lead_id": seeded.lead_id,
        "offer_id": seeded.offer_id,
        "url": f"{server.url}/app?offer={seeded.offer_id}",
    }
    cdp, registration_id = worker_registration(phone, page, server)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": server.url, "registrationId": registration_id, "data": json.dumps(message)},
    )
    page.wait_for_function(
        "id => document.documentElement.dataset.lastNotification === id", arg=seeded.offer_id
    )
    [worker] = phone.service_workers

    titles = worker.evaluate(ACCEPT_FROM_NOTIFICATION)
    lead = api.get(f"/api/v1/leads/{seeded.lead_id}").json()

    assert titles == ["Accepted: Lima Energia"]
    assert [(o["id"], o["status"]) for o in lead["offers"]] == [(seeded.offer_id, "accepted")]
    # The page reloads its queue when the worker tells it; a busy machine can take a while.
    expect(rep.cards("waiting")).to_have_count(1, timeout=15_000)


def test_rep_app_opens_its_last_queue_when_the_server_is_gone(
    phone: BrowserContext, server: Server, seeded: Seed
) -> None:
    page = new_page(phone)
    rep = RepApp(page)
    rep.open(seeded.rep_link)
    page.wait_for_function(WORKER_ACTIVE)
    page.reload()  # now the worker controls the page and keeps a copy of it

    server.stop()
    page.reload()
    kept_heading = page.get_by_role("heading", level=1).inner_text()
    banner = page.locator("#connection").inner_text()
    kept_cards = rep.cards("pending").count()
    page.goto(f"{server.url}/r/pl_never-opened-here")

    assert (kept_heading, kept_cards) == ("Your leads", 1)
    assert banner == (
        "You are offline. Your leads are as they were when you last had a connection."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(244, 246, 249)"
