"""Choosing the agent for a lead: rules by priority, eligible candidates, a strategy."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import BadInput, NotFound
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent
from backend.routing.eligibility import (
    CONDITION_KEYS,
    History,
    LeadFacts,
    ineligibility,
    rule_mismatch,
)
from backend.routing.models import Rotation, Rule

logger = logging.getLogger(__name__)

STRATEGIES = ("score", "round_robin", "least_loaded")
OPEN_LEAD_STATUSES = ("accepted", "contacted")
TIMEOUT_CEILINGS = {"accept_timeout_s": 30 * 86400, "contact_timeout_s": 365 * 86400}
PRIORITY_CEILING = 1_000_000


@dataclass
class Candidate:
    agent: Agent
    load: int
    reasons: list[str]
    score: float | None = None

    @property
    def eligible(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent.id,
            "name": self.agent.name,
            "eligible": self.eligible,
            "reasons": self.reasons,
            "load": self.load,
            "score": self.score,
        }


@dataclass
class Choice:
    """The outcome of one routing step, before anything is saved."""

    rule: Rule | None
    agent: Agent | None
    candidates: list[Candidate] = field(default_factory=list)
    rules_tried: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""


async def agent_loads(session: AsyncSession, agent_ids: list[str]) -> dict[str, int]:
    """Open leads per agent: pending offers plus accepted leads not yet closed."""
    loads = dict.fromkeys(agent_ids, 0)
    if not agent_ids:
        return loads
    pending = await session.execute(
        select(Offer.agent_id, func.count())
        .where(Offer.agent_id.in_(agent_ids), Offer.status == "pending")
        .group_by(Offer.agent_id)
    )
    owned = await session.execute(
        select(Lead.owner_id, func.count())
        .where(Lead.owner_id.in_(agent_ids), Lead.status.in_(OPEN_LEAD_STATUSES))
        .group_by(Lead.owner_id)
    )
    counts: list[tuple[str | None, int]] = [*pending.tuples().all(), *owned.tuples().all()]
    for agent_id, count in counts:
        if agent_id is not None:
            loads[agent_id] += count
    return loads


async def lead_history(session: AsyncSession, lead_id: str | None) -> dict[str, History]:
    if lead_id is None:
        return {}
    rows = await session.execute(
        select(Offer.agent_id, Offer.status).where(
            Offer.lead_id == lead_id, Offer.status.in_(("declined", "expired"))
        )
    )
    history: dict[str, History] = {}
    for agent_id, status in rows.all():
        past = history.get(agent_id, History())
        history[agent_id] = History(
            declined=past.declined or status == "declined",
            expired=past.expired or status == "expired",
        )
    return history


async def pool_agents(session: AsyncSession, pool: dict[str, Any]) -> list[Agent]:
    """Everyone a rule's pool names directly or through a team or partner, oldest first."""
    agent_ids = pool.get("agent_ids") or []
    team_ids = pool.get("team_ids") or []
    partner_ids = pool.get("partner_ids") or []
    if not (agent_ids or team_ids or partner_ids):
        return []
    query = select(Agent).where(
        Agent.id.in_(agent_ids) | Agent.team_id.in_(team_ids) | Agent.partner_id.in_(partner_ids)
    )
    return list((await session.scalars(query.order_by(Agent.created_at, Agent.id))).all())


async def _rotation(session: AsyncSession, rule_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Rotation.agent_id, Rotation.sequence).where(Rotation.rule_id == rule_id)
    )
    return {agent_id: sequence for agent_id, sequence in rows.all()}


async def select_agent(
    session: AsyncSession, rule: Rule, eligible: list[Candidate]
) -> tuple[Candidate, str]:
    """Apply the rule's strategy to eligible candidates; answer the pick and why."""
    turns = await _rotation(session, rule.id)

    def turn(c: Candidate) -> int:
        return turns.get(c.agent.id, 0)

    if rule.strategy == "round_robin":
        chosen = min(eligible, key=turn)
        why = "next in the round-robin rotation"
    else:
        chosen = min(eligible, key=lambda c: (c.load, turn(c)))
        why = f"fewest open leads ({chosen.load})"
        if rule.strategy == "score":
            why += "; pursuit scores are neutral until learned, so the least loaded wins"
    return chosen, why


async def record_turn(session: AsyncSession, rule_id: str, agent_id: str, now: datetime) -> None:
    """Move the agent to the back of the rule's rotation; survives restarts as a row."""
    latest = await session.scalar(
        select(func.max(Rotation.sequence)).where(Rotation.rule_id == rule_id)
    )
    row = await session.get(Rotation, (rule_id, agent_id))
    if row is None:
        row = Rotation(rule_id=rule_id, agent_id=agent_id, last_offered_at=now)
        session.add(row)
    row.sequence = (latest or 0) + 1
    row.last_offered_at = now


async def active_rules(session: AsyncSession) -> list[Rule]:
    query = select(Rule).where(Rule.active.is_(True)).order_by(Rule.priority, Rule.created_at)
    return list((await session.scalars(query)).all())


async def choose(
    session: AsyncSession,
    lead: LeadFacts,
    now: datetime,
    lead_id: str | None = None,
    first_rule_id: str | None = None,
) -> Choice:
    """Try rules in priority order (an escalation target first) until one has an eligible agent."""
    rules = await active_rules(session)
    if first_rule_id is not None:
        rules.sort(key=lambda r: r.id != first_rule_id)
    history = await lead_history(session, lead_id)
    tried: list[dict[str, Any]] = []

    for rule in rules:
        mismatch = rule_mismatch(rule.conditions, lead)
        if mismatch is not None:
            tried.append({"rule_id": rule.id, "name": rule.name, "matched": False, "why": mismatch})
            continue
        candidates = await _candidates(session, rule, lead, now, history)
        eligible = [c for c in candidates if c.eligible]
        if not eligible:
            why = "no eligible agent in the pool" if candidates else "the pool is empty"
            tried.append({"rule_id": rule.id, "name": rule.name, "matched": True, "why": why})
            continue
        chosen, why = await select_agent(session, rule, eligible)
        tried.append({"rule_id": rule.id, "name": rule.name, "matched": True, "why": "routed"})
        explanation = f"{rule.name}: {chosen.agent.name} chosen, {why}"
        return Choice(rule, chosen.agent, candidates, tried, explanation)

    explanation = "no rule had an eligible agent" if rules else "no active routing rule"
    return Choice(None, None, [], tried, explanation)


async def _candidates(
    session: AsyncSession,
    rule: Rule,
    lead: LeadFacts,
    now: datetime,
    history: dict[str, History],
) -> list[Candidate]:
    agents = await pool_agents(session, rule.pool)
    loads = await agent_loads(session, [a.id for a in agents])
    return [
        Candidate(
            agent=agent,
            load=loads[agent.id],
            reasons=ineligibility(
                agent, lead, now, loads[agent.id], history.get(agent.id, History())
            ),
            score=50.0 if rule.strategy == "score" else None,
        )
        for agent in agents
    ]


def validate_rule(data: dict[str, Any]) -> None:
    unknown = sorted(set(data.get("conditions") or {}) - set(CONDITION_KEYS))
    if unknown:
        raise BadInput(
            f"Unknown rule condition {', '.join(unknown)}; use {', '.join(CONDITION_KEYS)}.",
            field="conditions",
        )
    for key, values in (data.get("conditions") or {}).items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadInput(f"Condition {key} must be a list of strings.", field="conditions")
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


async def create_rule(session: AsyncSession, data: dict[str, Any]) -> Rule:
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
        active=data.get("active", True),
    )
    session.add(rule)
    await session.commit()
    logger.info(
        "rule created rule_id=%s priority=%s strategy=%s", rule.id, rule.priority, rule.strategy
    )
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
