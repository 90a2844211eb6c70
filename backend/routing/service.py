"""Choosing the agent for a lead: rules by priority, eligible candidates, a strategy."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Float, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.access.audit import record_change, snapshot
from backend.direct import run
from backend.errors import BadInput, NotFound
from backend.identity.service import COUNTRIES
from backend.roster.models import Agent
from backend.routing.eligibility import (
    CONDITION_KEYS,
    TEXT_CONDITIONS,
    Clock,
    Judgement,
    LeadFacts,
    LeadView,
)
from backend.routing.facts import DatabaseFacts, RoutingFacts
from backend.routing.models import Rotation, Rule
from backend.routing.records import RosterAgent, RoutingRule
from backend.routing.strategies import (
    NEUTRAL_SCORE,
    STRATEGIES,
    Candidate,
    Turn,
    candidate_records,
    hold_back_by_fair_share,
    hold_back_lower_tiers,
    rank,
)
from backend.scoring import service as scoring

logger = logging.getLogger(__name__)

SCORE_DRAWS = random.Random()  # reseeded by tests that need a fixed sequence of draws
TIMEOUT_CEILINGS = {"accept_timeout_s": 30 * 86400, "contact_timeout_s": 365 * 86400}
PRIORITY_CEILING = 1_000_000
# Agents whose offers kept expiring get nothing until a manager restores them.
UNREACHABLE = "not reachable: recent offers all expired; a manager can restore"


@dataclass
class Choice:
    """The outcome of one routing step, before anything is saved.

    ``agents`` holds one agent, or everyone offered at once when the rule broadcasts.
    """

    rule: RoutingRule | None
    agents: list[RosterAgent] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    rules_tried: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""
    next_pass: dict[str, float] = field(default_factory=dict)

    @property
    def agent(self) -> RosterAgent | None:
        return self.agents[0] if self.agents else None

    @property
    def broadcast(self) -> bool:
        return self.rule is not None and self.rule.strategy == "broadcast"


async def active_rules(session: AsyncSession) -> list[RoutingRule]:
    """Active rules by priority, as records shared between decisions."""
    return await DatabaseFacts(session).active_rules()


async def escalation_chain(session: AsyncSession, rule_id: str | None) -> list[RoutingRule]:
    """The rule an escalation goes to, then its own escalation target, and so on."""
    chain: list[RoutingRule] = []
    seen: set[str] = set()
    while rule_id is not None and rule_id not in seen:
        seen.add(rule_id)
        rule = await session.get(Rule, rule_id)
        if rule is None:
            break
        if rule.active:
            chain.append(RoutingRule.of(rule))
        rule_id = rule.escalate_to_rule_id
    return chain


async def choose(
    session: AsyncSession,
    lead: LeadFacts,
    now: datetime,
    lead_id: str | None = None,
    *,
    rules: Sequence[RoutingRule] | None = None,
    facts: RoutingFacts | None = None,
    lock: bool = True,
    draws: random.Random | None = None,
    previous_owner: str | None = None,
) -> Choice:
    """Try rules in order until one has an eligible agent.

    ``previous_owner`` names the owner of the prospect's earlier lead when intake knows it;
    otherwise the latest owner of a lead with the same email or phone is looked up.

    Without ``rules`` every active rule whose conditions hold is tried by priority. With
    an escalation ladder, each step's pool is tried whatever its conditions: naming a
    rule as the escalation step means "hand the lead to that pool".
    """
    facts = facts or DatabaseFacts(session)
    database = facts if isinstance(facts, DatabaseFacts) else DatabaseFacts(session)
    if database is facts:
        await database.prefetch(lead, lead_id)
    on_ladder = rules is not None
    if rules is None:
        rules = await database.active_rules()
    history = await facts.history(lead_id)
    previous = previous_owner or await facts.previous_owner(lead, lead_id)
    tried: list[dict[str, Any]] = []
    passed_over: dict[str, Candidate] = {}
    judgement = Judgement(LeadView.of(lead), Clock(now), history)

    for rule in rules:
        mismatch = None if on_ladder else rule.matcher.mismatch(lead)
        if mismatch is not None:
            tried.append({"rule_id": rule.id, "name": rule.name, "matched": False, "why": mismatch})
            continue
        if lock and database is facts:
            # Before loads are counted: routers of one rule queued here see each other's offers.
            await database.lock_rule(rule.id)
        candidates = await _candidates(facts, rule, judgement)
        if rule.strategy == "score":
            await _draw_scores(session, candidates, now, draws or SCORE_DRAWS)
        if not any(c.eligible for c in candidates):
            why = "no eligible agent in the pool" if candidates else "the pool is empty"
            tried.append({"rule_id": rule.id, "name": rule.name, "matched": True, "why": why})
            passed_over.update((c.agent.id, c) for c in candidates if c.agent.id not in passed_over)
            continue
        choice = await _select(facts, rule, candidates, now, previous, lock=False)
        tried.append({"rule_id": rule.id, "name": rule.name, "matched": True, "why": "routed"})
        choice.rules_tried = tried
        return choice

    explanation = "no rule had an eligible agent" if rules else "no active routing rule"
    # Everyone the matching rules had to pass over, so the manager queue can say why.
    return Choice(None, [], list(passed_over.values()), tried, explanation)


async def _draw_scores(
    session: AsyncSession, candidates: list[Candidate], now: datetime, draws: random.Random
) -> None:
    """One Thompson draw from each eligible agent's pursuit score, so strong agents get more
    leads while uncertain newcomers still get some."""
    eligible = [c.agent for c in candidates if c.eligible]
    known = {a.id: (a.team_id, a.partner_id) for a in eligible}
    drawn = await scoring.sample_scores(session, list(known), now, draws, known=known)
    for c in candidates:
        c.score = round(drawn[c.agent.id], 1) if c.agent.id in drawn else None


async def preview(session: AsyncSession, lead: LeadFacts, now: datetime) -> dict[str, Any]:
    """The decision routing would take for a sample lead at ``now``; nothing is kept."""
    choice = await choose(session, lead, now, lock=False)
    answer = {
        "rule_id": choice.rule.id if choice.rule else None,
        "agent_id": choice.agent.id if choice.agent else None,
        "agent_ids": [a.id for a in choice.agents],
        "candidates": candidate_records(choice.candidates),
        "rules_tried": choice.rules_tried,
        "explanation": choice.explanation,
    }
    await session.rollback()
    return answer


async def _candidates(
    facts: RoutingFacts, rule: RoutingRule, judgement: Judgement
) -> list[Candidate]:
    """The pool, with delegates standing in for agents who are out of office.

    What rules an agent out without the database (absence, fit, this lead's history) is
    judged first; open leads and today's offers are counted only for the agents left, so
    an agent ruled out records those reasons and no load.
    """
    now = judgement.clock.now
    pool = await facts.pool_agents(rule.pool)
    absent = [a for a in pool if a.delegate_id and _out_of_office(a, now)]
    stand_ins: list[tuple[RosterAgent, RosterAgent]] = []
    if absent:
        in_pool = {a.id: a for a in pool}
        wanted = {a.delegate_id for a in absent if a.delegate_id}
        delegates = await facts.agents(wanted - in_pool.keys())
        delegates.update({i: in_pool[i] for i in wanted & in_pool.keys()})
        stand_ins = [(delegates[a.delegate_id], a) for a in absent if a.delegate_id in delegates]

    judged: list[tuple[RosterAgent, RosterAgent, RosterAgent | None, list[str]]]
    reasons = judgement.each((a.id, a.profile, a.profile) for a in pool)
    judged = [(a, a, None, why) for a, why in zip(pool, reasons, strict=True)]
    if stand_ins:
        # A delegate takes the absent agent's leads: their availability, the absent one's fit.
        reasons = judgement.each((d.id, d.profile, a.profile) for d, a in stand_ins)
        judged += [(d, a, a, why) for (d, a), why in zip(stand_ins, reasons, strict=True)]
        # A delegate from the same pool who may take the lead as themselves needs no second seat.
        own_right = {
            agent.id for agent, _, stand_in, reasons in judged if not stand_in and not reasons
        }
        judged = [
            (
                agent,
                fit_of,
                stand_in,
                [IN_OWN_RIGHT] if stand_in and agent.id in own_right else reasons,
            )
            for agent, fit_of, stand_in, reasons in judged
        ]
    left = list({agent.id: agent for agent, _, _, reasons in judged if not reasons}.values())
    standing = await facts.standing(left, now)
    loads, today, unreachable = standing.loads, standing.offered_today, standing.unreachable
    score = NEUTRAL_SCORE if rule.strategy == "score" else None

    def candidate(
        agent: RosterAgent, fit_of: RosterAgent, stand_in: RosterAgent | None, reasons: list[str]
    ) -> Candidate:
        # Another seat of the same agent may have been counted; a seat ruled out keeps its reasons.
        load = None if reasons else loads.get(agent.id)
        if load is not None:
            reasons = agent.profile.overload(load, today.get(agent.id, 0))
            if not reasons and agent.id in unreachable:
                reasons = [UNREACHABLE]
        return Candidate(agent, load, reasons, score, fit_of.tier, fit_of.partner_id, stand_in)

    return [candidate(*seat) for seat in judged]


IN_OWN_RIGHT = "already a candidate in their own right"


def _out_of_office(agent: RosterAgent, now: datetime) -> bool:
    return agent.out_of_office_until is not None and agent.out_of_office_until > now


async def _select(
    facts: RoutingFacts,
    rule: RoutingRule,
    candidates: list[Candidate],
    now: datetime,
    previous_owner: str | None,
    lock: bool,
) -> Choice:
    """Narrow the eligible to a tier and a company's fair share, then apply the strategy."""
    eligible = [c for c in candidates if not c.reasons]
    returning = next((c for c in eligible if c.agent.id == previous_owner), None)
    if returning is not None and rule.strategy != "broadcast":
        returning.rank = 1
        why = "the prospect's previous owner, who is eligible again"
        return Choice(rule, [returning.agent], candidates, [], _explain(rule, [returning], why))

    tier = hold_back_lower_tiers(eligible)
    share_note = None
    groups = {c.group for c in eligible if c.held_back is None}
    if len(groups) > 1 and not rule.performance_weighting:
        served = await facts.served_by_group(rule.id, now)
        shares = await facts.shares({g for g in groups if g is not None})
        share_note = hold_back_by_fair_share(eligible, served, shares)

    running = [c for c in eligible if c.held_back is None]
    turns: dict[str, Turn] = {}
    if rule.strategy != "broadcast":
        # Weighted rotation lifts returning agents to the whole rotation's floor.
        wanted = None if rule.strategy == "weighted_round_robin" else [c.agent.id for c in running]
        turns = await facts.turns(rule.id, lock, wanted)
    ranking = rank(rule.strategy, running, turns)
    for position, c in enumerate(ranking.ordered, start=1):
        c.rank = 1 if rule.strategy == "broadcast" else position
    winners = ranking.ordered if rule.strategy == "broadcast" else ranking.ordered[:1]

    why = ranking.why
    if tier is not None and any(c.held_back and c.held_back.startswith("tier") for c in eligible):
        why += f"; tier {tier} first"
    if share_note:
        why += f"; fair share among partner companies ({share_note})"
    choice = Choice(rule, [c.agent for c in winners], candidates, [], _explain(rule, winners, why))
    choice.next_pass = ranking.next_pass
    return choice


def _explain(rule: RoutingRule, winners: list[Candidate], why: str) -> str:
    names = ", ".join(
        f"{c.agent.name} (for {c.delegate_for.name}, out of office)"
        if c.delegate_for
        else c.agent.name
        for c in winners
    )
    chosen = "offered to" if rule.strategy == "broadcast" else "chosen"
    if rule.strategy == "broadcast":
        return f"{rule.name}: {chosen} {names}; {why}"
    return f"{rule.name}: {names} {chosen}, {why}"


TURN_TAKEN = text(
    "INSERT INTO rotations (rule_id, agent_id, last_offered_at, sequence, pass_value) "
    "VALUES (:rule_id, :agent_id, :now, "
    "(SELECT coalesce(max(sequence), 0) + 1 FROM rotations WHERE rule_id = :same_rule), "
    "coalesce(:pass_value, 0)) "
    "ON CONFLICT (rule_id, agent_id) DO UPDATE SET sequence = excluded.sequence, "
    "last_offered_at = excluded.last_offered_at, "
    "pass_value = coalesce(:pass_value, rotations.pass_value)"
).bindparams(
    bindparam("now", type_=DateTimeUTC(timezone=True)), bindparam("pass_value", type_=Float())
)


async def record_turn(
    session: AsyncSession,
    rule_id: str,
    agent_id: str,
    now: datetime,
    pass_value: float | None = None,
) -> None:
    """Move the agent to the back of the rule's rotation; survives restarts as a row.

    One upsert, the same on SQLite and PostgreSQL; callers hold the rule's lock.
    """
    values = {"rule_id": rule_id, "same_rule": rule_id, "agent_id": agent_id, "now": now}
    await session.run_sync(_take_turn, {**values, "pass_value": pass_value})
    stale = session.identity_map.get(identity_key(Rotation, (rule_id, agent_id)))
    if stale is not None:
        session.expire(stale)


def _take_turn(session: Session, values: dict[str, Any]) -> None:
    run(session.connection(), TURN_TAKEN, values)


def validate_rule(data: dict[str, Any]) -> None:
    unknown = sorted(set(data.get("conditions") or {}) - set(CONDITION_KEYS))
    if unknown:
        raise BadInput(
            f"Unknown rule condition {', '.join(unknown)}; use {', '.join(CONDITION_KEYS)}.",
            field="conditions",
        )
    conditions = data.get("conditions") or {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or "\x00" in name or len(name) > 200:
        raise BadInput("A rule needs a name of 1 to 200 characters.", field="name")
    for key in TEXT_CONDITIONS:
        values = conditions.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadInput(f"Condition {key} must be a list of strings.", field="conditions")
        if key in conditions and not values:
            raise BadInput(
                f"Condition {key} lists no values; leave it out to accept any {key}.",
                field="conditions",
            )
        if any("\x00" in v for v in values):
            raise BadInput(f"Condition {key} contains a NUL character.", field="conditions")
    for code in conditions.get("country") or []:
        if len(code.strip()) != 2 or not code.strip().isalpha():
            raise BadInput(
                f"Condition country {code!r} must be a 2-letter ISO code such as 'BR'.",
                field="conditions",
            )
    if conditions.get("country"):
        conditions["country"] = [c.strip().upper() for c in conditions["country"]]
    for code in conditions.get("country") or []:
        if code not in COUNTRIES:
            raise BadInput(
                f"Condition country {code!r} is not an ISO 3166 country code such as 'BR'.",
                field="conditions",
            )
    for key in ("value_min", "value_max"):
        value = conditions.get(key)
        ok = value is None or (isinstance(value, int | float) and 0 <= value < 1e15)
        if not ok or isinstance(value, bool):
            raise BadInput(f"Condition {key} must be a number of at least 0.", field="conditions")
    low, high = conditions.get("value_min"), conditions.get("value_max")
    if low is not None and high is not None and low >= high:
        raise BadInput("Condition value_min must be below value_max.", field="conditions")
    if data.get("strategy", "round_robin") not in STRATEGIES:
        raise BadInput(
            f"Strategy {data.get('strategy')!r} is not one of {', '.join(STRATEGIES)}.",
            field="strategy",
        )
    for key, ceiling in TIMEOUT_CEILINGS.items():
        if key in data and (not isinstance(data[key], int) or not 1 <= data[key] <= ceiling):
            raise BadInput(
                f"{key} must be a whole number of seconds from 1 to {ceiling:,}.", field=key
            )
    if not 0 <= data.get("priority", 100) <= PRIORITY_CEILING:
        raise BadInput(f"priority must be between 0 and {PRIORITY_CEILING:,}.", field="priority")
    name = (data.get("name") or "").strip()
    if not name or len(name) > 200:
        raise BadInput("A rule needs a name of 1 to 200 characters.", field="name")
    pool = data.get("pool") or {}
    if not any(pool.get(key) for key in ("agent_ids", "team_ids", "partner_ids")):
        raise BadInput(
            "A rule's pool needs at least one of agent_ids, team_ids or partner_ids.", field="pool"
        )


async def create_rule(session: AsyncSession, data: dict[str, Any], actor: str = "system") -> Rule:
    validate_rule(data)
    target = data.get("escalate_to_rule_id")
    if target is not None and await session.get(Rule, target) is None:
        raise NotFound(f"Escalation rule {target} does not exist.", field="escalate_to_rule_id")
    pool = data.get("pool") or {}
    await _check_pool(session, pool)
    rule = Rule(
        name=data["name"],
        priority=data.get("priority", 100),
        conditions=data.get("conditions") or {},
        pool={k: list(pool.get(k) or []) for k in ("agent_ids", "team_ids", "partner_ids")},
        strategy=data.get("strategy", "round_robin"),
        accept_timeout_s=data.get("accept_timeout_s", 900),
        contact_timeout_s=data.get("contact_timeout_s", 86400),
        escalate_to_rule_id=target,
        performance_weighting=data.get("performance_weighting", False),
        active=data.get("active", True),
    )
    session.add(rule)
    await session.flush()
    await record_change(session, actor, "rule", rule.id, "create", None, snapshot(rule))
    await session.commit()
    logger.info(
        "rule created rule_id=%s priority=%s strategy=%s", rule.id, rule.priority, rule.strategy
    )
    return rule


RULE_FIELDS = (
    "name",
    "priority",
    "conditions",
    "pool",
    "strategy",
    "accept_timeout_s",
    "contact_timeout_s",
    "escalate_to_rule_id",
    "performance_weighting",
    "active",
)


async def get_rule(session: AsyncSession, rule_id: str) -> Rule:
    rule = await session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"Rule {rule_id} does not exist.")
    return rule


async def update_rule(
    session: AsyncSession, rule_id: str, changes: dict[str, Any], actor: str = "system"
) -> Rule:
    """Change some of a rule's fields; the rule as a whole is checked as on creation."""
    rule = await get_rule(session, rule_id)
    before = snapshot(rule)
    merged = {name: getattr(rule, name) for name in RULE_FIELDS}
    merged.update({k: v for k, v in changes.items() if k in RULE_FIELDS})
    validate_rule(merged)
    target = merged["escalate_to_rule_id"]
    if target == rule.id:
        raise BadInput("A rule cannot escalate to itself.", field="escalate_to_rule_id")
    if target is not None and await session.get(Rule, target) is None:
        raise NotFound(f"Escalation rule {target} does not exist.", field="escalate_to_rule_id")
    pool = merged["pool"] or {}
    await _check_pool(session, pool)
    merged["pool"] = {k: list(pool.get(k) or []) for k in ("agent_ids", "team_ids", "partner_ids")}
    merged["conditions"] = merged["conditions"] or {}
    for name in RULE_FIELDS:
        setattr(rule, name, merged[name])
    await session.flush()
    await record_change(session, actor, "rule", rule.id, "update", before, snapshot(rule))
    await session.commit()
    logger.info("rule updated rule_id=%s fields=%s", rule.id, ",".join(sorted(changes)))
    return rule


async def _check_pool(session: AsyncSession, pool: dict[str, Any]) -> None:
    from backend.roster.models import Partner, Team

    for key, model in (("agent_ids", Agent), ("team_ids", Team), ("partner_ids", Partner)):
        for ref in pool.get(key) or []:
            if await session.get(model, ref) is None:
                raise BadInput(
                    f"The pool names {key[:-4]} {ref}, which does not exist.", field="pool"
                )


async def list_rules(session: AsyncSession) -> list[Rule]:
    query = select(Rule).order_by(Rule.priority, Rule.created_at)
    return list((await session.scalars(query)).all())
