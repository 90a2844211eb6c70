"""Notify fixtures: settings with a real-looking VAPID subject, offers to announce, a push service.

The database comes from the shared fixtures in ``tests/conftest.py``: a freshly migrated
SQLite file under ``tmp_path`` (and PostgreSQL when configured), its engine disposed after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.notify.service import Notifier
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent
from backend.settings import Settings

from .fake_push import FakePushService

OFFER_EXPIRES_AT = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)
NOW = datetime(2030, 1, 2, 15, 15, tzinfo=UTC)  # the notifier's clock: 15 minutes before
VAPID_SUBJECT = "mailto:ops@pursuit.example"

MakeOffer = Callable[..., Awaitable[Offer]]
Sessions = async_sessionmaker[AsyncSession]


async def rows(sessions: Sessions, model: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list((await session.scalars(select(model))).all())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, vapid_private_key=None, vapid_subject=VAPID_SUBJECT, smtp_url=None
    )


@pytest.fixture
def make_offer(sessions: Sessions) -> MakeOffer:
    """Add an agent, a lead and a pending offer of that lead to that agent."""

    async def make(
        company: str | None = "Lima Energia",
        email: str | None = "ana@example.com",
        phone: str | None = None,
    ) -> Offer:
        async with sessions() as session:
            agent = Agent(name="Ana Souza", email=email, phone=phone, timezone="UTC")
            lead = Lead(source="web", company=company, product="solar", region="SP", country="BR")
            session.add_all([agent, lead])
            await session.flush()
            offer = Offer(lead_id=lead.id, agent_id=agent.id, expires_at=OFFER_EXPIRES_AT)
            session.add(offer)
            await session.commit()
            return offer

    return make


class Sleeps:
    """Stands in for ``asyncio.sleep``: keeps each wait asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def notifier(
    settings: Settings, sessions: Sessions, sleeps: Sleeps
) -> AsyncIterator[Notifier]:
    notifier = Notifier(settings, sessions, sleep=sleeps, clock=lambda: NOW)
    await notifier.start()
    yield notifier
    await notifier.close()


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    service = FakePushService()
    await service.start()
    yield service
    await service.close()
