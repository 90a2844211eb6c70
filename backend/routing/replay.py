"""What-if replay: a period's stored leads through proposed rules and roster, saving nothing.

Each lead is decided by the live code (``choose``: the same candidates, tiers, fair
shares and strategies); only the facts it reads are simulated here, as the replay goes:

- the roster is today's, with the proposal's overrides, judged at each lead's arrival
  (working hours, out of office); every agent starts the period with no open leads;
- a routed lead is accepted at once by the agent chosen (the first of a broadcast, which
  is offered to all of them) and stays open for as long as the real lead did: until it
  really closed, or to the end of the replay;
- rotation, daily caps, fair shares and returning prospects count only replayed offers;
  nobody declines or lets an offer expire, so escalation never happens.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from backend.db import as_utc
from backend.errors import BadInput
from backend.pursuit.models import Lead, Offer
from backend.pursuit.service import list_leads
from backend.roster.models import Agent
from backend.roster.service import CAPACITY_LIMIT, WEIGHT_LIMIT, list_agents
from backend.routing.eligibility import History
from backend.routing.facts import FAIR_SHARE_WINDOW, DatabaseFacts, Standing, local_midnight
from backend.routing.models import Rule
from backend.routing.records import RosterAgent, RoutingRule
from backend.routing.service import Choice, choose, validate_rule
from backend.routing.strategies import Turn
from backend.scoring import service as scoring

logger = logging.getLogger(__name__)

PAGE = 1000
OVERRIDE_KEYS = ("active", "capacity", "daily_cap", "weight", "tier")


class BadProposal(BadInput):
    """The proposed rules or roster cannot be replayed; the message names the fault."""

    code = "bad_proposal"


@dataclass
class Proposal:
    """Transient rules by priority (file order breaks ties) and roster overrides by agent id."""

    rules: list[Rule]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_proposal(text: str) -> Proposal:
    """Read a proposal file: a list of rules, or ``{"rules": [...], "agents": [...]}``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadProposal(f"The file is not JSON: {exc}.") from exc
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise BadProposal('The file must hold a list of rules or {"rules": [...]}.')
    unknown = sorted(set(data) - {"rules", "agents"})
    if unknown:
        raise BadProposal(f"Unknown section {', '.join(unknown)}; use rules and agents.")
    if not data["rules"]:
        raise BadProposal("The file proposes no rules.")

    rules = [_rule(position, item) for position, item in enumerate(data["rules"], start=1)]
    rules.sort(key=lambda r: r.priority)
    return Proposal(rules, _overrides(data.get("agents") or []))


def proposal_json(rules: list[Rule]) -> str:
    """The active rules written as a proposal file: a starting point to edit."""
    keys = ("name", "priority", "conditions", "pool", "strategy", "performance_weighting")
    items = [{key: getattr(rule, key) for key in keys} for rule in rules if rule.active]
    return json.dumps({"rules": items, "agents": []}, indent=2)


def _rule(position: int, item: Any) -> Rule:
    """A rule checked as the rules API checks one, kept out of any session."""
    from backend.routing.controllers import RuleIn

    try:
        values = msgspec.to_builtins(msgspec.convert(item, RuleIn))
        validate_rule(values)
    except msgspec.ValidationError as exc:
        raise BadProposal(f"Rule {position}: {exc}.") from exc
    except BadInput as exc:
        raise BadProposal(f"Rule {position}: {exc.message}") from exc
    values.pop("escalate_to_rule_id")
    return Rule(id=f"proposed-{position}", **values)


def _overrides(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        raise BadProposal('"agents" must be a list of {"id": ..., changes}.')
    overrides: dict[str, dict[str, Any]] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise BadProposal(f"Agent change {position} needs the agent's id.")
        changes = {k: v for k, v in item.items() if k != "id"}
        _check_override(position, changes)
        overrides.setdefault(item["id"], {}).update(changes)
    return overrides


def _check_override(position: int, changes: dict[str, Any]) -> None:
    unknown = sorted(set(changes) - set(OVERRIDE_KEYS))
    if unknown:
        raise BadProposal(
            f"Agent change {position}: cannot change {', '.join(unknown)}; "
            f"use {', '.join(OVERRIDE_KEYS)}."
        )
    ranges = {
        "capacity": (0, CAPACITY_LIMIT),
        "daily_cap": (0, CAPACITY_LIMIT),
        "weight": (1, WEIGHT_LIMIT),
        "tier": (1, 9),
    }
    for key, (low, high) in ranges.items():
        if key not in changes or (key == "daily_cap" and changes[key] is None):
            continue
        value = changes[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadProposal(
                f"Agent change {position}: {key} must be a whole number from {low} to {high:,}."
            )
    if "active" in changes and not isinstance(changes["active"], bool):
        raise BadProposal(f"Agent change {position}: active must be true or false.")


REPLAY_SEED = 20261204


class ReplayFacts:
    """Routing facts kept in memory: the proposed roster and what the replay has done so far.

    ``advance`` moves the replay's clock to the next lead's arrival before it is decided.
    """

    def __init__(
        self,
        roster: list[Agent],
        shares: dict[str | None, float],
        unreachable: set[str] | None = None,
    ) -> None:
        records = (RosterAgent.of(a) for a in roster)
        self.roster = sorted(records, key=lambda a: (a.created_at, a.id))
        self.unreachable = unreachable or set()  # as they stand today
        self.by_id = {a.id: a for a in self.roster}
        self.now = datetime.min
        self._shares = shares
        self._open_until: dict[str, list[datetime | None]] = defaultdict(list)
        self._offered_at: dict[str, list[datetime]] = defaultdict(list)
        self._turns: dict[str, dict[str, Turn]] = defaultdict(dict)
        self._served: dict[str, list[tuple[datetime, str | None, str]]] = defaultdict(list)
        self._owners: dict[str, tuple[datetime, str]] = {}
        # Seeded, so that replaying one proposal twice draws the same pursuit scores.
        self.draws = random.Random(REPLAY_SEED)

    def advance(self, now: datetime) -> None:
        self.now = now

    async def pool_agents(self, pool: dict[str, Any]) -> list[RosterAgent]:
        agent_ids = set(pool.get("agent_ids") or [])
        team_ids = set(pool.get("team_ids") or [])
        partner_ids = set(pool.get("partner_ids") or [])
        return [
            a
            for a in self.roster
            if a.id in agent_ids or a.team_id in team_ids or a.partner_id in partner_ids
        ]

    async def agents(self, agent_ids: set[str]) -> dict[str, RosterAgent]:
        return {i: self.by_id[i] for i in agent_ids if i in self.by_id}

    async def standing(self, agents: list[RosterAgent], now: datetime) -> Standing:
        """Replayed leads still open at the replay's clock, and replayed offers today."""
        loads = {
            a.id: sum(1 for end in self._open_until[a.id] if _open(end, self.now)) for a in agents
        }
        counts: dict[str, int] = {}
        for agent in agents:
            if agent.daily_cap is not None:
                since = local_midnight(now, agent.timezone)
                counts[agent.id] = sum(1 for at in self._offered_at[agent.id] if since <= at <= now)
        return Standing(loads, counts, self.unreachable & set(loads))

    async def history(self, lead_id: str | None) -> dict[str, History]:
        return {}

    async def previous_owner(self, lead: Any, lead_id: str | None) -> str | None:
        """The agent the replay gave the latest lead from the same email or phone."""
        seen = [self._owners[key] for key in _contact_keys(lead) if key in self._owners]
        return max(seen)[1] if seen else None

    async def turns(
        self, rule_id: str, lock: bool, agent_ids: list[str] | None = None
    ) -> dict[str, Turn]:
        rotation = self._turns[rule_id]
        if agent_ids is None:
            return dict(rotation)
        return {i: rotation[i] for i in agent_ids if i in rotation}

    async def served_by_group(self, rule_id: str, now: datetime) -> dict[str | None, int]:
        recent = {
            (group, lead_id)
            for at, group, lead_id in self._served[rule_id]
            if at >= now - FAIR_SHARE_WINDOW
        }
        return dict(Counter(group for group, _ in recent))

    async def shares(self, partner_ids: set[str]) -> dict[str | None, float]:
        return {None: 1.0, **{p: self._shares[p] for p in partner_ids if p in self._shares}}

    def record(self, lead: Lead, choice: Choice) -> None:
        """Keep what routing would have stored: offers, the owner's open lead, rotation."""
        if choice.rule is None or not choice.agents:
            return
        rule, owner = choice.rule, choice.agents[0]
        for agent in choice.agents:
            self._offered_at[agent.id].append(self.now)
            self._served[rule.id].append((self.now, agent.partner_id, lead.id))
        if not choice.broadcast:
            self._take_turn(rule.id, owner.id, choice.next_pass.get(owner.id))
        self._open_until[owner.id].append(lead.closed_at)
        for key in _contact_keys(lead):
            self._owners[key] = (self.now, owner.id)

    def _take_turn(self, rule_id: str, agent_id: str, pass_value: float | None) -> None:
        rotation = self._turns[rule_id]
        latest = max((t.sequence for t in rotation.values()), default=0)
        before = rotation.get(agent_id, Turn()).pass_value or 0.0
        rotation[agent_id] = Turn(latest + 1, before if pass_value is None else pass_value)


def _open(end: datetime | None, now: datetime) -> bool:
    return end is None or end > now


def _contact_keys(lead: Any) -> list[str]:
    return [f"{kind}:{value}" for kind in ("email", "phone") if (value := getattr(lead, kind))]


@dataclass
class RuleTally:
    rule_id: str
    name: str
    priority: int
    strategy: str
    leads: int = 0


@dataclass
class AgentTally:
    agent_id: str
    name: str
    proposed_offered: int = 0
    proposed_owned: int = 0
    actual_offered: int = 0
    actual_owned: int = 0

    @property
    def counted(self) -> bool:
        return any((self.proposed_offered, self.actual_offered, self.actual_owned))


@dataclass
class ReplayReport:
    """Leads per proposed rule and, per agent, the replay beside what really happened."""

    start: datetime
    end: datetime
    leads: int
    rules: list[RuleTally]
    agents: list[AgentTally]
    unassigned_proposed: int = 0
    unassigned_actual: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.start.isoformat(),
            "until": self.end.isoformat(),
            "leads": self.leads,
            "rules": [vars(r) for r in self.rules],
            "agents": [
                {
                    "agent_id": a.agent_id,
                    "name": a.name,
                    "proposed": {"offered": a.proposed_offered, "owned": a.proposed_owned},
                    "actual": {"offered": a.actual_offered, "owned": a.actual_owned},
                }
                for a in self.agents
            ],
            "unassigned": {"proposed": self.unassigned_proposed, "actual": self.unassigned_actual},
        }


async def replay(
    session: AsyncSession, proposal: Proposal, start: datetime, end: datetime
) -> ReplayReport:
    """Route the leads received in [start, end) through the proposal, then roll back."""
    try:
        roster = await proposed_roster(session, proposal)
        gone = await scoring.unreachable_agents(session, [a.id for a in roster])
        facts = ReplayFacts(roster, await _partner_shares(session, roster), gone)
        leads = await period_leads(session, start, end)
        rules = {r.id: RuleTally(r.id, r.name, r.priority, r.strategy) for r in proposal.rules}
        agents = {a.id: AgentTally(a.id, a.name) for a in roster}
        unassigned = 0
        proposed = [RoutingRule.of(r) for r in proposal.rules]
        for lead in leads:
            choice = await _decide(session, facts, proposed, lead)
            facts.record(lead, choice)
            unassigned += _count(rules, agents, choice)
        unassigned_actual = await _add_actual(session, agents, leads, start, end)
        shown = await _pooled(facts, proposal) | set(proposal.overrides)
    finally:
        await session.rollback()

    logger.info("replay done leads=%s rules=%s unassigned=%s", len(leads), len(rules), unassigned)
    listed = sorted(agents.values(), key=lambda a: (a.name, a.agent_id))
    return ReplayReport(
        start,
        end,
        len(leads),
        list(rules.values()),
        [a for a in listed if a.counted or a.agent_id in shown],
        unassigned,
        unassigned_actual,
    )


async def proposed_roster(session: AsyncSession, proposal: Proposal) -> list[Agent]:
    """Today's agents as copies outside the session, with the proposed changes applied."""
    agents = await list_agents(session)
    known = {a.id for a in agents}
    missing = sorted(set(proposal.overrides) - known)
    if missing:
        raise BadProposal(f"The agents section names agent {missing[0]}, which does not exist.")
    _check_pools(proposal.rules, agents)
    return [_copy(a, proposal.overrides.get(a.id, {})) for a in agents]


def _check_pools(rules: list[Rule], agents: list[Agent]) -> None:
    members: dict[str, set[str | None]] = {
        "agent_ids": {a.id for a in agents},
        "team_ids": {a.team_id for a in agents},
        "partner_ids": {a.partner_id for a in agents},
    }
    for rule in rules:
        for key, known in members.items():
            for ref in rule.pool.get(key) or []:
                if ref not in known:
                    what = "does not exist" if key == "agent_ids" else "has no agent"
                    raise BadProposal(
                        f"Rule {rule.name!r}: the pool names {key[:-4]} {ref}, which {what}."
                    )


def _copy(agent: Agent, changes: dict[str, Any]) -> Agent:
    mapper: Mapper[Agent] = Agent.__mapper__
    values = {attr.key: getattr(agent, attr.key) for attr in mapper.column_attrs}
    return Agent(**{**values, **changes})


async def _partner_shares(session: AsyncSession, roster: list[Agent]) -> dict[str | None, float]:
    partner_ids = {a.partner_id for a in roster if a.partner_id}
    return await DatabaseFacts(session).shares(partner_ids)


NOT_LEADS = ("merged", "spam")


async def period_leads(session: AsyncSession, start: datetime, end: datetime) -> list[Lead]:
    """The leads received in [start, end), oldest first; merged and spam leads are no leads."""
    leads: list[Lead] = []
    cursor: str | None = None
    while True:
        page, cursor = await list_leads(session, since=start, until=end, limit=PAGE, cursor=cursor)
        leads.extend(lead for lead in page if lead.status not in NOT_LEADS)
        if cursor is None:
            return leads[::-1]


async def _decide(
    session: AsyncSession, facts: ReplayFacts, rules: list[RoutingRule], lead: Lead
) -> Choice:
    """Live routing over the proposed rules whose conditions hold for the lead."""
    facts.advance(lead.received_at)
    matching = [r for r in rules if r.active and r.matcher.mismatch(lead) is None]
    if not matching:
        return Choice(None, explanation="no proposed rule matches")
    # Given only rules that match, the ladder mode of ``choose`` (conditions unread) is moot.
    return await choose(
        session,
        lead,
        lead.received_at,
        lead.id,
        rules=matching,
        facts=facts,
        lock=False,
        draws=facts.draws,
    )


def _count(rules: dict[str, RuleTally], agents: dict[str, AgentTally], choice: Choice) -> int:
    """Tally one decision; answers 1 when the lead went unassigned."""
    if choice.rule is None or not choice.agents:
        return 1
    rules[choice.rule.id].leads += 1
    for agent in choice.agents:
        agents[agent.id].proposed_offered += 1
    agents[choice.agents[0].id].proposed_owned += 1
    return 0


async def _add_actual(
    session: AsyncSession,
    agents: dict[str, AgentTally],
    leads: list[Lead],
    start: datetime,
    end: datetime,
) -> int:
    """Add what really happened to the same leads; answers how many are unassigned now."""
    for agent_id, count in (await _offered_leads(session, start, end)).items():
        if agent_id in agents:
            agents[agent_id].actual_offered = count
    for lead in leads:
        if lead.owner_id in agents:
            agents[lead.owner_id].actual_owned += 1
    return sum(1 for lead in leads if lead.status == "unassigned")


async def _offered_leads(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    """Distinct leads of the period each agent was really offered."""
    rows = await session.execute(
        select(Offer.agent_id, func.count(func.distinct(Offer.lead_id)))
        .join(Lead, Lead.id == Offer.lead_id)
        .where(Lead.received_at >= as_utc(start), Lead.received_at < as_utc(end))
        .group_by(Offer.agent_id)
    )
    return {agent_id: count for agent_id, count in rows.tuples().all()}


async def _pooled(facts: ReplayFacts, proposal: Proposal) -> set[str]:
    """Everyone a proposed pool reaches, so an agent who would get nothing still shows."""
    return {a.id for r in proposal.rules for a in await facts.pool_agents(r.pool)}
