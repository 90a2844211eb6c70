"""Tiers, fair shares and strategies over candidates, each outcome worked out by hand."""

from __future__ import annotations

from collections import Counter

import pytest

from backend.roster.models import Agent
from backend.routing.strategies import (
    Candidate,
    Turn,
    hold_back_by_fair_share,
    hold_back_lower_tiers,
    rank,
    shown_records,
    stored_records,
)


def candidate(
    name: str,
    *,
    weight: int = 1,
    tier: int = 1,
    group: str | None = None,
    load: int = 0,
    score: float | None = None,
    reasons: tuple[str, ...] = (),
) -> Candidate:
    agent = Agent(id=name, name=name, weight=weight)
    return Candidate(
        agent=agent, load=load, reasons=list(reasons), score=score, tier=tier, group=group
    )


def names(candidates: list[Candidate]) -> list[str]:
    return [c.agent.id for c in candidates]


def rotate(
    strategy: str, running: list[Candidate], leads: int, turns: dict[str, Turn]
) -> list[str]:
    """Route ``leads`` leads, moving each winner to the back as the routing service does."""
    winners = []
    for _ in range(leads):
        ranking = rank(strategy, running, turns)
        winner = ranking.ordered[0].agent.id
        latest = max((t.sequence for t in turns.values()), default=0)
        turns[winner] = Turn(latest + 1, ranking.next_pass.get(winner))
        winners.append(winner)
    return winners


# Tiers


def test_hold_back_lower_tiers_keeps_the_preferred_tier() -> None:
    a, b, c = candidate("a", tier=2), candidate("b", tier=1), candidate("c", tier=1)

    best = hold_back_lower_tiers([a, b, c])

    assert best == 1
    assert a.held_back == "tier 2 waits while a tier 1 agent is eligible"
    assert (b.in_running, c.in_running) == (True, True)


def test_hold_back_lower_tiers_without_eligible_preferred_uses_the_next_tier() -> None:
    preferred = candidate("a", tier=1, reasons=("inactive",))
    second, third = candidate("b", tier=2), candidate("c", tier=3)

    best = hold_back_lower_tiers([preferred, second, third])

    assert best == 2
    assert (preferred.held_back, second.held_back) == (None, None)
    assert third.held_back == "tier 3 waits while a tier 2 agent is eligible"
    assert names([c for c in (preferred, second, third) if c.in_running]) == ["b"]


def test_hold_back_lower_tiers_without_anyone_eligible_answers_none() -> None:
    a = candidate("a", tier=1, reasons=("inactive",))

    assert hold_back_lower_tiers([a]) is None
    assert a.held_back is None


# Fair shares among partner companies


@pytest.mark.parametrize(
    ("served", "shares", "chosen", "note"),
    [
        ({}, {"p": 1.0, "q": 1.0}, "p", "0 leads in the window, share 50%"),
        ({"p": 3, "q": 2}, {"p": 1.0, "q": 1.0}, "q", "2 leads in the window, share 50%"),
        # 3 of a share of 2 stands at 1.5, below q's 2 of a share of 1.
        ({"p": 3, "q": 2}, {"p": 2.0, "q": 1.0}, "p", "3 leads in the window, share 67%"),
        ({"p": 4, "q": 2}, {"p": 2.0, "q": 1.0}, "p", "4 leads in the window, share 67%"),
        ({"p": 5, "q": 2}, {"p": 2.0, "q": 1.0}, "q", "2 leads in the window, share 33%"),
    ],
)
def test_hold_back_by_fair_share_keeps_the_company_furthest_below_its_share(
    served: dict[str | None, int], shares: dict[str | None, float], chosen: str, note: str
) -> None:
    running = [candidate("ana", group="p"), candidate("bia", group="q")]

    said = hold_back_by_fair_share(running, served, shares)

    assert said == note
    assert [c.group for c in running if c.in_running] == [chosen]
    assert [c.held_back for c in running if not c.in_running] == [
        "their company is ahead of its fair share"
    ]


def test_hold_back_by_fair_share_counts_employees_as_a_company_of_share_one() -> None:
    running = [candidate("emp"), candidate("ana", group="p")]

    said = hold_back_by_fair_share(running, {None: 2, "p": 3}, {None: 1.0, "p": 2.0})

    assert said == "3 leads in the window, share 67%"
    assert names([c for c in running if c.in_running]) == ["ana"]


def test_hold_back_by_fair_share_with_one_company_holds_nobody_back() -> None:
    running = [candidate("ana", group="p"), candidate("bia", group="p")]

    said = hold_back_by_fair_share(running, {"p": 9}, {"p": 1.0})

    assert said is None
    assert names([c for c in running if c.in_running]) == ["ana", "bia"]


def test_hold_back_by_fair_share_over_a_window_gives_leads_in_proportion() -> None:
    served: dict[str | None, int] = {}
    shares: dict[str | None, float] = {"p": 2.0, "q": 1.0}
    winners = []

    for _ in range(6):
        running = [candidate("ana", group="p"), candidate("bia", group="q")]
        hold_back_by_fair_share(running, served, shares)
        [winner] = [c.group for c in running if c.in_running]
        served[winner] = served.get(winner, 0) + 1
        winners.append(winner)

    assert winners == ["p", "q", "p", "p", "q", "p"]
    assert served == {"p": 4, "q": 2}


# Strategies


def test_round_robin_ranks_the_longest_waiting_first() -> None:
    running = [candidate("a"), candidate("b"), candidate("c")]

    ranking = rank("round_robin", running, {"a": Turn(3), "b": Turn(1)})

    assert names(ranking.ordered) == ["c", "b", "a"]
    assert ranking.why == "next in the round-robin rotation"
    assert ranking.next_pass == {}


def test_round_robin_with_an_agent_added_and_one_removed_stays_fair() -> None:
    turns: dict[str, Turn] = {}
    first = rotate("round_robin", [candidate("a"), candidate("b"), candidate("c")], 4, turns)

    later = rotate("round_robin", [candidate("a"), candidate("c"), candidate("d")], 6, turns)

    assert first == ["a", "b", "c", "a"]
    # The newcomer goes next, then the rotation carries on in the order it had.
    assert later == ["d", "c", "a", "d", "c", "a"]


def test_score_ranks_by_score_then_load_then_turn() -> None:
    running = [
        candidate("low", score=40.0),
        candidate("busy", score=70.0, load=3),
        candidate("recent", score=70.0, load=1),
        candidate("waiting", score=70.0, load=1),
    ]

    ranking = rank("score", running, {"recent": Turn(5), "waiting": Turn(2)})

    assert names(ranking.ordered) == ["waiting", "recent", "busy", "low"]
    assert ranking.why == "best draw from the pursuit scores (70), then fewest open leads"


def test_least_loaded_breaks_ties_by_rotation() -> None:
    running = [candidate("a", load=2), candidate("b", load=1), candidate("c", load=1)]

    ranking = rank("least_loaded", running, {"b": Turn(4), "c": Turn(3)})

    assert names(ranking.ordered) == ["c", "b", "a"]
    assert ranking.why == "fewest open leads (1)"


def test_broadcast_keeps_everyone_in_pool_order() -> None:
    running = [candidate("c"), candidate("a"), candidate("b")]

    ranking = rank("broadcast", running, {"c": Turn(9)})

    assert names(ranking.ordered) == ["c", "a", "b"]
    assert ranking.why == "offered to everyone eligible at once; first to accept wins"


def test_weighted_round_robin_from_a_fresh_rotation_follows_the_weights() -> None:
    running = [candidate("a", weight=3), candidate("b", weight=1)]

    winners = rotate("weighted_round_robin", running, 8, {})

    assert winners == ["a", "b", "a", "a", "a", "b", "a", "a"]
    assert Counter(winners) == {"a": 6, "b": 2}


def test_weighted_round_robin_of_three_shares_in_proportion() -> None:
    running = [candidate("a", weight=2), candidate("b", weight=1), candidate("c", weight=1)]

    winners = rotate("weighted_round_robin", running, 12, {})

    assert Counter(winners) == {"a": 6, "b": 3, "c": 3}


def test_weighted_round_robin_says_the_winners_weight_and_next_pass() -> None:
    running = [candidate("a", weight=4), candidate("b", weight=1)]

    ranking = rank("weighted_round_robin", running, {"a": Turn(1, 2.0), "b": Turn(2, 2.5)})

    assert names(ranking.ordered) == ["a", "b"]
    assert ranking.why == "next in the weighted rotation (weight 4)"
    assert ranking.next_pass == {"a": 2.25}


def test_weighted_round_robin_newcomer_joins_at_the_current_pass() -> None:
    turns = {"a": Turn(9, 5.0), "b": Turn(10, 5.0)}
    running = [candidate("a"), candidate("b"), candidate("c")]

    winners = rotate("weighted_round_robin", running, 6, turns)

    assert winners == ["c", "a", "b", "c", "a", "b"]


def test_weighted_round_robin_returning_agent_is_not_flooded() -> None:
    # "c" left long ago with a low pass; the others have moved on to 10.
    turns = {"a": Turn(20, 10.0), "b": Turn(21, 10.0), "c": Turn(3, 1.0)}
    running = [candidate("a"), candidate("b"), candidate("c")]

    winners = rotate("weighted_round_robin", running, 6, turns)

    assert winners == ["c", "a", "b", "c", "a", "b"]


# How a decision stores its candidates


def test_a_stored_candidate_keeps_only_what_differs_from_the_defaults() -> None:
    out = candidate("out", load=0, reasons=("outside working hours",))
    out.load = None
    partner = candidate("partner", tier=2, group="p1", load=3, score=61.5)
    partner.rank = 1
    held = candidate("held", load=0)
    held.held_back = "their company is ahead of its fair share"
    stand_in = candidate("stand-in", load=2)
    stand_in.delegate_for = Agent(id="away", name="Away")

    stored = stored_records([out, partner, held, stand_in])

    assert stored == [
        {"agent_id": "out", "name": "out", "reasons": ["outside working hours"]},
        {
            "agent_id": "partner",
            "name": "partner",
            "rank": 1,
            "load": 3,
            "score": 61.5,
            "tier": 2,
            "partner_id": "p1",
        },
        {
            "agent_id": "held",
            "name": "held",
            "held_back": "their company is ahead of its fair share",
            "load": 0,
        },
        {"agent_id": "stand-in", "name": "stand-in", "load": 2, "delegate_for": "away"},
    ]
    assert shown_records(stored) == [
        {
            "agent_id": "out",
            "name": "out",
            "eligible": False,
            "reasons": ["outside working hours"],
            "held_back": None,
            "rank": None,
            "load": None,
            "score": None,
            "tier": 1,
            "partner_id": None,
            "delegate_for": None,
        },
        {
            "agent_id": "partner",
            "name": "partner",
            "eligible": True,
            "reasons": [],
            "held_back": None,
            "rank": 1,
            "load": 3,
            "score": 61.5,
            "tier": 2,
            "partner_id": "p1",
            "delegate_for": None,
        },
        {
            "agent_id": "held",
            "name": "held",
            "eligible": True,
            "reasons": [],
            "held_back": "their company is ahead of its fair share",
            "rank": None,
            "load": 0,
            "score": None,
            "tier": 1,
            "partner_id": None,
            "delegate_for": None,
        },
        {
            "agent_id": "stand-in",
            "name": "stand-in",
            "eligible": True,
            "reasons": [],
            "held_back": None,
            "rank": None,
            "load": 2,
            "score": None,
            "tier": 1,
            "partner_id": None,
            "delegate_for": "away",
        },
    ]


def test_candidates_stored_whole_are_shown_unchanged() -> None:
    whole = {
        "agent_id": "a",
        "name": "Ana",
        "eligible": True,
        "reasons": [],
        "held_back": None,
        "rank": 1,
        "load": 0,
        "score": None,
        "tier": 1,
        "partner_id": None,
        "delegate_for": None,
    }

    assert shown_records([whole]) == [whole]
    assert list(shown_records([whole])[0]) == list(whole)
    assert shown_records(None) == []
