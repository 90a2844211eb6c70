"""The rep app over HTTP: the queue a link opens, its actions, and the PWA's files."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from backend.i18n import format_when
from backend.rep.controllers import LINK_GONE
from tests.console.html import Element, parse
from tests.factories import Client, link_for, make_agent, make_rule, post_lead

HTMX = {"HX-Request": "true"}


async def token_for(client: Client, auth: dict[str, str], agent_id: str) -> str:
    return (await link_for(client, auth, agent_id))["Authorization"].split(" ", 1)[1]


def lane(document: Element, name: str) -> list[str]:
    """Lead ids in one lane of the queue, top to bottom."""
    section = document.one("data-section", name)
    return [card.attrs["data-lead"] for card in section.all("data-lead", tag="article")]


def message(document: Element) -> str:
    return document.one("data-message").text


@pytest.fixture
async def offered(client: Client, auth: dict[str, str]) -> dict[str, Any]:
    """Ana and Bruno share a round-robin rule; one lead is offered to Ana."""
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Brazil", [ana, bruno], strategy="round_robin")
    lead = await post_lead(client, auth, "R1", value=12000, phone="+55 11 99123-4567")
    assert lead["offer"]["agent_id"] == ana
    return {
        "ana": ana,
        "bruno": bruno,
        "token": await token_for(client, auth, ana),
        "lead_id": lead["lead_id"],
        "offer_id": lead["offer"]["id"],
    }


async def lead_api(client: Client, auth: dict[str, str], lead_id: str) -> dict[str, Any]:
    return dict((await client.get(f"/api/v1/leads/{lead_id}", headers=auth)).json())


async def test_rep_page_lists_pending_offer_and_changes_nothing(
    client: Client, auth: dict[str, str], app: Litestar, offered: dict[str, Any]
) -> None:
    await app.state.notifier.drain()  # the offer's notification writes an event of its own
    before = await lead_api(client, auth, offered["lead_id"])

    response = await client.get(f"/r/{offered['token']}")
    document = parse(response.text)
    card = document.one("data-offer", offered["offer_id"])
    after = await lead_api(client, auth, offered["lead_id"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert document.one("data-agent").text == "Ana"
    assert lane(document, "pending") == [offered["lead_id"]]
    assert (lane(document, "waiting"), lane(document, "contacted")) == ([], [])
    assert card.tags("h3")[0].text == "Lima Energia"
    assert card.one("data-expires").attrs["data-expires"] == before["offers"][0]["expires_at"]
    assert after == before


async def test_rep_page_opened_from_a_notification_marks_the_offer(
    client: Client, offered: dict[str, Any]
) -> None:
    url = f"/r/{offered['token']}?offer={offered['offer_id']}"

    before = parse((await client.get(url)).text)
    await client.post(f"/r/{offered['token']}/offers/{offered['offer_id']}/accept")
    after = parse((await client.get(url)).text)

    assert before.one("data-offer", offered["offer_id"]).attrs["class"] == "card offer highlight"
    assert before.all("data-message") == []
    assert message(after) == (
        "The offer you opened is no longer waiting for you: it was answered or has moved on."
    )


async def test_rep_accept_moves_offer_to_waiting_for_contact(
    client: Client, offered: dict[str, Any]
) -> None:
    url = f"/r/{offered['token']}/offers/{offered['offer_id']}/accept"

    response = await client.post(url, headers=HTMX)
    fragment = parse(response.text)
    card = fragment.one("data-section", "waiting").one("data-lead", offered["lead_id"])

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="queue"')
    assert message(fragment) == "Accepted: Lima Energia is yours. Get in touch now."
    assert (lane(fragment, "pending"), lane(fragment, "waiting")) == ([], [offered["lead_id"]])
    assert [a.attrs["href"] for a in card.tags("a")] == [
        "tel:+5511991234567",
        "mailto:R1@example.org",
        "https://www.openstreetmap.org/search?query=01310-100%2C+SP%2C+BR",
    ]


async def test_rep_accept_twice_shows_the_conflict(client: Client, offered: dict[str, Any]) -> None:
    url = f"/r/{offered['token']}/offers/{offered['offer_id']}/accept"
    await client.post(url, headers=HTMX)

    again = await client.post(url, headers=HTMX)
    fragment = parse(again.text)

    assert again.status_code == 409
    assert message(fragment) == "This offer is already accepted."
    assert fragment.one("data-message").attrs["role"] == "alert"
    assert lane(fragment, "waiting") == [offered["lead_id"]]


async def test_rep_cannot_accept_another_reps_offer(
    client: Client, auth: dict[str, str], offered: dict[str, Any]
) -> None:
    bruno = await token_for(client, auth, offered["bruno"])

    response = await client.post(f"/r/{bruno}/offers/{offered['offer_id']}/accept", headers=HTMX)

    assert response.status_code == 404
    assert message(parse(response.text)) == (
        f"Offer {offered['offer_id']} does not exist or is not yours."
    )


async def test_rep_decline_with_reason_reroutes_and_notifies(
    client: Client,
    auth: dict[str, str],
    app: Litestar,
    offered: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduled: list[list[str]] = []
    monkeypatch.setattr(app.state.notifier, "schedule_offers", lambda ids: scheduled.append(ids))

    response = await client.post(
        f"/r/{offered['token']}/offers/{offered['offer_id']}/decline",
        data={"reason": "wrong_territory", "note": "Not my area"},
        headers=HTMX,
    )
    lead = await lead_api(client, auth, offered["lead_id"])

    assert response.status_code == 200
    assert message(parse(response.text)) == "Declined: Lima Energia goes to the next rep."
    assert lane(parse(response.text), "pending") == []
    assert [(o["agent_id"], o["status"], o["decline_reason"]) for o in lead["offers"]] == [
        (offered["ana"], "declined", "wrong_territory"),
        (offered["bruno"], "pending", None),
    ]
    assert scheduled == [[lead["offers"][1]["id"]]]


async def test_rep_decline_without_reason_is_refused(
    client: Client, auth: dict[str, str], offered: dict[str, Any]
) -> None:
    response = await client.post(
        f"/r/{offered['token']}/offers/{offered['offer_id']}/decline",
        data={"note": ""},
        headers=HTMX,
    )

    assert response.status_code == 422
    assert message(parse(response.text)) == "Pick a reason for declining, then tap Decline again."
    assert lane(parse(response.text), "pending") == [offered["lead_id"]]


async def test_rep_log_contact_marks_lead_contacted(
    client: Client, auth: dict[str, str], offered: dict[str, Any]
) -> None:
    base = f"/r/{offered['token']}"
    await client.post(f"{base}/offers/{offered['offer_id']}/accept", headers=HTMX)

    response = await client.post(
        f"{base}/leads/{offered['lead_id']}/activities",
        data={"kind": "call", "outcome": "connected"},
        headers=HTMX,
    )
    fragment = parse(response.text)
    lead = await lead_api(client, auth, offered["lead_id"])

    assert response.status_code == 200
    assert message(fragment) == "Logged: Call, connected."
    assert (lane(fragment, "waiting"), lane(fragment, "contacted")) == ([], [offered["lead_id"]])
    assert lead["status"] == "contacted"
    assert [(a["kind"], a["outcome"]) for a in lead["activities"]] == [("call", "connected")]


async def test_rep_log_contact_before_accepting_is_refused(
    client: Client, offered: dict[str, Any]
) -> None:
    response = await client.post(
        f"/r/{offered['token']}/leads/{offered['lead_id']}/activities",
        data={"kind": "call", "outcome": "connected"},
        headers=HTMX,
    )

    assert response.status_code == 409
    assert message(parse(response.text)) == "Accept the offer before logging activity on this lead."


async def test_rep_plain_form_post_answers_the_whole_page(
    client: Client, offered: dict[str, Any]
) -> None:
    response = await client.post(f"/r/{offered['token']}/offers/{offered['offer_id']}/accept")
    document = parse(response.text)

    assert response.status_code == 200
    assert document.tags("title")[0].text == "Ana · Pursuit"
    assert lane(document, "waiting") == [offered["lead_id"]]


@pytest.mark.parametrize("path", ["/r/pl_not-a-real-token", "/r/pl_not-a-real-token/queue"])
async def test_rep_invalid_token_is_404(client: Client, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert message(parse(response.text)) == LINK_GONE


async def test_rep_revoked_token_is_404(
    client: Client, auth: dict[str, str], offered: dict[str, Any]
) -> None:
    await client.delete(f"/api/v1/agents/{offered['ana']}/links", headers=auth)

    page = await client.get(f"/r/{offered['token']}")
    action = await client.post(
        f"/r/{offered['token']}/offers/{offered['offer_id']}/accept", headers=HTMX
    )

    assert (page.status_code, action.status_code) == (404, 404)
    assert message(parse(action.text)) == LINK_GONE


async def test_manifest_has_the_installable_keys(client: Client) -> None:
    response = await client.get("/manifest.webmanifest")
    manifest = response.json()

    assert response.headers["content-type"] == "application/manifest+json"
    assert {
        k: manifest[k] for k in ("name", "short_name", "id", "start_url", "scope", "display")
    } == {
        "name": "Pursuit",
        "short_name": "Pursuit",
        "id": "/app",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
    }
    assert (manifest["theme_color"], manifest["background_color"]) == ("#17324d", "#f4f6f9")
    assert [(i["sizes"], i["purpose"]) for i in manifest["icons"]] == [
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    ]


async def test_manifest_icons_are_pngs_of_their_size(client: Client) -> None:
    manifest = (await client.get("/manifest.webmanifest")).json()

    for icon in manifest["icons"]:
        response = await client.get(icon["src"])
        width, height = struct.unpack(">II", response.content[16:24])

        assert (response.status_code, response.headers["content-type"]) == (200, "image/png")
        assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"{width}x{height}" == icon["sizes"]


async def test_service_worker_is_served_from_root_uncached(client: Client) -> None:
    response = await client.get("/sw.js")

    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].split(";")[0] == "text/javascript"


@pytest.mark.parametrize("path", ["/app", "/r/pl_unknown"])
async def test_rep_pages_link_manifest_and_worker_script(client: Client, path: str) -> None:
    document = parse((await client.get(path)).text)

    assert [link.attrs["href"] for link in document.all("rel", "manifest")] == [
        "/manifest.webmanifest"
    ]
    assert [s.attrs.get("src") for s in document.tags("script")] == [
        None,  # the script's words, as JSON
        "/static/js/outbox.js",
        "/static/js/rep.js",
        "/static/vendor/htmx-2.0.11.min.js",
    ]


async def test_offline_page_is_served(client: Client) -> None:
    response = await client.get("/offline.html")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert parse(response.text).tags("h1")[0].text == "You are offline"


def test_deadline_names_the_day_unless_it_is_today() -> None:
    now = datetime(2030, 1, 2, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    later_today = now.replace(hour=23, minute=59)
    next_week = now + timedelta(days=7)

    today_text = format_when(later_today, "America/Sao_Paulo", "en", now=now)
    later_text = format_when(next_week, "America/Sao_Paulo", "en", now=now)

    assert today_text == "23:59"
    assert later_text == "Wed, Jan 9, 12:00"
