"""A rep's link reaches only that rep's offers, leads and devices: every endpoint a link can
call is tried with another rep's ids, and nothing of the other rep's changes."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.factories import Client, link_for, make_agent, make_rule, post_lead

HTMX = {"HX-Request": "true"}


def subscription() -> dict[str, Any]:
    """A browser's subscription with a real P-256 key, as pushManager.subscribe gives it."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": "http://127.0.0.1:9/push/ana-phone",
        "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))},
    }


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
async def two_reps(client: Client, auth: dict[str, str]) -> dict[str, Any]:
    """Ana holds one lead and is offered another; Bruno's link tries to reach both."""
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Ana only", [ana])
    owned = await post_lead(client, auth, "I1", email="owned@example.org", phone=None)
    pending = await post_lead(client, auth, "I2", email="pending@example.org", phone=None)
    ana_auth = await link_for(client, auth, ana)
    await client.post(f"/api/v1/offers/{owned['offer']['id']}/accept", headers=ana_auth)
    device = await client.post("/api/v1/push/subscriptions", json=subscription(), headers=ana_auth)
    bruno_auth = await link_for(client, auth, bruno)
    return {
        "ana_auth": ana_auth,
        "bruno_auth": bruno_auth,
        "bruno_token": bruno_auth["Authorization"].split(" ", 1)[1],
        "owned": owned["lead_id"],
        "pending": pending["lead_id"],
        "pending_offer": pending["offer"]["id"],
        "device": device.json()["id"],
    }


async def test_another_reps_ids_are_not_found_anywhere(
    client: Client, auth: dict[str, str], two_reps: dict[str, Any]
) -> None:
    r = two_reps
    bearer, token = r["bruno_auth"], r["bruno_token"]
    tried = {
        "lead": await client.get(f"/api/v1/leads/{r['owned']}", headers=bearer),
        "pending lead": await client.get(f"/api/v1/leads/{r['pending']}", headers=bearer),
        "accept": await client.post(f"/api/v1/offers/{r['pending_offer']}/accept", headers=bearer),
        "decline": await client.post(
            f"/api/v1/offers/{r['pending_offer']}/decline",
            json={"reason": "not_a_fit"},
            headers=bearer,
        ),
        "activity": await client.post(
            f"/api/v1/leads/{r['owned']}/activities",
            json={"kind": "call", "outcome": "connected"},
            headers=bearer,
        ),
        "page accept": await client.post(
            f"/r/{token}/offers/{r['pending_offer']}/accept", headers=HTMX
        ),
        "page decline": await client.post(
            f"/r/{token}/offers/{r['pending_offer']}/decline",
            data={"reason": "not_a_fit"},
            headers=HTMX,
        ),
        "page activity": await client.post(
            f"/r/{token}/leads/{r['owned']}/activities",
            data={"kind": "call", "outcome": "connected"},
            headers=HTMX,
        ),
        "device off": await client.patch(
            f"/api/v1/push/subscriptions/{r['device']}", json={"enabled": False}, headers=bearer
        ),
        "device removed": await client.delete(
            f"/api/v1/push/subscriptions/{r['device']}", headers=bearer
        ),
    }
    queue = (await client.get("/api/v1/me/queue", headers=bearer)).json()
    devices = (await client.get("/api/v1/push/subscriptions", headers=bearer)).json()
    owned = (await client.get(f"/api/v1/leads/{r['owned']}", headers=auth)).json()
    pending = (await client.get(f"/api/v1/leads/{r['pending']}", headers=auth)).json()
    ana_devices = (await client.get("/api/v1/push/subscriptions", headers=r["ana_auth"])).json()

    assert {name: answer.status_code for name, answer in tried.items()} == dict.fromkeys(tried, 404)
    assert not any("@example.org" in answer.text for answer in tried.values())
    assert devices == {"items": []}
    assert queue["pending"] == [] and queue["owned"] == []
    assert (owned["status"], owned["activities"]) == ("accepted", [])
    assert [o["status"] for o in pending["offers"]] == ["pending"]
    assert [(d["id"], d["enabled"]) for d in ana_devices["items"]] == [(r["device"], True)]
