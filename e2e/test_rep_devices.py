"""A rep sees which devices get their notifications and turns one off from the app."""

from __future__ import annotations

import os

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, expect

from e2e.conftest import PHONE, Server, b64url, created, new_page
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def test_rep_turns_a_device_off_in_the_app(
    browser: Browser, server: Server, api: httpx.Client
) -> None:
    agent = created(api.post("/api/v1/agents", json={"name": "Lia Souza"}))
    link = created(api.post(f"/api/v1/agents/{agent['id']}/links"))["url"]
    token = link.rsplit("/", 1)[-1]
    as_rep = {"Authorization": f"Bearer {token}", "User-Agent": ANDROID_CHROME}
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    subscription = {
        "endpoint": "http://127.0.0.1:9/push/lia-phone",
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }
    phone = created(
        httpx.post(f"{server.url}/api/v1/push/subscriptions", json=subscription, headers=as_rep)
    )
    context = browser.new_context(viewport=PHONE, locale="en-US")
    rep = RepApp(new_page(context))

    rep.open(link, heading="Your leads")
    row = rep.page.locator(f"#device-list [data-device='{phone['id']}']")
    expect(row).to_contain_text("Chrome on Android")
    row.get_by_role("button", name="Chrome on Android: On").click()
    expect(row.get_by_role("button", name="Chrome on Android: Off")).to_be_visible()
    devices = httpx.get(f"{server.url}/api/v1/push/subscriptions", headers=as_rep).json()
    context.close()

    assert [(d["id"], d["label"], d["enabled"]) for d in devices["items"]] == [
        (phone["id"], "Chrome on Android", False)
    ]
