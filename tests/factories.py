"""Building rosters, rules and leads: through the public API, as an integrator would, or
through the services, at an instant the test chooses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.intake.schemas import LeadIn
from backend.intake.service import IntakeResult, submit_inquiry
from backend.roster.service import create_agent
from backend.routing.service import create_rule

Client = httpx.AsyncClient


async def make_agent(client: Client, auth: dict[str, str], name: str, **fields: Any) -> str:
    body = {"name": name, "email": f"{name.lower()}@example.com", "timezone": "UTC", **fields}
    response = await client.post("/api/v1/agents", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_rule(
    client: Client, auth: dict[str, str], name: str, agent_ids: list[str], **fields: Any
) -> str:
    body = {"name": name, "pool": {"agent_ids": agent_ids}, **fields}
    response = await client.post("/api/v1/rules", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def link_for(client: Client, auth: dict[str, str], agent_id: str) -> dict[str, str]:
    response = await client.post(f"/api/v1/agents/{agent_id}/links", headers=auth)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def lead_body(external_id: str, **fields: Any) -> dict[str, Any]:
    """A new prospect for each external id: its own email and no phone unless given, so
    that leads of one test only coalesce when the test means them to."""
    return {
        "source": "web",
        "external_id": external_id,
        "first_name": "Rita",
        "last_name": "Lima",
        "email": f"{external_id}@example.org",
        "phone": None,
        "company": "Lima Energia",
        "country": "BR",
        "region": "SP",
        "postal_code": "01310-100",
        "product": "solar",
        "language": "pt",
        "message": "Need a quote",
        "value": 1000,
        "currency": "BRL",
        **fields,
    }


async def post_lead(
    client: Client, auth: dict[str, str], external_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/leads", json=lead_body(external_id, **fields), headers=auth
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


# The same through the services, for tests that choose the instant each step happens at.


async def add_agent(session: AsyncSession, name: str, **fields: Any) -> str:
    body = {"name": name, "email": f"{name.lower()}@example.com", "timezone": "UTC", **fields}
    return (await create_agent(session, body)).id


async def add_rule(session: AsyncSession, name: str, agent_ids: list[str], **fields: Any) -> str:
    body = {"name": name, "pool": {"agent_ids": agent_ids}, **fields}
    return (await create_rule(session, body)).id


async def submit(
    session: AsyncSession, external_id: str, at: datetime, **fields: Any
) -> IntakeResult:
    body = lead_body(external_id, **fields)
    return await submit_inquiry(session, LeadIn(**body), now=at)
