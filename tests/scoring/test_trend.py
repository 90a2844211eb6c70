"""A rep's own score read back, and the daily snapshots behind each agent's trend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.notify.service import Notifier
from backend.pursuit.tasks import Sweeper
from backend.roster.service import create_team
from backend.scoring import service
from backend.scoring.models import ScoreSnapshot
from backend.settings import Settings
from tests.factories import add_agent

NOW = datetime(2026, 3, 30, 9, tzinfo=UTC)


async def _pair(session: Any) -> tuple[str, str]:
    team = await create_team(session, "Inside sales")
    return (
        await add_agent(session, "Ana", team_id=team.id),
        await add_agent(session, "Bruno", team_id=team.id),
    )


async def test_own_score_without_history_is_the_team_prior(sessions: Any) -> None:
    async with sessions() as session:
        ana, _ = await _pair(session)

        own = await service.own_score(session, ana, NOW)

    assert not own.has_history
    assert own.score.score == own.score.prior_score
    assert own.tips == []


async def test_own_score_says_what_costs_most(sessions: Any) -> None:
    async with sessions() as session:
        ana, _ = await _pair(session)
        for n in range(4):
            offered = NOW - timedelta(days=5, hours=n)
            await service.record_offer_outcome(session, ana, "expired", offered, offered)
            await service.restore_agent(session, ana, offered, "manager-1")

        own = await service.own_score(session, ana, NOW)

    assert own.has_history
    assert own.score.score < own.score.prior_score
    assert own.tips[0] == (
        "Accept more of the leads you are offered: about 4 of your 4 offers were declined "
        "or left to expire."
    )


async def test_trend_reads_the_latest_snapshot_of_each_week(sessions: Any) -> None:
    async with sessions() as session:
        ana, bruno = await _pair(session)
        scores = await service.scores_for(session, [ana, bruno], NOW)
        for days_ago, score in ((27, 40.0), (15, 50.0), (13, 55.0), (1, 70.0)):
            at = NOW - timedelta(days=days_ago)
            await service.keep_snapshots(session, {ana: _scored(scores[ana], score)}, at)
        await service.keep_snapshots(session, {ana: _scored(scores[ana], 72.0)}, NOW)

        trend = await service.trends(session, [ana, bruno], NOW)

    assert [(p.day, p.score) for p in trend[ana]] == [
        (date(2026, 3, 2), None),
        (date(2026, 3, 9), 40.0),
        (date(2026, 3, 16), 50.0),
        (date(2026, 3, 23), 55.0),
    ]
    assert [p.score for p in trend[bruno]] == [None] * 4


async def test_keep_snapshots_replaces_the_days_row(sessions: Any) -> None:
    async with sessions() as session:
        ana, _ = await _pair(session)
        scored = (await service.scores_for(session, [ana], NOW))[ana]
        week_ago = NOW - timedelta(days=7)
        await service.keep_snapshots(session, {ana: _scored(scored, 10.0)}, week_ago)
        await service.keep_snapshots(session, {ana: _scored(scored, 20.0)}, week_ago)

        trend = await service.trends(session, [ana], NOW, weeks=1)

    assert [p.score for p in trend[ana]] == [20.0]


def _scored(score: Any, value: float) -> Any:
    return type(score)(value, score.prior_score, score.parts)


async def test_sweeper_keeps_todays_scores_once_a_day(sessions: Any, settings: Settings) -> None:
    async with sessions() as session:
        ana, bruno = await _pair(session)
    sweeper = Sweeper(sessions, Notifier(settings, sessions), 1)

    await sweeper.sweep_once()
    await sweeper.sweep_once()
    async with sessions() as session:
        kept = (await session.scalars(select(ScoreSnapshot))).all()

    today = datetime.now(UTC).date()
    assert sorted((row.agent_id, row.day) for row in kept) == sorted([(ana, today), (bruno, today)])
