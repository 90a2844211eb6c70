"""Radius territories through HTTP: leads placed by city, ZIP code or their own coordinates.

Distances in the expected reasons were worked out apart from the code under test, from
the shipped coordinates of each place (see tests/routing/test_territory.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Client, make_agent, make_rule, post_lead

SAO_PAULO = {"latitude": -23.547, "longitude": -46.636}
RIO_DE_JANEIRO = {"latitude": -22.906, "longitude": -43.182}
PORTLAND_ME = {"latitude": 43.661, "longitude": -70.259}
MANHATTAN = {"latitude": 40.748, "longitude": -73.997}  # ZIP 10001


async def reasons_by_agent(client: Client, auth: dict[str, str], lead_id: str) -> dict[str, Any]:
    lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=auth)).json()
    return {c["agent_id"]: c["reasons"] for c in lead["decisions"][0]["candidates"]}


async def test_radius_territory_routes_a_brazilian_lead_by_its_city(
    client: Client, auth: dict[str, str]
) -> None:
    territory = [{"country": "BR", "radius_km": 100}]
    ana = await make_agent(client, auth, "Ana", territories=territory, **SAO_PAULO)
    bruno = await make_agent(client, auth, "Bruno", territories=territory, **RIO_DE_JANEIRO)
    await make_rule(client, auth, "Brazil", [ana, bruno], conditions={"country": ["BR"]})

    campinas = await post_lead(client, auth, "c1", region="SP", city="Campinas", postal_code=None)
    niteroi = await post_lead(client, auth, "n1", region="RJ", city="Niterói", postal_code=None)
    nowhere = await post_lead(client, auth, "x1", region="SP", city="Atlantis", postal_code=None)

    assert campinas["offer"]["agent_id"] == ana
    assert (await reasons_by_agent(client, auth, campinas["lead_id"]))[bruno] == [
        "territory does not cover BR/SP/Campinas (397.3 km from base, radius 100 km)"
    ]
    assert niteroi["offer"]["agent_id"] == bruno
    assert (await reasons_by_agent(client, auth, niteroi["lead_id"]))[ana] == [
        "territory does not cover BR/RJ/Niterói (368.4 km from base, radius 100 km)"
    ]
    # Nobody's radius can hold a lead that cannot be placed.
    assert nowhere["status"] == "unassigned" and nowhere["offer"] is None


async def test_radius_territory_reads_zip_codes_and_given_coordinates(
    client: Client, auth: dict[str, str]
) -> None:
    carla = await make_agent(client, auth, "Carla", territories=[{"radius_km": 100}], **PORTLAND_ME)
    dan = await make_agent(client, auth, "Dan", territories=[{"radius_km": 50}], **MANHATTAN)
    await make_rule(client, auth, "East coast", [carla, dan], conditions={"country": ["US"]})
    us = {"country": "US", "phone": None, "city": None}

    portland = await post_lead(client, auth, "p1", **us, region="ME", postal_code="04101")
    coastal = await post_lead(
        client, auth, "p2", **us, region=None, postal_code=None, latitude=43.0, longitude=-70.259
    )
    chelsea = await post_lead(client, auth, "p3", **us, region="NY", postal_code="10001")

    assert portland["offer"]["agent_id"] == carla
    assert coastal["offer"]["agent_id"] == carla
    assert (await reasons_by_agent(client, auth, coastal["lead_id"]))[dan] == [
        "territory does not cover US (398.0 km from base, radius 50 km)"
    ]
    assert chelsea["offer"]["agent_id"] == dan
    assert (await reasons_by_agent(client, auth, chelsea["lead_id"]))[carla] == [
        "territory does not cover US/NY/10001 (446.8 km from base, radius 100 km)"
    ]


@pytest.mark.parametrize(
    ("agent", "detail"),
    [
        (
            {"territories": [{"postal_range": ["01000"]}]},
            "A territory's postal_range must be two postal codes, first and last",
        ),
        (
            {"territories": [{"postal_range": ["1000", "01999"]}]},
            "A territory's postal_range needs two codes of the same length",
        ),
        (
            {"territories": [{"postal_range": ["02000", "01999"]}]},
            "A territory's postal_range must not start after it ends",
        ),
        (
            {"territories": [{"radius_km": 0}], **SAO_PAULO},
            "A territory's radius_km must be a number of kilometres above 0 and at most 20,000",
        ),
        (
            {"territories": [{"radius_km": "50"}], **SAO_PAULO},
            "A territory's radius_km must be a number",
        ),
        (
            {"territories": [{"radius_km": 50}]},
            "An agent with a radius_km territory needs a base location",
        ),
    ],
)
async def test_bad_territory_is_refused(
    client: Client, auth: dict[str, str], agent: dict[str, Any], detail: str
) -> None:
    response = await client.post("/api/v1/agents", json={"name": "X", **agent}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


async def test_radius_agent_keeps_its_base_location(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana", territories=[{"radius_km": 50}], **SAO_PAULO)

    moved = await client.patch(
        f"/api/v1/agents/{ana}", json={"latitude": -22.906, "longitude": -43.182}, headers=auth
    )
    cleared = await client.patch(
        f"/api/v1/agents/{ana}", json={"latitude": None, "longitude": None}, headers=auth
    )
    unbounded = await client.patch(
        f"/api/v1/agents/{ana}",
        json={"latitude": None, "longitude": None, "territories": [{"country": "BR"}]},
        headers=auth,
    )

    assert moved.status_code == 200
    assert cleared.status_code == 422
    assert cleared.json()["detail"].startswith("An agent with a radius_km territory needs")
    assert unbounded.status_code == 200
