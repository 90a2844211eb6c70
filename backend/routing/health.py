"""Rule health: active rules that could route nothing now, or whose conditions met no lead lately.

Availability is judged right now with the live eligibility rules (a delegate standing in for
an agent who is out of office counts); matching reads the leads of the last 30 days, newest
first, and stops once every rule has matched one or SCAN_LIMIT leads were read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.pursuit.service import list_leads
from backend.routing.eligibility import Clock, rule_mismatch
from backend.routing.facts import DatabaseFacts
from backend.routing.models import Rule
from backend.routing.records import RosterAgent
from backend.routing.service import list_rules

MATCH_WINDOW = timedelta(days=30)
SCAN_LIMIT = 20_000
PAGE = 500


@dataclass
class RuleHealth:
    """One rule and, in words, what is wrong with it; no flags means healthy."""

    rule: Rule
    flags: list[str] = field(default_factory=list)


async def rule_health(session: AsyncSession, now: datetime) -> list[RuleHealth]:
    """Every rule in the order rules are tried; only active ones can be flagged."""
    rules = await list_rules(session)
    active = [r for r in rules if r.active]
    unmatched = await unmatched_rules(session, active, now)
    facts = DatabaseFacts(session)
    report = []
    for rule in rules:
        flags = []
        if rule.active and (blocked := await nobody_available(facts, rule, now)):
            flags.append(blocked)
        if rule.id in unmatched:
            flags.append(unmatched[rule.id])
        report.append(RuleHealth(rule, flags))
    return report


async def nobody_available(facts: DatabaseFacts, rule: Rule, now: datetime) -> str | None:
    """Why no agent of the rule's pool could take any lead now, or None when one could."""
    pool = await facts.pool_agents(rule.pool)
    if not pool:
        return "Its pool has no agents."
    in_pool = {a.id: a for a in pool}
    wanted = {a.delegate_id for a in pool if a.delegate_id} - set(in_pool)
    everyone = {**in_pool, **await facts.agents(wanted)}
    standing = await facts.standing(list(everyone.values()), now)
    clock = Clock(now)

    def reasons(agent: RosterAgent) -> list[str]:
        load, today = standing.loads[agent.id], standing.offered_today.get(agent.id, 0)
        return agent.profile.unavailability(clock, load, today)

    blocked = []
    for agent in pool:
        own = reasons(agent)
        delegate = everyone.get(agent.delegate_id or "")
        away = agent.out_of_office_until is not None and agent.out_of_office_until > now
        if not own or (away and delegate is not None and not reasons(delegate)):
            return None
        note = (
            f" (delegate {delegate.name}: {', '.join(reasons(delegate))})"
            if away and delegate
            else ""
        )
        blocked.append(f"{agent.name}: {', '.join(own)}{note}")
    return f"No agent in its pool can take a lead now. {'; '.join(blocked)}."


async def unmatched_rules(
    session: AsyncSession, rules: list[Rule], now: datetime
) -> dict[str, str]:
    """The rules no lead received in the last 30 days satisfied, each with the reason."""
    waiting = {r.id: r for r in rules}
    scanned, cursor = 0, None
    while waiting and scanned < SCAN_LIMIT:
        page, cursor = await list_leads(
            session, since=now - MATCH_WINDOW, until=now, limit=PAGE, cursor=cursor
        )
        for lead in page:
            for rule in [r for r in waiting.values() if rule_mismatch(r.conditions, lead) is None]:
                del waiting[rule.id]
        scanned += len(page)
        if cursor is None:
            break

    if scanned == 0:
        why = "No lead arrived in the last 30 days."
    elif scanned >= SCAN_LIMIT:
        why = f"None of the latest {scanned:,} leads of the last 30 days met its conditions."
    else:
        why = f"No lead of the last 30 days met its conditions ({scanned:,} read)."
    return dict.fromkeys(waiting, why)
