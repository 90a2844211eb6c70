"""Ranking eligible candidates: tiers, partner fair shares and the rule's strategy.

Pure functions over candidates and the rule's rotation memory, so that live routing,
previews and what-if replays rank the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.routing.records import RosterAgent

STRATEGIES = ("score", "round_robin", "weighted_round_robin", "least_loaded", "broadcast")
NEUTRAL_SCORE = 50.0


@dataclass(frozen=True)
class Turn:
    """Where an agent stands in one rule's rotation; a fresh agent has no pass yet."""

    sequence: int = 0
    pass_value: float | None = None


@dataclass(slots=True)
class Candidate:
    agent: RosterAgent
    load: int | None  # None when the agent was ruled out before open leads were counted
    reasons: list[str]
    score: float | None = None
    tier: int = 1
    group: str | None = None  # the partner company, None for employees
    delegate_for: RosterAgent | None = None
    rank: int | None = None
    held_back: str | None = None

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def in_running(self) -> bool:
        return self.eligible and self.held_back is None

    def as_json(self) -> dict[str, Any]:
        return candidate_records([self])[0]


def candidate_records(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """Every candidate as a decision shows it, the fields in the order they are shown."""
    return shown_records(stored_records(candidates))


# What a stored candidate leaves out when it holds this value; ``eligible`` is never
# stored, since a candidate is eligible exactly when no reason removed it.
UNSTORED_DEFAULTS: dict[str, Any] = {
    "held_back": None,
    "rank": None,
    "load": None,
    "score": None,
    "tier": 1,
    "partner_id": None,
    "delegate_for": None,
}


def stored_records(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """Every candidate as its decision stores it: only what differs from the defaults.

    A decision judges up to hundreds of agents and most fields of most candidates hold
    their default: leaving those out makes the candidates' JSON about 40% smaller. Built in
    one pass, the cheapest form for large pools; ``shown_records`` restores the rest.
    """
    records = []
    for c in candidates:
        record: dict[str, Any] = {"agent_id": c.agent.id, "name": c.agent.name}
        if c.reasons:
            record["reasons"] = c.reasons
        if c.held_back is not None:
            record["held_back"] = c.held_back
        if c.rank is not None:
            record["rank"] = c.rank
        if c.load is not None:
            record["load"] = c.load
        if c.score is not None:
            record["score"] = c.score
        if c.tier != 1:
            record["tier"] = c.tier
        if c.group is not None:
            record["partner_id"] = c.group
        if c.delegate_for is not None:
            record["delegate_for"] = c.delegate_for.id
        records.append(record)
    return records


def shown_records(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Stored candidates with every field, in the order they are shown; records stored
    whole, as decisions before the compact form were, come out the same."""
    shown = []
    for record in stored or []:
        reasons = record.get("reasons") or []
        full = {"agent_id": record["agent_id"], "name": record.get("name")}
        full["eligible"] = not reasons
        full["reasons"] = reasons
        full.update((key, record.get(key, default)) for key, default in UNSTORED_DEFAULTS.items())
        shown.append(full)
    return shown


@dataclass
class Ranking:
    """Candidates best first, what the winner's rotation pass becomes, and why."""

    ordered: list[Candidate]
    why: str
    next_pass: dict[str, float] = field(default_factory=dict)


def hold_back_lower_tiers(candidates: list[Candidate]) -> int | None:
    """Keep only the best tier with an eligible agent in the running; answer that tier."""
    tiers = [c.tier for c in candidates if c.in_running]
    if not tiers:
        return None
    best = min(tiers)
    for c in candidates:
        if c.in_running and c.tier > best:
            c.held_back = f"tier {c.tier} waits while a tier {best} agent is eligible"
    return best


def hold_back_by_fair_share(
    candidates: list[Candidate], served: dict[str | None, int], shares: dict[str | None, float]
) -> str | None:
    """When partner companies compete, only the one furthest below its share stays in.

    ``served`` counts the leads each company (None: employees) received from this rule
    in the rolling window; ``shares`` are their fair shares. Answers the chosen group's
    description, or None when fewer than two groups are in the running.
    """
    # Ties go to the company whose agent comes first in the pool, so replays agree.
    groups = list(dict.fromkeys(c.group for c in candidates if c.in_running))
    if len(groups) < 2:
        return None

    def standing(group: str | None) -> float:
        share = shares.get(group, 1.0) or 1.0
        return served.get(group, 0) / share

    chosen = min(groups, key=standing)
    total = sum(shares.get(g, 1.0) for g in groups)
    for c in candidates:
        if c.in_running and c.group != chosen:
            c.held_back = "their company is ahead of its fair share"
    expected = shares.get(chosen, 1.0) / total if total else 0.0
    return f"{served.get(chosen, 0)} leads in the window, share {expected:.0%}"


def rank(strategy: str, running: list[Candidate], turns: dict[str, Turn]) -> Ranking:
    """Order the candidates still in the running by the strategy, best first."""

    def turn(c: Candidate) -> Turn:
        return turns.get(c.agent.id, Turn())

    if strategy == "broadcast":
        return Ranking(list(running), "offered to everyone eligible at once; first to accept wins")
    if strategy == "weighted_round_robin":
        return _stride(running, turns)
    if strategy == "round_robin":
        ordered = sorted(running, key=lambda c: turn(c).sequence)
        return Ranking(ordered, "next in the round-robin rotation")
    if strategy == "score":
        ordered = sorted(running, key=lambda c: (-(c.score or 0), c.load or 0, turn(c).sequence))
        best = ordered[0]
        why = f"best draw from the pursuit scores ({best.score:g}), then fewest open leads"
        return Ranking(ordered, why)
    ordered = sorted(running, key=lambda c: (c.load or 0, turn(c).sequence))
    return Ranking(ordered, f"fewest open leads ({ordered[0].load})")


def _stride(running: list[Candidate], turns: dict[str, Turn]) -> Ranking:
    """Weighted rotation: each lead advances the winner's pass by 1/weight.

    Passes of agents in steady rotation stay within one stride (at most 1) of the
    highest, so an agent back after an absence is lifted to that floor, and an agent new
    to the rotation joins at the pass of whoever is next in line: joining or returning
    neither floods them with leads nor starves them.
    """
    known = [t.pass_value for t in turns.values() if t.pass_value is not None]
    floor = max(known) - 1.0 if known else 0.0

    def lifted(c: Candidate) -> float | None:
        value = turns.get(c.agent.id, Turn()).pass_value
        return None if value is None else max(value, floor)

    # Below the running agents' passes, a newcomer would take the turns they earned.
    placed = [p for c in running if (p := lifted(c)) is not None]
    joining = min(placed) if placed else floor

    def pass_of(c: Candidate) -> float:
        value = lifted(c)
        return joining if value is None else value

    def key(c: Candidate) -> tuple[float, int]:
        return pass_of(c), turns.get(c.agent.id, Turn()).sequence

    ordered = sorted(running, key=key)
    winner = ordered[0]
    weight = max(winner.agent.weight or 1, 1)
    why = f"next in the weighted rotation (weight {weight})"
    return Ranking(ordered, why, {winner.agent.id: pass_of(winner) + 1.0 / weight})
