"""Employees signing in on a device by mailed link, and the device sessions that follow."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar

from backend.access.devices import AgentSignInLink, DeviceSession
from backend.access.models import AgentLink
from backend.db import utcnow
from backend.settings import Settings
from tests.console.html import parse
from tests.factories import make_agent, make_rule, post_lead
from tests.mail import Inbox

from .conftest import Sessions, rows

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
LINK = re.compile(r"http://testserver\.local/app/sign-in/([\w-]{43})")
SENT = "If you are on the roster, a sign-in link is on its way to"


@pytest.fixture
def settings(settings: Settings, inbox: tuple[Inbox, str]) -> Settings:
    return dataclasses.replace(settings, smtp_url=inbox[1])


async def ask_for_link(client: httpx.AsyncClient, app: Litestar, address: str) -> httpx.Response:
    await client.get("/app/sign-in")
    response = await client.post(
        "/app/sign-in", data={"email": address, "_csrf_token": client.cookies["pursuit_csrf"]}
    )
    await app.state.notifier.drain()
    return response


def mailed_token(inbox: Inbox) -> str:
    """The link in the latest sign-in mail; offers may be mailed alongside it."""
    messages = [
        email.message_from_bytes(envelope.content, policy=email.policy.default)
        for envelope in inbox.envelopes
    ]
    [*_, message] = [m for m in messages if m["Subject"] == "Your Pursuit sign-in link"]
    found = LINK.search(message.get_body().get_content())  # type: ignore[union-attr]
    assert found is not None
    return found.group(1)


async def press_sign_in(
    client: httpx.AsyncClient, token: str, user_agent: str = ANDROID_CHROME
) -> httpx.Response:
    await client.get(f"/app/sign-in/{token}")
    return await client.post(
        f"/app/sign-in/{token}",
        data={"_csrf_token": client.cookies["pursuit_csrf"]},
        headers={"User-Agent": user_agent},
    )


async def signed_in(client: httpx.AsyncClient, app: Litestar, inbox: Inbox) -> str:
    """Sign this client in as Ana; answers her device cookie."""
    await ask_for_link(client, app, "ana@example.com")
    response = await press_sign_in(client, mailed_token(inbox))
    assert response.status_code == 303, response.text
    return client.cookies["pursuit_device"]


@pytest.fixture
async def ana(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    return await make_agent(client, auth, "Ana", phone="+5511990000001")


def text_of(response: httpx.Response, attr: str) -> str:
    [element] = parse(response.text).all(attr)
    return element.text


# Asking for a link


async def test_sign_in_request_mails_a_single_use_link(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    response = await ask_for_link(client, app, " Ana@Example.com ")

    assert response.status_code == 200
    assert text_of(response, "data-message").startswith(f"{SENT} Ana@Example.com.")
    [envelope] = inbox[0].envelopes
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == ["ana@example.com"]
    assert message["Subject"] == "Your Pursuit sign-in link"
    token = mailed_token(inbox[0])
    [link] = await rows(sessions, AgentSignInLink)
    assert (link.agent_id, link.used_at) == (ana, None)
    assert link.expires_at - link.created_at == timedelta(minutes=15)
    assert token not in link.token_hash


@pytest.mark.parametrize("address", ["nobody@example.com", "pat@partner.example"])
async def test_sign_in_request_for_someone_not_an_employee_answers_alike(
    client: httpx.AsyncClient,
    app: Litestar,
    auth: dict[str, str],
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    address: str,
) -> None:
    partner = await client.post("/api/v1/partners", json={"name": "Solaris"}, headers=auth)
    await make_agent(
        client,
        auth,
        "Pat",
        email="pat@partner.example",
        kind="partner",
        partner_id=partner.json()["id"],
    )

    response = await ask_for_link(client, app, address)

    assert response.status_code == 200
    assert text_of(response, "data-message").startswith(f"{SENT} {address}.")
    assert inbox[0].envelopes == []
    assert await rows(sessions, AgentSignInLink) == []


async def test_sign_in_request_without_an_address_is_refused_plainly(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str]
) -> None:
    response = await ask_for_link(client, app, "ana at home")

    assert response.status_code == 422
    assert text_of(response, "data-message") == (
        "Enter your work email address, such as ana@example.com."
    )
    assert inbox[0].envelopes == []


async def test_sign_in_requests_beyond_three_open_links_send_nothing(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], ana: str
) -> None:
    for _ in range(4):
        response = await ask_for_link(client, app, "ana@example.com")
        assert text_of(response, "data-message").startswith(SENT)

    assert len(inbox[0].envelopes) == 3


# Using the link


async def test_opening_the_link_shows_a_button_and_changes_nothing(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    await ask_for_link(client, app, "ana@example.com")
    token = mailed_token(inbox[0])

    first = await client.get(f"/app/sign-in/{token}")
    second = await client.get(f"/app/sign-in/{token}")

    assert (first.status_code, second.status_code) == (200, 200)
    assert text_of(first, "data-sign-in-button") == "Sign in on this device"
    assert first.headers["referrer-policy"] == "no-referrer"
    [link] = await rows(sessions, AgentSignInLink)
    assert link.used_at is None
    assert await rows(sessions, DeviceSession) == []
    assert "pursuit_device" not in client.cookies


async def test_pressing_the_button_signs_this_device_in(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    await ask_for_link(client, app, "ana@example.com")

    response = await press_sign_in(client, mailed_token(inbox[0]))

    queue = await client.get(response.headers["location"])

    assert response.status_code == 303
    assert response.headers["location"].startswith("/r/pl_")
    assert (queue.status_code, "Ana" in queue.text) == (200, True)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pursuit_device=pd_")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=34560000" in cookie
    [device] = await rows(sessions, DeviceSession)
    assert (device.agent_id, device.label, device.revoked_at) == (ana, "Chrome on Android", None)
    [link] = await rows(sessions, AgentSignInLink)
    assert link.used_at is not None


async def test_a_link_signs_in_once(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    await ask_for_link(client, app, "ana@example.com")
    token = mailed_token(inbox[0])
    await press_sign_in(client, token)

    again = await press_sign_in(client, token)
    shown = await client.get(f"/app/sign-in/{token}")

    assert again.status_code == 401
    assert text_of(again, "data-message") == (
        "This sign-in link is unknown, already used or expired. Ask for a new one."
    )
    assert shown.status_code == 404
    assert len(await rows(sessions, DeviceSession)) == 1


async def test_a_link_expires_after_fifteen_minutes(
    client: httpx.AsyncClient,
    app: Litestar,
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    ana: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await ask_for_link(client, app, "ana@example.com")
    token = mailed_token(inbox[0])
    later = utcnow() + timedelta(minutes=15, seconds=1)
    monkeypatch.setattr("backend.access.devices.utcnow", lambda: later)

    shown = await client.get(f"/app/sign-in/{token}")
    pressed = await press_sign_in(client, token)

    assert (shown.status_code, pressed.status_code) == (404, 401)
    assert await rows(sessions, DeviceSession) == []


# The device session


async def test_device_session_speaks_for_the_agent_in_the_api(
    client: httpx.AsyncClient,
    app: Litestar,
    auth: dict[str, str],
    inbox: tuple[Inbox, str],
    ana: str,
) -> None:
    await make_rule(client, auth, "All", [ana])
    lead = await post_lead(client, auth, "f-1")
    await signed_in(client, app, inbox[0])

    accepted = await client.post(f"/api/v1/offers/{lead['offer']['id']}/accept")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["owner"] == ana


async def test_device_session_refuses_changes_from_another_site(
    client: httpx.AsyncClient,
    app: Litestar,
    auth: dict[str, str],
    inbox: tuple[Inbox, str],
    ana: str,
) -> None:
    await make_rule(client, auth, "All", [ana])
    lead = await post_lead(client, auth, "f-1")
    await signed_in(client, app, inbox[0])

    refused = await client.post(
        f"/api/v1/offers/{lead['offer']['id']}/accept",
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )

    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "A signed-in device's cookie only works from Pursuit's own pages."
    )


async def test_device_sessions_are_listed_with_the_current_one_marked(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    await signed_in(client, app, inbox[0])
    phone = client.cookies["pursuit_device"]
    client.cookies.clear()
    await ask_for_link(client, app, "ana@example.com")
    await press_sign_in(client, mailed_token(inbox[0]), user_agent=IPHONE_SAFARI)

    listed = await client.get("/api/v1/me/sessions")

    devices = {d.label: d for d in await rows(sessions, DeviceSession)}
    assert listed.status_code == 200
    assert listed.json() == {
        "items": [
            {
                "id": devices["Safari on iPhone"].id,
                "label": "Safari on iPhone",
                "created_at": devices["Safari on iPhone"].created_at.isoformat(),
                "last_seen_at": devices["Safari on iPhone"].last_seen_at.isoformat(),
                "current": True,
            },
            {
                "id": devices["Chrome on Android"].id,
                "label": "Chrome on Android",
                "created_at": devices["Chrome on Android"].created_at.isoformat(),
                "last_seen_at": devices["Chrome on Android"].last_seen_at.isoformat(),
                "current": False,
            },
        ]
    }
    assert phone != client.cookies["pursuit_device"]


async def test_signing_a_device_out_ends_its_session(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    await signed_in(client, app, inbox[0])
    [device] = await rows(sessions, DeviceSession)
    [link] = await rows(sessions, AgentLink)

    signed_out = await client.delete(f"/api/v1/me/sessions/{device.id}")
    after = await client.get("/api/v1/me/sessions")
    [revoked] = await rows(sessions, AgentLink)

    assert signed_out.status_code == 204
    assert (device.link_id, link.revoked_at, revoked.revoked_at is not None) == (
        link.id,
        None,
        True,
    )
    assert 'pursuit_device=""' in signed_out.headers["set-cookie"]
    [stored] = await rows(sessions, DeviceSession)
    assert stored.revoked_at is not None
    assert after.status_code == 401


async def test_a_signed_out_cookie_no_longer_works(
    client: httpx.AsyncClient, app: Litestar, inbox: tuple[Inbox, str], sessions: Sessions, ana: str
) -> None:
    cookie = await signed_in(client, app, inbox[0])
    [device] = await rows(sessions, DeviceSession)
    await client.delete(f"/api/v1/me/sessions/{device.id}")
    client.cookies.clear()
    client.cookies.set("pursuit_device", cookie)

    replayed = await client.get("/api/v1/me/sessions")

    assert replayed.status_code == 401
    assert replayed.json()["detail"] == (
        "This device is signed out. Ask for a new sign-in link at /app/sign-in."
    )


async def test_another_agents_session_is_not_found(
    client: httpx.AsyncClient,
    app: Litestar,
    auth: dict[str, str],
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    ana: str,
) -> None:
    await make_agent(client, auth, "Bruno")
    await signed_in(client, app, inbox[0])
    [anas] = await rows(sessions, DeviceSession)
    client.cookies.clear()
    await ask_for_link(client, app, "bruno@example.com")
    await press_sign_in(client, mailed_token(inbox[0]))

    listed = await client.get("/api/v1/me/sessions")
    refused = await client.delete(f"/api/v1/me/sessions/{anas.id}")

    assert [item["label"] for item in listed.json()["items"]] == ["Chrome on Android"]
    assert anas.id not in {item["id"] for item in listed.json()["items"]}
    assert refused.status_code == 404
    assert all(d.revoked_at is None for d in await rows(sessions, DeviceSession))
