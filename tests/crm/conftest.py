"""CRM fixtures: the fake HubSpot and Salesforce, a worker on a clock the test moves, leads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.crm import service
from backend.crm.models import CrmOutboxItem
from backend.crm.tasks import CrmWorker
from backend.db import utcnow
from backend.settings import Settings
from tests.factories import Client, link_for, make_agent, make_rule

from .fakes import FakeHubSpot, FakeSalesforce


class Clock:
    """Real time until frozen; a frozen clock moves only when the test says so."""

    def __init__(self) -> None:
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return self.frozen or utcnow()

    def freeze(self, at: datetime | None = None) -> datetime:
        # A second ahead, so that everything written before it is due.
        self.frozen = at or utcnow() + timedelta(seconds=1)
        return self.frozen


class HalfJitter:
    """Jitter that always lands in the middle: delays are three quarters of their ceiling."""

    def random(self) -> float:
        return 0.5


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def worker(sessions: Any, settings: Settings, clock: Clock) -> AsyncIterator[CrmWorker]:
    made = CrmWorker(
        sessions,
        settings,
        clock=clock,
        rng=HalfJitter(),
        pace=False,
        lease_s=60,  # type: ignore[arg-type]
    )
    yield made
    await made.stop()


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake = FakeHubSpot()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    fake = FakeSalesforce()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def ana(client: Client, auth: dict[str, str]) -> dict[str, Any]:
    """Ana takes every Brazilian lead; answers her id and link-token headers."""
    agent_id = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "Brazil", [agent_id], conditions={"country": ["BR"]})
    return {"id": agent_id, "link": await link_for(client, auth, agent_id)}


async def connect(sessions: Any, settings: Settings, kind: str, base_url: str, **extra: Any) -> str:
    credentials = extra.pop("credentials")
    async with sessions() as session:
        connection = await service.connect(
            session,
            settings.secret_key,
            kind=kind,
            base_url=base_url,
            credentials=credentials,
            **extra,
        )
        return connection.id


async def outbox_rows(sessions: Any) -> list[CrmOutboxItem]:
    async with sessions() as session:
        found = await session.scalars(select(CrmOutboxItem).order_by(CrmOutboxItem.id))
        return list(found.all())


async def accept(client: Client, ana: dict[str, Any], lead_id: str) -> None:
    lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=ana["link"])).json()
    offer = next(o for o in lead["offers"] if o["status"] == "pending")
    response = await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=ana["link"])
    assert response.status_code == 200, response.text


async def log_call(
    client: Client, ana: dict[str, Any], lead_id: str, outcome: str = "connected"
) -> None:
    body = {"kind": "call", "outcome": outcome, "note": "Spoke about the roof"}
    response = await client.post(
        f"/api/v1/leads/{lead_id}/activities", json=body, headers=ana["link"]
    )
    assert response.status_code == 201, response.text
