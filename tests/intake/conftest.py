"""Inlets as an admin sets them up: a rep, a catch-all rule and inlets made over the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_agent, make_rule


async def make_inlet(
    client: httpx.AsyncClient, auth: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"kind": "form", "slug": "contact", "source": "web", "name": "Talk to sales", **fields}
    response = await client.post("/api/v1/inlets", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
async def rep(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    agent_id = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "everything", [agent_id])
    return agent_id
