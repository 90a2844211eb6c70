"""A discrete-event simulation: one lead stream through each strategy, same seeds.

Agents behave by hidden truths the router never sees; routing uses the real ranking
code (``backend.routing.strategies``) and the ``score`` strategy learns through the
same incremental updates as live scoring (``backend.scoring.model``).

Agents-model file (JSON); every field but ``agents`` has a default::

    {
      "name": "default",
      "leads": {"count": 2000, "per_hour": 2.0, "value_median": 3000, "value_sigma": 0.8},
      "rule": {"accept_timeout_s": 1800, "contact_timeout_s": 86400,
               "performance_weighting": false, "self_healing": true,
               "manager_review_h": 24},
      "outcome": {"median_s": 172800, "sigma": 0.7, "feedback_horizon_s": 1209600},
      "scoring": {"half_life_days": 30, "prior_strength": 4,
                  "unreachable_after_misses": 3, "weights": {"acceptance": 2, ...}},
      "partners": [{"id": "north", "fair_share": 1.0}],
      "agent_defaults": {...any agent field...},
      "agents": [
        {"id": "e01", "kind": "employee", "team": "inside", "partner": null,
         "tier": 1, "capacity": 10,
         "accept": 0.9, "ignore": 0.03, "response_median_s": 300, "response_sigma": 1.0,
         "contact": 0.95, "contact_median_s": 3600, "contact_sigma": 1.0,
         "convert": 0.25, "feedback": 0.9,
         "stop_after_offers": null, "stop_at_h": null}
      ]
    }

An agent ignores an offer with probability ``ignore``; otherwise answers after a
log-normal delay (an answer later than the accept timeout is an expiry) and accepts
with probability ``accept``. An accepted lead is contacted with probability ``contact``
after a log-normal delay, closes after ``outcome`` (won with probability ``convert``)
and has its outcome reported with probability ``feedback``. From ``stop_at_h`` hours
into the run, or after ``stop_after_offers`` offers, the agent answers nothing.

The rule: declined and expired offers re-route the lead to an agent not yet tried;
capacity counts pending offers and open accepted leads; an accepted lead with no
contact by its offer's contact deadline is withdrawn. A lead is lost (its value is
lost revenue) when no contact came within ``contact_timeout_s`` of its arrival, and
unassigned when nobody eligible was left. Agents work around the clock. With
``self_healing`` every strategy skips agents marked unreachable; ``manager_review_h``
after the alert a manager checks with the agent and restores one who has not really
stopped (a false alarm), and leaves one who has. ``partner_share`` is
each partner's share of offered leads divided by its fair share among the groups of
the pool (employees count as one group of share 1, as in live routing).
"""

from __future__ import annotations

import heapq
import json
import math
import random
import statistics
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.routing.facts import FAIR_SHARE_WINDOW
from backend.routing.strategies import (
    Candidate,
    Turn,
    hold_back_by_fair_share,
    hold_back_lower_tiers,
    rank,
)
from backend.scoring import model
from backend.scoring.model import Prior, Reach, ScoringConfig, Stats

STRATEGIES = ("round_robin", "least_loaded", "score")
HOUR = 3600.0
MAX_LEADS = 100_000  # a simulated stream beyond this takes minutes and proves nothing more
DAY = 86400.0
SCENARIOS_DIR = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class AgentSpec:
    """One agent's place in the roster and true behaviour, hidden from the router."""

    id: str
    kind: str = "employee"
    team: str | None = None
    partner: str | None = None
    tier: int = 1
    capacity: int = 10
    weight: int = 1
    accept: float = 0.85
    ignore: float = 0.05
    response_median_s: float = 600.0
    response_sigma: float = 1.0
    contact: float = 0.85
    contact_median_s: float = 4 * HOUR
    contact_sigma: float = 1.0
    convert: float = 0.2
    feedback: float = 0.85
    stop_after_offers: int | None = None
    stop_at_h: float | None = None

    @property
    def name(self) -> str:
        return self.id

    @property
    def group(self) -> str:
        """The peer group whose average a newcomer is shrunk toward, as live scoring does."""
        if self.team:
            return f"team:{self.team}"
        return f"partner:{self.partner}" if self.partner else "everyone"


@dataclass(frozen=True)
class LeadIn:
    at: float
    value: float


@dataclass(frozen=True)
class Scenario:
    name: str
    agents: tuple[AgentSpec, ...]
    leads: tuple[LeadIn, ...] = ()
    lead_count: int = 2000
    per_hour: float = 2.0
    value_median: float = 3000.0
    value_sigma: float = 0.8
    fair_shares: Mapping[str, float] = field(default_factory=dict)
    accept_timeout_s: float = 1800.0
    contact_timeout_s: float = DAY
    performance_weighting: bool = False
    self_healing: bool = True
    manager_review_s: float = DAY
    outcome_median_s: float = 2 * DAY
    outcome_sigma: float = 0.7
    feedback_horizon_s: float = 14 * DAY
    scoring: ScoringConfig = field(default_factory=ScoringConfig)

    def lead_stream(self, seed: int) -> tuple[LeadIn, ...]:
        """The given leads, or a Poisson stream with log-normal values from ``seed``."""
        if self.leads:
            return self.leads
        rng = random.Random(f"{seed}:leads")
        at, stream = 0.0, []
        for _ in range(self.lead_count):
            at += rng.expovariate(self.per_hour / HOUR)
            value = rng.lognormvariate(math.log(self.value_median), self.value_sigma)
            stream.append(LeadIn(at, round(value, 2)))
        return tuple(stream)


@dataclass(frozen=True)
class Reaction:
    """Everything an agent would do with one lead, drawn up front so strategies agree."""

    answers: bool
    response_s: float
    accepts: bool
    contacts: bool
    contact_s: float
    wins: bool
    reports: bool
    outcome_s: float


def react(spec: AgentSpec, scenario: Scenario, seed: int, lead: int) -> Reaction:
    """The agent's reaction to lead number ``lead``: the same under every strategy."""
    rng = random.Random(f"{seed}:{lead}:{spec.id}")
    return Reaction(
        answers=rng.random() >= spec.ignore,
        response_s=rng.lognormvariate(math.log(spec.response_median_s), spec.response_sigma),
        accepts=rng.random() < spec.accept,
        contacts=rng.random() < spec.contact,
        contact_s=rng.lognormvariate(math.log(spec.contact_median_s), spec.contact_sigma),
        wins=rng.random() < spec.convert,
        reports=rng.random() < spec.feedback,
        outcome_s=rng.lognormvariate(math.log(scenario.outcome_median_s), scenario.outcome_sigma),
    )


@dataclass
class AgentState:
    spec: AgentSpec
    stats: Stats = field(default_factory=Stats)
    reach: Reach = field(default_factory=Reach)
    load: int = 0
    offers: int = 0
    stopped_at: float | None = None
    offers_after_stop: int = 0
    detected_after: int | None = None
    false_alarms: int = 0

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def name(self) -> str:
        return self.spec.id

    @property
    def weight(self) -> int:
        return self.spec.weight

    def stops_by(self, at: float) -> bool:
        """Whether the agent has silently stopped by ``at``; remembers when it began."""
        spec = self.spec
        by_time = spec.stop_at_h is not None and at >= spec.stop_at_h * HOUR
        by_count = spec.stop_after_offers is not None and self.offers >= spec.stop_after_offers
        if (by_time or by_count) and self.stopped_at is None:
            self.stopped_at = at if spec.stop_at_h is None else min(at, spec.stop_at_h * HOUR)
        return by_time or by_count


@dataclass
class LeadState:
    index: int
    arrival: float
    value: float
    due: float
    tried: set[str] = field(default_factory=set)
    accepted_at: float | None = None
    contacted_at: float | None = None
    won: bool = False
    unassigned: bool = False

    @property
    def lost(self) -> bool:
        return self.contacted_at is None or self.contacted_at > self.due


@dataclass
class OfferState:
    lead: LeadState
    agent: AgentState
    offered_at: float
    reaction: Reaction
    status: str = "pending"
    accepted_at: float = 0.0
    contact_due: float = 0.0


@dataclass(frozen=True)
class StrategyResult:
    strategy: str
    leads: int
    lost_leads: int
    lost_revenue: float
    lrl: float
    pursuit_rate: float
    accept_time_p50_s: float | None
    contact_time_p50_s: float | None
    won_revenue: float
    unassigned: int
    offers: int
    partner_share: dict[str, float]
    offers_by_agent: dict[str, int]
    stopped_agents: dict[str, dict[str, Any]]
    false_alarms: int

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "strategy"}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _as_roster_agent(agent: AgentState) -> Any:
    """Ranking reads only ``id``, ``name`` and ``weight`` of a candidate's agent."""
    return agent


class Run:
    """One strategy over one lead stream; ``execute`` answers the figures."""

    def __init__(self, scenario: Scenario, strategy: str, seed: int) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
        self.scenario, self.strategy, self.seed = scenario, strategy, seed
        self.config = scenario.scoring
        self.agents = [AgentState(spec) for spec in scenario.agents]
        self.by_id = {agent.id: agent for agent in self.agents}
        self.groups: dict[str, Stats] = defaultdict(Stats)
        self.thompson = random.Random(f"{seed}:thompson")
        self.turns: dict[str, Turn] = {}
        self.sequence = 0
        self.served: dict[str | None, deque[float]] = defaultdict(deque)
        self.served_total: dict[str | None, int] = defaultdict(int)
        self.offered_pairs: set[tuple[str | None, int]] = set()
        self.events: list[tuple[float, int, str, OfferState]] = []
        self.counter = 0
        self.offers = 0

    def execute(self) -> StrategyResult:
        timeout = self.scenario.contact_timeout_s
        leads = [
            LeadState(n, lead.at, lead.value, lead.at + timeout)
            for n, lead in enumerate(self.scenario.lead_stream(self.seed))
        ]
        for lead in leads:
            self._advance(lead.arrival)
            self._route(lead, lead.arrival)
        self._advance(math.inf)
        return self._result(leads)

    def _advance(self, until: float) -> None:
        while self.events and self.events[0][0] <= until:
            at, _, kind, offer = heapq.heappop(self.events)
            getattr(self, f"_on_{kind}")(offer, at)

    def _schedule(self, at: float, kind: str, offer: OfferState) -> None:
        self.counter += 1
        heapq.heappush(self.events, (at, self.counter, kind, offer))

    # Routing, as backend.routing.service narrows and ranks the candidates.

    def _route(self, lead: LeadState, at: float) -> None:
        if at >= lead.due:
            return
        candidates = self._candidates(lead)
        if not any(c.eligible for c in candidates):
            lead.unassigned = True
            return
        hold_back_lower_tiers(candidates)
        groups = {c.group for c in candidates if c.in_running}
        if len(groups) > 1 and not self.scenario.performance_weighting:
            shares: dict[str | None, float] = {None: 1.0}
            shares.update(self.scenario.fair_shares)
            hold_back_by_fair_share(candidates, self._served(at), shares)
        running = [c for c in candidates if c.in_running]
        if self.strategy == "score":
            self._sample(running, at)
        ranking = rank(self.strategy, running, self.turns)
        self._offer(lead, self.by_id[ranking.ordered[0].agent.id], at, ranking.next_pass)

    def _candidates(self, lead: LeadState) -> list[Candidate]:
        healing = self.scenario.self_healing
        candidates = []
        for agent in self.agents:
            if agent.id in lead.tried:
                continue
            reasons = []
            if healing and not agent.reach.reachable:
                reasons.append("not reachable")
            if agent.load >= agent.spec.capacity:
                reasons.append("at capacity")
            candidates.append(
                Candidate(
                    agent=_as_roster_agent(agent),
                    load=agent.load,
                    reasons=reasons,
                    tier=agent.spec.tier,
                    group=agent.spec.partner,
                )
            )
        return candidates

    def _sample(self, running: list[Candidate], at: float) -> None:
        priors: dict[str, Prior] = {}
        for c in running:
            agent = self.by_id[c.agent.id]
            group = agent.spec.group
            if group not in priors:
                priors[group] = model.team_prior(self.groups.get(group), at, self.config)
            c.score = model.sample(agent.stats, priors[group], at, self.config, self.thompson)

    def _served(self, at: float) -> dict[str | None, int]:
        since = at - FAIR_SHARE_WINDOW.total_seconds()
        for times in self.served.values():
            while times and times[0] < since:
                times.popleft()
        return {group: len(times) for group, times in self.served.items()}

    def _offer(
        self, lead: LeadState, agent: AgentState, at: float, next_pass: dict[str, float]
    ) -> None:
        lead.tried.add(agent.id)
        self.sequence += 1
        previous = self.turns.get(agent.id, Turn())
        self.turns[agent.id] = Turn(self.sequence, next_pass.get(agent.id, previous.pass_value))
        pair = (agent.spec.partner, lead.index)
        if pair not in self.offered_pairs:
            self.offered_pairs.add(pair)
            self.served[agent.spec.partner].append(at)
            self.served_total[agent.spec.partner] += 1

        stopped = agent.stops_by(at)
        agent.offers += 1
        agent.load += 1
        self.offers += 1
        if stopped:
            agent.offers_after_stop += 1
        reaction = react(agent.spec, self.scenario, self.seed, lead.index)
        offer = OfferState(lead, agent, at, reaction)
        timeout = self.scenario.accept_timeout_s
        if stopped or not reaction.answers or reaction.response_s > timeout:
            self._schedule(at + timeout, "expire", offer)
        else:
            self._schedule(at + reaction.response_s, "answer", offer)

    # What agents and the clock do; each teaches the agent's and the group's statistics.

    def _learn(self, agent: AgentState, observe: Any, *args: Any) -> None:
        observe(agent.stats, *args, self.config)
        observe(self.groups[agent.spec.group], *args, self.config)

    def _on_answer(self, offer: OfferState, at: float) -> None:
        agent, lead = offer.agent, offer.lead
        agent.reach = agent.reach.answered()
        if not offer.reaction.accepts:
            offer.status = "declined"
            self._learn(agent, model.observe_offer, "declined", offer.offered_at, at)
            agent.load -= 1
            self._route(lead, at)
            return
        offer.status, offer.accepted_at = "accepted", at
        offer.contact_due = at + self.scenario.contact_timeout_s
        lead.accepted_at = at
        self._learn(agent, model.observe_offer, "accepted", offer.offered_at, at)
        if offer.reaction.contacts:
            self._schedule(at + offer.reaction.contact_s, "contact", offer)
        self._schedule(offer.contact_due, "contact_due", offer)

    def _on_expire(self, offer: OfferState, at: float) -> None:
        agent = offer.agent
        offer.status = "expired"
        self._learn(agent, model.observe_offer, "expired", offer.offered_at, at)
        was_reachable = agent.reach.reachable
        agent.reach = agent.reach.missed(at, self.config)
        if was_reachable and not agent.reach.reachable:
            if agent.stopped_at is not None:
                agent.detected_after = agent.offers_after_stop
            else:
                agent.false_alarms += 1
            self._schedule(at + self.scenario.manager_review_s, "review", offer)
        agent.load -= 1
        self._route(offer.lead, at)

    def _on_review(self, offer: OfferState, at: float) -> None:
        """The manager told of an unreachable agent calls them, and restores one still there."""
        if offer.agent.stopped_at is None:
            offer.agent.reach = Reach()

    def _on_contact(self, offer: OfferState, at: float) -> None:
        if offer.status != "accepted":
            return
        offer.lead.contacted_at = at
        self._learn(offer.agent, model.observe_contact, offer.accepted_at, at, offer.contact_due)
        self._schedule(at + offer.reaction.outcome_s, "outcome", offer)

    def _on_contact_due(self, offer: OfferState, at: float) -> None:
        if offer.status != "accepted" or offer.lead.contacted_at is not None:
            return
        offer.status = "withdrawn"
        self._learn(offer.agent, model.observe_missed_contact, at)
        offer.agent.load -= 1

    def _on_outcome(self, offer: OfferState, at: float) -> None:
        offer.status = "closed"
        offer.agent.load -= 1
        offer.lead.won = offer.reaction.wins
        if offer.reaction.reports:
            self._learn(offer.agent, model.observe_outcome, offer.reaction.wins, at)
            return
        horizon = max(at, offer.accepted_at + self.scenario.feedback_horizon_s)
        self._schedule(horizon, "feedback_due", offer)

    def _on_feedback_due(self, offer: OfferState, at: float) -> None:
        self._learn(offer.agent, model.observe_missing_outcome, at)

    # Figures.

    def _result(self, leads: list[LeadState]) -> StrategyResult:
        lost = [lead for lead in leads if lead.lost]
        lost_revenue = sum(lead.value for lead in lost)
        accepts = [lead.accepted_at - lead.arrival for lead in leads if lead.accepted_at]
        contacts = [lead.contacted_at - lead.arrival for lead in leads if lead.contacted_at]
        stopped = {
            a.id: {"offers_after_stop": a.offers_after_stop, "detected_after": a.detected_after}
            for a in self.agents
            if a.stopped_at is not None
        }
        return StrategyResult(
            strategy=self.strategy,
            leads=len(leads),
            lost_leads=len(lost),
            lost_revenue=round(lost_revenue, 2),
            lrl=round(lost_revenue / len(leads), 2) if leads else 0.0,
            pursuit_rate=round(sum(1 for x in leads if x.contacted_at) / len(leads), 4),
            accept_time_p50_s=_median(accepts),
            contact_time_p50_s=_median(contacts),
            won_revenue=round(sum(x.value for x in leads if x.won), 2),
            unassigned=sum(1 for lead in leads if lead.unassigned),
            offers=self.offers,
            partner_share=self._partner_share(),
            offers_by_agent={a.id: a.offers for a in self.agents},
            stopped_agents=stopped,
            false_alarms=sum(a.false_alarms for a in self.agents),
        )

    def _partner_share(self) -> dict[str, float]:
        """Each partner's share of offered leads over its fair share among the pool's groups."""
        present = {a.spec.partner for a in self.agents}
        shares = {g: 1.0 if g is None else self.scenario.fair_shares.get(g, 1.0) for g in present}
        offered = sum(self.served_total.values())
        answer = {}
        for partner in sorted(g for g in present if g is not None):
            fair = shares[partner] / sum(shares.values())
            got = self.served_total.get(partner, 0) / offered if offered else 0.0
            answer[partner] = round(got / fair, 3)
        return answer


def simulate(
    scenario: Scenario, seed: int = 1, strategies: Sequence[str] = STRATEGIES
) -> dict[str, StrategyResult]:
    """The same lead stream and the same agents' reactions through each strategy."""
    return {s: Run(scenario, s, seed).execute() for s in strategies}


def as_json(results: Mapping[str, StrategyResult]) -> dict[str, Any]:
    return {strategy: result.as_json() for strategy, result in results.items()}


# The agents-model file.

AGENT_FIELDS = {f.name for f in fields(AgentSpec)}


def _number(
    data: Mapping[str, Any], key: str, default: float, low: float = 0.0, high: float = 1e12
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g} to {high:g}; got {value!r}")
    return float(value)


def _below_zero(value: Any) -> bool:
    return isinstance(value, int | float) and value < 0


def _agent(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> AgentSpec:
    merged = {**defaults, **data}
    unknown = set(merged) - AGENT_FIELDS
    if unknown:
        raise ValueError(f"agent fields {', '.join(sorted(unknown))} are not known")
    if not isinstance(merged.get("id"), str) or not merged["id"]:
        raise ValueError("every agent needs an id")
    negative = sorted(k for k, v in merged.items() if k.endswith("sigma") and _below_zero(v))
    if negative:
        raise ValueError(f"agent {merged['id']}: {', '.join(negative)} must not be negative")
    spec = AgentSpec(**merged)
    for key in ("accept", "ignore", "contact", "convert", "feedback"):
        if not 0.0 <= getattr(spec, key) <= 1.0:
            raise ValueError(f"agent {spec.id}: {key} must be between 0 and 1")
    for key in ("response_median_s", "contact_median_s"):
        if not getattr(spec, key) > 0:
            raise ValueError(f"agent {spec.id}: {key} must be greater than 0")
    if spec.capacity < 0 or spec.tier < 1 or spec.weight < 1:
        raise ValueError(f"agent {spec.id}: capacity, tier and weight must be sensible")
    return spec


def _scoring(data: Mapping[str, Any]) -> ScoringConfig:
    defaults = ScoringConfig()
    return ScoringConfig(
        half_life_s=_number(data, "half_life_days", defaults.half_life_s / DAY) * DAY,
        prior_strength=_number(data, "prior_strength", defaults.prior_strength),
        weights={**defaults.weights, **(data.get("weights") or {})},
        unreachable_after_misses=int(
            _number(data, "unreachable_after_misses", defaults.unreachable_after_misses, 1)
        ),
    )


def parse_scenario(data: Mapping[str, Any], leads: Iterable[LeadIn] = ()) -> Scenario:
    """A scenario from the agents-model file's JSON; ``ValueError`` says what is wrong."""
    defaults = data.get("agent_defaults") or {}
    agents = tuple(_agent(a, defaults) for a in data.get("agents") or [])
    if not agents:
        raise ValueError("the agents model lists no agents")
    if len({a.id for a in agents}) != len(agents):
        raise ValueError("agent ids must be unique")
    stream, rule, outcome = (
        data.get("leads") or {},
        data.get("rule") or {},
        data.get("outcome") or {},
    )
    partners = {
        p["id"]: _number(p, "fair_share", 1.0, low=1e-6) for p in data.get("partners") or []
    }
    unknown = {a.partner for a in agents if a.partner} - set(partners)
    partners.update((p, 1.0) for p in unknown)
    return Scenario(
        name=str(data.get("name", "scenario")),
        agents=agents,
        leads=tuple(leads),
        lead_count=int(_number(stream, "count", 2000, 1, high=MAX_LEADS)),
        per_hour=_number(stream, "per_hour", 2.0, low=1e-3),
        value_median=_number(stream, "value_median", 3000.0),
        value_sigma=_number(stream, "value_sigma", 0.8),
        fair_shares=partners,
        accept_timeout_s=_number(rule, "accept_timeout_s", 1800.0, 1),
        contact_timeout_s=_number(rule, "contact_timeout_s", DAY, 1),
        performance_weighting=bool(rule.get("performance_weighting", False)),
        self_healing=bool(rule.get("self_healing", True)),
        manager_review_s=_number(rule, "manager_review_h", 24.0) * HOUR,
        outcome_median_s=_number(outcome, "median_s", 2 * DAY, 1),
        outcome_sigma=_number(outcome, "sigma", 0.7),
        feedback_horizon_s=_number(outcome, "feedback_horizon_s", 14 * DAY),
        scoring=_scoring(data.get("scoring") or {}),
    )


def load_scenario(path: Path) -> Scenario:
    """Read an agents-model file; ``ValueError`` for a file that is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not a readable JSON agents model: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold one JSON object")
    try:
        return parse_scenario(data)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def default_scenario() -> Scenario:
    return load_scenario(SCENARIOS_DIR / "default.json")
