"""Offers that reach an agent on no channel count against the agent's reach."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from backend.notify.service import Notifier
from backend.pursuit.models import Lead, LeadEvent, Offer
from backend.roster.models import Agent
from backend.scoring.service import reachability
from backend.settings import Settings
from tests.mail import free_port

from .conftest import Sessions
from .fake_push import FakePushService
from .test_push import subscribe

EXPIRES_AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def unreachable_mail(settings: Settings, sessions: Sessions) -> AsyncIterator[Notifier]:
    """A notifier whose mail server refuses every connection."""
    closed = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    notifier = Notifier(closed, sessions)
    await notifier.start()
    yield notifier
    await notifier.close()


async def offers_to_one_agent(sessions: Sessions, count: int) -> tuple[str, list[str]]:
    async with sessions() as session:
        agent = Agent(name="Ana Souza", email="ana@example.com", timezone="UTC")
        leads = [Lead(source="web", company=f"Firm {n}") for n in range(count)]
        session.add_all([agent, *leads])
        await session.flush()
        offers = [
            Offer(lead_id=lead.id, agent_id=agent.id, expires_at=EXPIRES_AT) for lead in leads
        ]
        session.add_all(offers)
        await session.commit()
        return agent.id, [o.id for o in offers]


async def test_third_offer_reaching_nobody_marks_the_agent_unreachable(
    unreachable_mail: Notifier, push_service: FakePushService, sessions: Sessions
) -> None:
    agent_id, offer_ids = await offers_to_one_agent(sessions, 3)

    statuses = []
    for offer_id in offer_ids:
        await subscribe(sessions, agent_id, push_service.device(f"gone-{offer_id}"))
        notes = await unreachable_mail.notify_offer(offer_id)
        statuses.append([(n.channel, n.status) for n in notes])
    await unreachable_mail.drain()
    async with sessions() as session:
        reach = (await reachability(session, [agent_id]))[agent_id]
        alerts = (await session.scalars(select(LeadEvent).where(LeadEvent.type == "alert"))).all()

    assert statuses == [[("push", "gone"), ("email", "failed")]] * 3
    assert (reach.misses, reach.unreachable_since is not None) == (3, True)
    assert [a.data["agent_id"] for a in alerts] == [agent_id]
    assert alerts[0].data["why"].startswith("Ana Souza could not be reached about 3 offers")


async def test_offer_kept_in_the_outbox_is_no_miss(notifier: Notifier, sessions: Sessions) -> None:
    agent_id, offer_ids = await offers_to_one_agent(sessions, 1)

    [note] = await notifier.notify_offer(offer_ids[0])
    async with sessions() as session:
        reach = (await reachability(session, [agent_id]))[agent_id]

    assert (note.channel, note.status) == ("email", "kept")
    assert (reach.misses, reach.unreachable_since) == (0, None)
