"""A roster, rules and leads through HTTP: offers, acceptance, decline, expiry, metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar

from tests.factories import Client, link_for, make_agent, make_rule, post_lead


async def test_lead_is_offered_accepted_contacted_and_counted(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana", capacity=5)
    bruno = await make_agent(client, auth, "Bruno", capacity=5)
    await make_rule(
        client,
        auth,
        "Brazil",
        [ana, bruno],
        conditions={"country": ["BR"]},
        strategy="round_robin",
        contact_timeout_s=3600,
    )
    ana_link, bruno_link = await link_for(client, auth, ana), await link_for(client, auth, bruno)

    first = await post_lead(client, auth, "L1", value=1000)
    replay = await client.post(
        "/api/v1/leads",
        json={"source": "web", "external_id": "L1", "company": "Other"},
        headers=auth,
    )
    second = await post_lead(client, auth, "L2", value=2000)

    assert first["status"] == "offered" and first["coalesced"] is False
    assert first["offer"]["agent_id"] == ana
    assert replay.status_code == 200 and replay.json()["lead_id"] == first["lead_id"]
    assert second["offer"]["agent_id"] == bruno

    accepted = await client.post(f"/api/v1/offers/{first['offer']['id']}/accept", headers=ana_link)
    again = await client.post(f"/api/v1/offers/{first['offer']['id']}/accept", headers=ana_link)
    stolen = await client.post(f"/api/v1/offers/{second['offer']['id']}/accept", headers=ana_link)

    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted" and accepted.json()["owner"] == ana
    assert again.status_code == 409
    assert again.json()["detail"] == "This offer is already accepted."
    assert stolen.status_code == 404

    declined = await client.post(
        f"/api/v1/offers/{second['offer']['id']}/decline",
        json={"reason": "wrong_territory", "note": "Not my area"},
        headers=bruno_link,
    )
    lead2 = (await client.get(f"/api/v1/leads/{second['lead_id']}", headers=auth)).json()

    assert declined.status_code == 200
    assert [(o["agent_id"], o["status"]) for o in lead2["offers"]] == [
        (bruno, "declined"),
        (ana, "pending"),
    ]
    assert lead2["offers"][0]["decline_reason"] == "wrong_territory"
    assert lead2["decisions"][1]["candidates"][1]["reasons"] == ["declined this lead before"]

    contact = await client.post(
        f"/api/v1/leads/{first['lead_id']}/activities",
        json={"kind": "call", "outcome": "connected"},
        headers=ana_link,
    )
    lead1 = (await client.get(f"/api/v1/leads/{first['lead_id']}", headers=ana_link)).json()

    assert contact.status_code == 201
    assert lead1["status"] == "contacted"
    assert [e["type"] for e in lead1["events"] if e["type"] != "notified"] == [
        "received",
        "offered",
        "accepted",
        "activity",
        "contacted",
    ]


async def test_metrics_count_pursued_and_lost_revenue(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(
        client, auth, "Brazil", [ana], conditions={"country": ["BR"]}, contact_timeout_s=3600
    )
    link = await link_for(client, auth, ana)
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()

    contacted = await post_lead(client, auth, "M1", value=1000)
    await post_lead(client, auth, "M2", value=2000)
    await post_lead(client, auth, "M3", value=500, received_at=two_days_ago)
    unassigned = await post_lead(client, auth, "M4", value=300, country="US")
    await client.post(f"/api/v1/offers/{contacted['offer']['id']}/accept", headers=link)
    await client.post(
        f"/api/v1/leads/{contacted['lead_id']}/activities", json={"kind": "email"}, headers=link
    )
    metrics = (await client.get("/api/v1/metrics/summary", headers=auth)).json()

    assert unassigned["status"] == "unassigned" and unassigned["offer"] is None
    assert {
        k: metrics[k]
        for k in (
            "leads",
            "pursued",
            "pursuit_rate",
            "lost_leads",
            "lost_revenue",
            "lrl",
            "unassigned",
        )
    } == {
        "leads": 4,
        "pursued": 1,
        "pursuit_rate": 0.25,
        "lost_leads": 1,
        "lost_revenue": 500.0,
        "lrl": 125.0,
        "unassigned": 1,
    }


async def test_unanswered_offer_expires_and_moves_on(
    app: Litestar, client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "Fast", [ana, bruno], accept_timeout_s=1)
    lead = await post_lead(client, auth, "E1")

    await asyncio.sleep(1.1)
    moved = await app.state.sweeper.sweep_once()
    journey = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=auth)).json()

    assert moved == 1
    assert [(o["agent_id"], o["status"]) for o in journey["offers"]] == [
        (ana, "expired"),
        (bruno, "pending"),
    ]
    assert journey["decisions"][1]["trigger"] == "expired"


async def test_acting_on_an_expired_offer_changes_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "Fast", [ana], accept_timeout_s=1)
    link = await link_for(client, auth, ana)
    lead = await post_lead(client, auth, "E2")

    await asyncio.sleep(1.1)
    late = await client.post(f"/api/v1/offers/{lead['offer']['id']}/accept", headers=link)
    after = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=auth)).json()

    assert late.status_code == 409
    assert after["status"] == "offered" and after["offers"][0]["status"] == "pending"


async def test_preview_explains_without_saving(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana", active=False)
    bruno = await make_agent(client, auth, "Bruno", territories=[{"country": "BR"}])
    rule = await make_rule(client, auth, "Brazil", [ana, bruno], conditions={"country": ["BR"]})

    preview = await client.post(
        "/api/v1/rules/preview",
        json={"source": "web", "company": "Acme", "country": "BR"},
        headers=auth,
    )
    listing = await client.get("/api/v1/leads", headers=auth)

    body = preview.json()
    assert preview.status_code == 200
    assert (body["rule_id"], body["agent_id"]) == (rule, bruno)
    assert [(c["agent_id"], c["eligible"], c["reasons"]) for c in body["candidates"]] == [
        (ana, False, ["inactive"]),
        (bruno, True, []),
    ]
    assert listing.json()["items"] == []


@pytest.mark.parametrize(
    ("at", "detail"),
    [
        ("0001-01-01T00:00:00Z", "at 0001-01-01T00:00:00+00:00 is outside the years"),
        ("9999-12-31T23:59:59+05:00", "at 9999-12-31T23:59:59+05:00 is outside the years"),
    ],
)
async def test_preview_at_an_instant_outside_our_era_is_refused(
    client: Client, auth: dict[str, str], at: str, detail: str
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "All", [ana])

    preview = await client.post(
        "/api/v1/rules/preview",
        params={"at": at},
        json={"source": "web", "company": "Acme", "country": "BR"},
        headers=auth,
    )

    assert (preview.status_code, preview.json()["detail"]) == (422, f"{detail} 2000 to 2099.")


async def test_a_rep_sees_only_their_own_part_of_a_lead(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "all", [ana, bruno])
    ana_link, bruno_link = await link_for(client, auth, ana), await link_for(client, auth, bruno)
    lead = await post_lead(client, auth, "v1")
    await client.post(
        f"/api/v1/offers/{lead['offer']['id']}/decline", json={"reason": "other"}, headers=ana_link
    )

    by_bruno = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=bruno_link)).json()
    by_ana = await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=ana_link)

    assert by_bruno["decisions"] == []
    assert [o["agent_id"] for o in by_bruno["offers"]] == [bruno]
    assert [e["type"] for e in by_bruno["events"] if e["type"] != "notified"] == [
        "received",
        "offered",
    ]
    assert by_ana.status_code == 404


async def test_lead_shows_its_city_and_coordinates(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "All", [ana])
    lead = await post_lead(
        client, auth, "C1", city="São Paulo", latitude=-23.5613, longitude=-46.6565
    )

    shown = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=auth)).json()

    assert (shown["city"], shown["latitude"], shown["longitude"]) == (
        "São Paulo",
        -23.5613,
        -46.6565,
    )
