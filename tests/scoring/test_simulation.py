"""The simulation: reproducible runs, the real ranking code, and learning that pays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.scoring.olist import olist_scenario
from backend.scoring.simulation import (
    AgentSpec,
    Scenario,
    default_scenario,
    load_scenario,
    parse_scenario,
    simulate,
)

RELIABLE = {"accept": 1.0, "ignore": 0.0, "contact": 1.0, "response_median_s": 60.0}
ABSENT = {"accept": 1.0, "ignore": 0.0, "contact": 0.0, "response_median_s": 60.0}


def _tiny(**changes: Any) -> Scenario:
    """One agent who always contacts, one who accepts and never does; room for all."""
    agents = (
        AgentSpec(id="keen", team="t", capacity=1000, **RELIABLE),  # type: ignore[arg-type]
        AgentSpec(id="idle", team="t", capacity=1000, **ABSENT),  # type: ignore[arg-type]
    )
    fields: dict[str, Any] = {
        "name": "tiny",
        "agents": agents,
        "lead_count": 300,
        "contact_timeout_s": 4 * 3600.0,
        **changes,
    }
    return Scenario(**fields)


def test_simulation_same_seed_gives_the_same_figures() -> None:
    scenario = _tiny()

    first = {k: v.as_json() for k, v in simulate(scenario, seed=5).items()}
    again = {k: v.as_json() for k, v in simulate(scenario, seed=5).items()}
    other = {k: v.as_json() for k, v in simulate(scenario, seed=6).items()}

    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert first != other


def test_simulation_score_beats_round_robin_on_a_tiny_scenario() -> None:
    results = simulate(_tiny(), seed=1)

    assert results["round_robin"].lrl > 0
    assert results["score"].lrl < 0.8 * results["round_robin"].lrl
    assert results["score"].offers_by_agent["keen"] > results["score"].offers_by_agent["idle"] > 0


def test_simulation_round_robin_alternates_through_the_real_ranking() -> None:
    results = simulate(_tiny(lead_count=41), seed=1, strategies=["round_robin"])

    offers = results["round_robin"].offers_by_agent

    assert abs(offers["keen"] - offers["idle"]) <= 1


def test_simulation_an_unreachable_agent_receives_no_offers_after_being_marked() -> None:
    agents = (
        AgentSpec(id="keen", team="t", capacity=50, **RELIABLE),  # type: ignore[arg-type]
        AgentSpec(id="gone", team="t", capacity=50, stop_after_offers=2, **RELIABLE),  # type: ignore[arg-type]
    )
    scenario = Scenario(name="gone", agents=agents, lead_count=200, manager_review_s=1e9)

    result = simulate(scenario, seed=3, strategies=["round_robin"])["round_robin"]

    stopped = result.stopped_agents["gone"]
    assert stopped["detected_after"] == 3
    assert result.offers_by_agent["gone"] == 2 + 3


def test_simulation_partner_shares_follow_fair_shares_without_performance_weighting() -> None:
    agents = tuple(
        AgentSpec(id=f"{p}{n}", partner=p, capacity=50, **RELIABLE)  # type: ignore[arg-type]
        for p in ("a", "b")
        for n in range(2)
    )
    scenario = Scenario(name="shares", agents=agents, fair_shares={"a": 3.0, "b": 1.0})

    result = simulate(scenario, seed=2, strategies=["score"])["score"]

    assert result.partner_share == {
        "a": pytest.approx(1.0, abs=0.01),
        "b": pytest.approx(1.0, abs=0.01),
    }


def test_default_scenario_file_loads_with_stopping_agents_and_partners() -> None:
    scenario = default_scenario()

    assert len(scenario.agents) == 18
    assert {a.partner for a in scenario.agents} == {None, "north", "south"}
    assert sum(1 for a in scenario.agents if a.stop_at_h is not None) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agents": []}, "no agents"),
        ({"agents": [{"id": "a"}, {"id": "a"}]}, "unique"),
        ({"agents": [{"id": "a", "accept": 1.5}]}, "between 0 and 1"),
        ({"agents": [{"id": "a", "speed": 1}]}, "speed"),
        ({"agents": [{"id": "a"}], "leads": {"count": 0}}, "count"),
    ],
)
def test_parse_scenario_says_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scenario(data)


def test_load_scenario_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "agents.json"
    path.write_text("not json", encoding="utf-8")

    with pytest.raises(ValueError, match="not a readable JSON"):
        load_scenario(path)


def test_olist_replay_derives_every_sdr_from_the_deals() -> None:
    scenario = olist_scenario()

    assert len(scenario.agents) == 32
    assert len(scenario.leads) == 2000
    assert all(0.0 < a.convert < 1.0 for a in scenario.agents)
    assert scenario.leads == tuple(sorted(scenario.leads, key=lambda lead: lead.at))
