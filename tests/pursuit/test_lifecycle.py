"""The lead lifecycle through the services, at instants chosen by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.errors import BadInput, Conflict, NotFound
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry
from backend.pursuit import service
from backend.pursuit.models import Offer
from backend.roster.service import create_agent, update_agent
from backend.routing.service import create_rule

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def agents(session: Any, *names: str, **fields: Any) -> list[str]:
    return [(await create_agent(session, {"name": n, **fields})).id for n in names]


async def submit(session: Any, external_id: str, at: datetime = T0, **fields: Any) -> Any:
    body = {
        "source": "web",
        "external_id": external_id,
        "company": "Acme",
        "country": "BR",
        **fields,
    }
    return await submit_inquiry(session, LeadIn(**body), now=at)


async def test_round_robin_rotates_and_skips_the_unavailable(sessions: Any) -> None:
    async with sessions() as session:
        a, b, c = await agents(session, "A", "B", "C")
        await create_rule(
            session, {"name": "all", "pool": {"agent_ids": [a, b, c]}, "strategy": "round_robin"}
        )
        picks = [(await submit(session, f"r{i}")).offer.agent_id for i in range(4)]
        await update_agent(session, b, {"active": False})
        later = [(await submit(session, f"s{i}")).offer.agent_id for i in range(3)]

    assert picks == [a, b, c, a]
    assert later == [c, a, c]


async def test_least_loaded_prefers_the_emptiest_queue(sessions: Any) -> None:
    async with sessions() as session:
        a, b = await agents(session, "A", "B")
        await create_rule(
            session, {"name": "all", "pool": {"agent_ids": [a, b]}, "strategy": "least_loaded"}
        )
        first = await submit(session, "l1")
        await service.accept_offer(session, first.offer.id, agent_id=a, now=T0)
        second = await submit(session, "l2")
        third = await submit(session, "l3")

    assert (first.offer.agent_id, second.offer.agent_id, third.offer.agent_id) == (a, b, a)


async def test_capacity_full_pool_leaves_lead_unassigned(sessions: Any) -> None:
    async with sessions() as session:
        (a,) = await agents(session, "A", capacity=1)
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [a]}})
        taken = await submit(session, "c1")
        left = await submit(session, "c2")
        journey = await service.journey(session, left.lead.id)

    assert taken.lead.status == "offered"
    assert left.lead.status == "unassigned" and left.offer is None
    assert journey["decisions"][0].rules_tried == [
        {
            "rule_id": journey["decisions"][0].rules_tried[0]["rule_id"],
            "name": "all",
            "matched": True,
            "why": "no eligible agent in the pool",
        }
    ]
    assert [e.type for e in journey["events"]] == ["received", "unassigned", "alert"]


async def test_rules_are_tried_by_priority_and_fall_through(sessions: Any) -> None:
    async with sessions() as session:
        a, b = await agents(session, "A", "B")
        await create_rule(
            session,
            {
                "name": "solar",
                "priority": 1,
                "conditions": {"product": ["solar"]},
                "pool": {"agent_ids": [a]},
            },
        )
        await create_rule(session, {"name": "rest", "priority": 2, "pool": {"agent_ids": [b]}})
        solar = await submit(session, "p1", product="solar")
        wind = await submit(session, "p2", product="wind")

    assert solar.offer.agent_id == a
    assert wind.offer.agent_id == b


async def test_decline_reroutes_and_never_returns_to_the_decliner(sessions: Any) -> None:
    async with sessions() as session:
        a, b = await agents(session, "A", "B")
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [a, b]}})
        first = await submit(session, "d1")
        lead, second = await service.decline_offer(
            session, first.offer.id, agent_id=a, reason="not_a_fit", now=T0
        )
        lead, third = await service.decline_offer(
            session, second.id, agent_id=b, reason="no_capacity", now=T0
        )

    assert second.agent_id == b
    assert third is None and lead.status == "unassigned"


async def test_expiry_escalates_to_the_named_rule(sessions: Any) -> None:
    async with sessions() as session:
        a, b, m = await agents(session, "A", "B", "Manager")
        backup = await create_rule(
            session,
            {
                "name": "managers",
                "priority": 50,
                "conditions": {"country": ["IS"]},
                "pool": {"agent_ids": [m]},
            },
        )
        await create_rule(
            session,
            {
                "name": "reps",
                "priority": 1,
                "accept_timeout_s": 60,
                "pool": {"agent_ids": [a, b]},
                "escalate_to_rule_id": backup.id,
            },
        )
        await create_rule(session, {"name": "all", "priority": 2, "pool": {"agent_ids": [b]}})
        lead = await submit(session, "x1")
        early = await service.expire_due_offers(session, now=T0 + timedelta(seconds=59))
        moved = await service.expire_due_offers(session, now=T0 + timedelta(seconds=60))
        expired = await session.get(Offer, lead.offer.id)

    assert early == []
    assert expired.status == "expired"
    # An escalation hands the lead to the named rule's pool whatever that rule's conditions.
    assert [o.agent_id for o in moved] == [m]


async def test_contact_marks_pursued_and_outcome_closes(sessions: Any) -> None:
    async with sessions() as session:
        (a,) = await agents(session, "A")
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [a]}})
        result = await submit(session, "o1")
        await service.accept_offer(
            session, result.offer.id, agent_id=a, now=T0 + timedelta(minutes=5)
        )
        await service.log_activity(
            session, result.lead.id, agent_id=a, kind="note", now=T0 + timedelta(minutes=6)
        )
        noted = await service.get_lead(session, result.lead.id)
        noted_status = noted.status
        await service.log_activity(
            session,
            result.lead.id,
            agent_id=a,
            kind="call",
            outcome="won",
            now=T0 + timedelta(minutes=9),
        )
        lead = await service.get_lead(session, result.lead.id)

    assert noted_status == "accepted"
    assert lead.status == "won"
    assert lead.first_contact_at == T0 + timedelta(minutes=9)
    assert lead.closed_at == T0 + timedelta(minutes=9)


async def test_activity_needs_ownership(sessions: Any) -> None:
    async with sessions() as session:
        a, b = await agents(session, "A", "B")
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [a]}})
        result = await submit(session, "w1")
        with pytest.raises(Conflict, match="Accept the offer before logging activity"):
            await service.log_activity(session, result.lead.id, agent_id=a, kind="call")
        await service.accept_offer(session, result.offer.id, agent_id=a, now=T0)
        with pytest.raises(NotFound, match="does not exist or is not yours"):
            await service.log_activity(session, result.lead.id, agent_id=b, kind="call")
        with pytest.raises(BadInput, match="Activity kind 'fax'"):
            await service.log_activity(session, result.lead.id, agent_id=a, kind="fax")


async def test_two_answers_to_one_offer_get_one_winner(sessions: Any) -> None:
    async with sessions() as session:
        (a,) = await agents(session, "A")
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [a]}})
        result = await submit(session, "z1")
    async with sessions() as first, sessions() as second:
        await service.accept_offer(first, result.offer.id, agent_id=a, now=T0)
        with pytest.raises(Conflict, match="already accepted"):
            await service.decline_offer(second, result.offer.id, agent_id=a, reason="spam", now=T0)
    async with sessions() as session:
        statuses = (await session.scalars(select(Offer.status))).all()

    assert statuses == ["accepted"]
