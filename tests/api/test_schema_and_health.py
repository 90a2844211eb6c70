"""The published contract and the liveness check."""

from __future__ import annotations

from tests.factories import Client


async def test_openapi_lists_the_public_endpoints(client: Client) -> None:
    response = await client.get("/schema/openapi.json")

    paths = response.json()["paths"]
    assert response.status_code == 200
    assert {
        "/api/v1/leads",
        "/api/v1/leads/{lead_id}",
        "/api/v1/offers/{offer_id}/accept",
        "/api/v1/offers/{offer_id}/decline",
        "/api/v1/leads/{lead_id}/activities",
        "/api/v1/agents",
        "/api/v1/rules",
        "/api/v1/rules/preview",
        "/api/v1/metrics/summary",
        "/api/v1/agents/{agent_id}/links",
        "/api/v1/push/key",
        "/health",
    } <= set(paths)


async def test_health_reports_the_database(client: Client) -> None:
    response = await client.get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


async def test_schema_page_loads_only_our_own_scripts(client: Client) -> None:
    page = await client.get("/schema")
    script = await client.get("/static/vendor/redoc-2.5.4.standalone.js")

    assert page.status_code == 200
    assert 'src="/static/vendor/redoc-2.5.4.standalone.js"' in page.text
    assert "https://" not in page.text.split("<body", 1)[0]
    assert script.status_code == 200
