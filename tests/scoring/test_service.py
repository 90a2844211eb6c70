"""Scores kept in the database as events arrive, read back, and the unreachable roster."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.errors import BadInput, NotFound
from backend.roster.service import create_partner, create_team
from backend.scoring import model, service
from backend.scoring.model import ScoringConfig, Stats
from backend.scoring.models import AgentEvidence, GroupEvidence
from tests.factories import add_agent

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def _team(session: Any) -> dict[str, str]:
    team = await create_team(session, "Inside sales")
    return {
        "ana": await add_agent(session, "Ana", team_id=team.id),
        "bruno": await add_agent(session, "Bruno", team_id=team.id),
        "carla": await add_agent(session, "Carla", team_id=team.id),
        "team": team.id,
    }


async def _history(session: Any, ids: dict[str, str]) -> None:
    """Ana accepts and contacts fast and wins; Bruno lets offers expire."""
    for n in range(4):
        offered = START + n * 60 * MINUTE
        await service.record_offer_outcome(
            session, ids["ana"], "accepted", offered, offered + 2 * MINUTE
        )
        await service.record_contact(
            session,
            ids["ana"],
            offered + 2 * MINUTE,
            offered + 30 * MINUTE,
            offered + 24 * 60 * MINUTE,
        )
        await service.record_outcome(session, ids["ana"], True, offered + 120 * MINUTE)
    await service.record_offer_outcome(session, ids["bruno"], "expired", START, START + 15 * MINUTE)
    await session.commit()


async def test_service_round_trip_scores_what_was_recorded(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)

    async with sessions() as session:
        scores = await service.scores_for(
            session, [ids["ana"], ids["bruno"]], START + 6 * 60 * MINUTE
        )

    ana, bruno = scores[ids["ana"]], scores[ids["bruno"]]
    assert ana.score > ana.prior_score > bruno.score
    acceptance = next(p for p in ana.parts if p.name == "acceptance")
    assert acceptance.observations == 4
    assert next(p for p in ana.parts if p.name == "conversion").contribution > 0


async def test_service_newcomer_gets_the_team_prior(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)

        scores = await service.scores_for(session, [ids["carla"], ids["ana"]], START)

    carla = scores[ids["carla"]]
    assert carla.score == carla.prior_score
    assert carla.prior_score == scores[ids["ana"]].prior_score
    defaults = model.team_prior(None, 0.0, service.DEFAULT_CONFIG)
    assert carla.prior_score != model.explain(None, defaults, 0.0, service.DEFAULT_CONFIG).score


async def test_service_keeps_team_evidence_beside_the_agents(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)

        group = await session.get(GroupEvidence, f"team:{ids['team']}")
        rows = (await session.scalars(select(AgentEvidence))).all()

    assert group is not None
    assert group.stats["rates"]["acceptance"][2] == 5
    assert {r.agent_id for r in rows} == {ids["ana"], ids["bruno"]}


async def test_service_partner_reps_are_shrunk_toward_their_company(sessions: Any) -> None:
    async with sessions() as session:
        partner = await create_partner(session, "Parceiro")
        rep = await add_agent(session, "Paula", partner_id=partner.id)
        await service.record_offer_outcome(session, rep, "declined", START, START + MINUTE)
        await session.commit()

        row = await session.get(AgentEvidence, rep)

    assert row is not None
    assert row.peer_group == f"partner:{partner.id}"


async def test_sample_scores_with_fixed_seed_is_reproducible(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)
        agents = [ids["ana"], ids["bruno"], ids["carla"]]

        first = await service.sample_scores(session, agents, START, random.Random(11))
        again = await service.sample_scores(session, agents, START, random.Random(11))

    assert first == again
    assert list(first) == agents


async def test_sample_scores_draws_from_the_stored_evidence_and_team_prior(sessions: Any) -> None:
    now = START + 6 * 60 * MINUTE
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)
        agents = [ids["carla"], ids["ana"], ids["bruno"]]

        drawn = await service.sample_scores(session, agents, now, random.Random(11))

        stored = {r.agent_id: r.stats for r in (await session.scalars(select(AgentEvidence)))}
        team = await session.get(GroupEvidence, f"team:{ids['team']}")
    assert team is not None
    config, moment = service.DEFAULT_CONFIG, now.timestamp()
    prior = model.team_prior(Stats.from_json(team.stats), moment, config)
    evidence = [stored.get(agent) for agent in agents]
    expected = model.sample_many(evidence, [prior] * 3, moment, config, random.Random(11))
    assert drawn == dict(zip(agents, expected, strict=True))


async def test_agent_unreachable_after_misses_and_restored_by_manager(sessions: Any) -> None:
    config = ScoringConfig(unreachable_after_misses=3)
    async with sessions() as session:
        ids = await _team(session)
        bruno = ids["bruno"]
        crossed = []
        for n in range(4):
            at = START + n * 20 * MINUTE
            reach = await service.record_offer_outcome(
                session, bruno, "expired", at, at + 15 * MINUTE, config
            )
            crossed.append(reach.became_unreachable)
        await session.commit()

        assert crossed == [False, False, True, False]
        assert await service.unreachable_agents(session, [bruno, ids["ana"]]) == {bruno}

        restored = await service.restore_agent(session, bruno, START + 3 * 60 * MINUTE, "manager-1")

    assert restored.reachable and restored.misses == 0
    async with sessions() as session:
        assert await service.unreachable_agents(session, [bruno]) == set()
        row = await session.get(AgentEvidence, bruno)
    assert row is not None and row.restored_by == "manager-1"


async def test_an_answer_ends_the_run_of_misses(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        ana = ids["ana"]
        await service.record_offer_outcome(session, ana, "expired", START, START + MINUTE)
        await service.record_notification_failure(session, ana, START + MINUTE)

        answered = await service.record_offer_outcome(
            session, ana, "declined", START, START + 2 * MINUTE
        )
        reach = await service.record_notification_failure(session, ana, START + 3 * MINUTE)

    assert answered.misses == 0
    assert reach.misses == 1 and reach.reachable


async def test_bounced_notifications_mark_unreachable_with_their_reason(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        for n in range(3):
            reach = await service.record_notification_failure(
                session, ids["carla"], START + n * MINUTE
            )

    assert reach.became_unreachable
    assert reach.reason == "notifications_bounced"


async def test_mark_unreachable_by_a_manager_and_again_is_a_no_op(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)

        first = await service.mark_unreachable(session, ids["ana"], START)
        second = await service.mark_unreachable(session, ids["ana"], START + MINUTE)

    assert first.became_unreachable and not second.became_unreachable
    assert second.unreachable_since == START


async def test_leaderboard_orders_a_team_best_first(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)
        await _history(session, ids)
        outsider = await add_agent(session, "Zoe")

        board = await service.leaderboard(session, START, team_id=ids["team"])
        everyone = await service.leaderboard(session, START)

    assert [s.name for s in board] == ["Ana", "Carla", "Bruno"]
    assert outsider in {s.agent_id for s in everyone}


async def test_service_refuses_unknown_agents_and_outcomes(sessions: Any) -> None:
    async with sessions() as session:
        ids = await _team(session)

        with pytest.raises(NotFound):
            await service.record_outcome(session, "missing", True, START)
        with pytest.raises(BadInput):
            await service.record_offer_outcome(session, ids["ana"], "withdrawn", START, START)
        with pytest.raises(BadInput):
            await service.mark_unreachable(session, ids["ana"], START, reason="bored")
        with pytest.raises(NotFound):
            await service.scores_for(session, ["missing"], START)
        partly_known = {ids["ana"]: (ids["team"], None)}
        with pytest.raises(NotFound, match="missing"):
            await service.sample_scores(
                session, [ids["ana"], "missing"], START, random.Random(1), known=partly_known
            )


def test_scoring_settings_read_from_the_environment() -> None:
    config = service.config_from_env(
        {
            "PURSUIT_SCORE_HALF_LIFE_DAYS": "14",
            "PURSUIT_SCORE_UNREACHABLE_AFTER": "5",
            "PURSUIT_SCORE_WEIGHTS": "contact_on_time=4, conversion=0",
        }
    )

    assert config.half_life_s == 14 * 86400
    assert config.unreachable_after_misses == 5
    assert (config.weights["contact_on_time"], config.weights["conversion"]) == (4.0, 0.0)
    assert config.weights["acceptance"] == 2.0


@pytest.mark.parametrize(
    "environ",
    [
        {"PURSUIT_SCORE_HALF_LIFE_DAYS": "soon"},
        {"PURSUIT_SCORE_UNREACHABLE_AFTER": "0"},
        {"PURSUIT_SCORE_WEIGHTS": "charm=3"},
    ],
)
def test_bad_scoring_setting_is_named(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="PURSUIT_SCORE_"):
        service.config_from_env(environ)
