"""A rep's devices through the API: listed, switched off, renewed, and only ever their own."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from backend.access.service import create_agent_link
from backend.notify.models import PushSubscription
from tests.factories import link_for, make_agent, make_rule, post_lead

from .conftest import MakeOffer, Sessions, rows
from .fake_push import FakePushService, PushDevice

PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def link_token(sessions: Sessions, agent_id: str) -> dict[str, str]:
    async with sessions() as session:
        token, _ = await create_agent_link(session, agent_id)
    return {"Authorization": f"Bearer {token}"}


def subscription_json(device: PushDevice, **extra: Any) -> dict[str, Any]:
    keys = {"p256dh": device.p256dh, "auth": device.auth}
    return {"endpoint": device.endpoint, "expirationTime": None, "keys": keys, **extra}


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], device: PushDevice, agent: str = PIXEL
) -> str:
    response = await client.post(
        "/api/v1/push/subscriptions",
        json=subscription_json(device),
        headers={**headers, "User-Agent": agent},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_list_devices_answers_the_reps_own_with_labels(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    ana, bruno = await make_offer(), await make_offer()
    anas, brunos = (
        await link_token(sessions, ana.agent_id),
        await link_token(sessions, bruno.agent_id),
    )
    phone = await register(client, anas, PushDevice.create("http://127.0.0.1/push/phone"))
    laptop = await register(
        client, anas, PushDevice.create("http://127.0.0.1/push/laptop"), FIREFOX
    )
    await register(client, brunos, PushDevice.create("http://127.0.0.1/push/other"))

    response = await client.get("/api/v1/push/subscriptions", headers=anas)

    stored = {s.id: s for s in await rows(sessions, PushSubscription)}
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": device_id,
                "label": label,
                "enabled": True,
                "created_at": stored[device_id].created_at.isoformat(),
                "last_success_at": None,
                "last_failure_at": None,
            }
            for device_id, label in ((phone, "Chrome on Android"), (laptop, "Firefox on Windows"))
        ]
    }


async def test_patch_turns_a_device_off_and_on(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)
    device_id = await register(client, headers, PushDevice.create("http://127.0.0.1/push/p"))

    off = await client.patch(
        f"/api/v1/push/subscriptions/{device_id}", json={"enabled": False}, headers=headers
    )
    after_off = [s.enabled for s in await rows(sessions, PushSubscription)]
    on = await client.patch(
        f"/api/v1/push/subscriptions/{device_id}", json={"enabled": True}, headers=headers
    )

    assert (off.status_code, off.json()["enabled"]) == (200, False)
    assert after_off == [False]
    assert (on.status_code, on.json()["enabled"]) == (200, True)


async def test_patch_without_a_boolean_is_refused(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)
    device_id = await register(client, headers, PushDevice.create("http://127.0.0.1/push/p"))

    response = await client.patch(
        f"/api/v1/push/subscriptions/{device_id}", json={"enabled": "no"}, headers=headers
    )

    assert response.status_code == 400
    assert [s.enabled for s in await rows(sessions, PushSubscription)] == [True]


async def test_another_agents_device_is_not_found(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    ana, bruno = await make_offer(), await make_offer()
    anas, brunos = (
        await link_token(sessions, ana.agent_id),
        await link_token(sessions, bruno.agent_id),
    )
    device_id = await register(client, anas, PushDevice.create("http://127.0.0.1/push/p"))

    patched = await client.patch(
        f"/api/v1/push/subscriptions/{device_id}", json={"enabled": False}, headers=brunos
    )
    deleted = await client.delete(f"/api/v1/push/subscriptions/{device_id}", headers=brunos)
    listed = await client.get("/api/v1/push/subscriptions", headers=brunos)

    assert (patched.status_code, deleted.status_code) == (404, 404)
    assert patched.json()["detail"] == f"There is no push subscription {device_id!r}."
    assert listed.json() == {"items": []}
    [kept] = await rows(sessions, PushSubscription)
    assert (kept.id, kept.enabled) == (device_id, True)


async def test_renewal_replaces_the_old_endpoint_keeping_the_device(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)
    old = PushDevice.create("http://127.0.0.1/push/old")
    device_id = await register(client, headers, old)
    new = PushDevice.create("http://127.0.0.1/push/new")

    response = await client.post(
        "/api/v1/push/subscriptions",
        json=subscription_json(new, old_endpoint=old.endpoint),
        headers={**headers, "User-Agent": FIREFOX},
    )

    [stored] = await rows(sessions, PushSubscription)
    assert (response.status_code, response.json()) == (201, {"id": device_id})
    assert (stored.endpoint, stored.p256dh, stored.auth) == (new.endpoint, new.p256dh, new.auth)
    assert stored.label == "Chrome on Android"


async def test_renewal_naming_another_agents_endpoint_leaves_it_alone(
    client: httpx.AsyncClient, sessions: Sessions, make_offer: MakeOffer
) -> None:
    ana, bruno = await make_offer(), await make_offer()
    anas, brunos = (
        await link_token(sessions, ana.agent_id),
        await link_token(sessions, bruno.agent_id),
    )
    anas_device = PushDevice.create("http://127.0.0.1/push/anas")
    anas_id = await register(client, anas, anas_device)
    new = PushDevice.create("http://127.0.0.1/push/brunos")

    response = await client.post(
        "/api/v1/push/subscriptions",
        json=subscription_json(new, old_endpoint=anas_device.endpoint),
        headers=brunos,
    )

    owners = {s.endpoint: s.agent_id for s in await rows(sessions, PushSubscription)}
    assert response.status_code == 201
    assert response.json()["id"] != anas_id
    assert owners == {anas_device.endpoint: ana.agent_id, new.endpoint: bruno.agent_id}


async def test_devices_need_a_reps_credential(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    with_key = await client.get("/api/v1/push/subscriptions", headers=auth)
    anonymous = await client.get("/api/v1/push/subscriptions")

    assert (with_key.status_code, anonymous.status_code) == (403, 401)
    assert (
        with_key.json()["detail"] == "Only a rep, by link token or signed-in device, has devices."
    )


async def test_lead_api_shows_which_channel_reached_the_agent(
    client: httpx.AsyncClient,
    app: Litestar,
    auth: dict[str, str],
    push_service: FakePushService,
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await register(client, await link_for(client, auth, ana), push_service.device("phone"))
    await make_rule(client, auth, "All", [ana])

    posted = await post_lead(client, auth, "f-1")
    await app.state.notifier.drain()
    lead = await client.get(f"/api/v1/leads/{posted['lead_id']}", headers=auth)

    [offer] = lead.json()["offers"]
    assert len(push_service.received) == 1
    assert (offer["id"], offer["notified_via"]) == (posted["offer"]["id"], "push")
