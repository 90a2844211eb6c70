"""Pursuit scores learned from the lead lifecycle, and used by routing."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.pursuit import service
from backend.pursuit.models import LeadEvent
from backend.routing import service as routing_service
from backend.scoring import service as scoring
from tests.factories import add_agent, add_rule, submit

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
Sessions = Any


async def test_answers_contacts_and_outcomes_become_evidence(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
        await add_rule(session, "all", [ana], contact_timeout_s=3600)
        first = await submit(session, "e1", T0)
        await service.accept_offer(
            session, first.offer.id, agent_id=ana, now=T0 + timedelta(minutes=10)
        )
        await service.log_activity(
            session,
            first.lead.id,
            agent_id=ana,
            kind="call",
            outcome="won",
            now=T0 + timedelta(minutes=40),
        )
        second = await submit(session, "e2", T0 + timedelta(hours=1))
        await service.decline_offer(
            session,
            second.offer.id,
            agent_id=ana,
            reason="not_a_fit",
            now=T0 + timedelta(hours=1, minutes=5),
        )
        (score,) = (await scoring.scores_for(session, [ana], T0 + timedelta(hours=2))).values()

    parts = {p.name: p for p in score.parts}
    assert parts["acceptance"].observations == 2
    assert parts["contact_on_time"].observations == 1
    assert parts["conversion"].observations == 1


async def test_agent_whose_offers_keep_expiring_stops_getting_leads_until_restored(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
        bia = await add_agent(session, "Bia")
        await add_rule(session, "Ana first", [ana], priority=1, accept_timeout_s=60)
        await add_rule(session, "Bia next", [bia], priority=2, accept_timeout_s=86400)
        for n in range(3):
            at = T0 + timedelta(minutes=10 * n)
            await submit(session, f"x{n}", at)
            await service.expire_due_offers(session, now=at + timedelta(seconds=60))
        alerts = (await session.scalars(select(LeadEvent).where(LeadEvent.type == "alert"))).all()
        skipped = await submit(session, "x3", T0 + timedelta(hours=1))
        await scoring.restore_agent(session, ana, T0 + timedelta(hours=2), by="user:1")
        back = await submit(session, "x4", T0 + timedelta(hours=3))
        decision = (await service.journey(session, skipped.lead.id))["decisions"][0]

    assert [a.data["agent_id"] for a in alerts] == [ana]
    assert alerts[0].data["why"].startswith("Ana let 3 offers in a row expire")
    assert skipped.offer.agent_id == bia
    assert decision.rules_tried[0]["why"] == "no eligible agent in the pool"
    assert back.offer.agent_id == ana


@pytest.mark.parametrize(("seed", "split"), [(2, (14, 6)), (5, (19, 1))])
async def test_score_strategy_gives_the_proven_agent_more_leads_and_the_weak_some(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch, seed: int, split: tuple[int, int]
) -> None:
    monkeypatch.setattr(routing_service, "SCORE_DRAWS", random.Random(seed))
    async with sessions() as session:
        good = await add_agent(session, "Good", capacity=1000)
        weak = await add_agent(session, "Weak", capacity=1000)
        rule = await add_rule(session, "warm-up", [good, weak], strategy="round_robin")
        for n in range(16):
            at = T0 + timedelta(minutes=n)
            offered = await submit(session, f"h{n}", at)
            answer = at + timedelta(minutes=1)
            if offered.offer.agent_id == good:
                await service.accept_offer(session, offered.offer.id, agent_id=good, now=answer)
            else:
                await service.decline_offer(
                    session, offered.offer.id, agent_id=weak, reason="other", now=answer
                )
        await routing_service.update_rule(session, rule, {"active": False})
        await add_rule(session, "scored", [good, weak], strategy="score")
        later = T0 + timedelta(hours=1)
        picks: Counter[str] = Counter()
        for n in range(20):
            offered = await submit(session, f"s{n}", later + timedelta(minutes=n))
            picks[offered.offer.agent_id] += 1

    # Fixed draws: the proven agent gets most leads, the one who declined still a few.
    assert (picks[good], picks[weak]) == split


async def test_contacted_lead_without_outcome_counts_once_after_the_horizon(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
        await add_rule(session, "all", [ana])
        offered = await submit(session, "o1", T0)
        await service.accept_offer(session, offered.offer.id, agent_id=ana, now=T0)
        await service.log_activity(session, offered.lead.id, agent_id=ana, kind="call", now=T0)
        early = await service.note_missing_outcomes(session, now=T0 + timedelta(days=29))
        counted = await service.note_missing_outcomes(session, now=T0 + timedelta(days=30))
        again = await service.note_missing_outcomes(session, now=T0 + timedelta(days=60))
        (score,) = (await scoring.scores_for(session, [ana], T0 + timedelta(days=30))).values()

    feedback = next(p for p in score.parts if p.name == "feedback")
    assert (early, counted, again) == (0, 1, 0)
    assert feedback.observations == 1
