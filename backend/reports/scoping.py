"""Which leads a console user's scope reaches, as SQL conditions on the leads table.

A lead is in scope when its owner, or any agent it was offered to, belongs to a visible
team or partner company. A lead nobody could take (``unassigned``) is in scope when a rule
whose conditions it met names a visible team, partner company or agent in its pool; a lead
no rule matched at all is for admins only.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.scope import Scope
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent
from backend.routing.models import Decision, Rule


def visible_agents(scope: Scope) -> Select[tuple[str]]:
    """The ids of agents the scope sees, as a subquery (the same test as ``sees_agent``)."""
    found: list[ColumnElement[bool]] = []
    if scope.team_ids is None:
        found.append(Agent.team_id.is_not(None))
    elif scope.team_ids:
        found.append(Agent.team_id.in_(sorted(scope.team_ids)))
    if scope.partner_ids is None:
        found.append(Agent.partner_id.is_not(None))
    elif scope.partner_ids:
        found.append(Agent.partner_id.in_(sorted(scope.partner_ids)))
    return select(Agent.id).where(or_(*found) if found else false())


async def lead_in_scope(session: AsyncSession, scope: Scope) -> ColumnElement[bool] | None:
    """The condition a lead must meet, or None when the scope reaches every lead."""
    if scope.unlimited:
        return None
    agents = visible_agents(scope)
    offered = exists(select(Offer.id).where(Offer.lead_id == Lead.id, Offer.agent_id.in_(agents)))
    waiting = await _unassigned_in_scope(session, scope)
    return or_(Lead.owner_id.in_(agents), offered, Lead.id.in_(waiting))


async def visible_rules(session: AsyncSession, scope: Scope) -> set[str]:
    """Rules whose pool names a team, partner company or agent the scope sees."""
    seen = set((await session.scalars(visible_agents(scope))).all())
    found = set()
    for rule in (await session.scalars(select(Rule))).all():
        pool = rule.pool or {}
        if (
            any(scope.sees_team(t) for t in pool.get("team_ids") or [])
            or any(scope.sees_partner(p) for p in pool.get("partner_ids") or [])
            or any(a in seen for a in pool.get("agent_ids") or [])
        ):
            found.add(rule.id)
    return found


async def _unassigned_in_scope(session: AsyncSession, scope: Scope) -> list[str]:
    """Unassigned leads a matching rule of the scope's could have routed; read in Python, as
    the rules tried are JSON. Unassigned leads are the manager queue: few at any time."""
    rules = await visible_rules(session, scope)
    if not rules:
        return []
    tried = await session.execute(
        select(Decision.lead_id, Decision.rules_tried)
        .join(Lead, Lead.id == Decision.lead_id)
        .where(Lead.status == "unassigned")
    )
    return sorted(
        {
            lead_id
            for lead_id, steps in tried.tuples().all()
            if any(s.get("matched") and s.get("rule_id") in rules for s in steps or [])
        }
    )


def narrow(scope: Scope, team_id: str | None, partner_id: str | None) -> Scope:
    """The scope limited to one chosen team and/or partner; outside the scope it sees nothing."""
    if not team_id and not partner_id:
        return scope
    teams = frozenset({team_id}) if team_id and scope.sees_team(team_id) else frozenset()
    partners = (
        frozenset({partner_id}) if partner_id and scope.sees_partner(partner_id) else frozenset()
    )
    return Scope(team_ids=teams, partner_ids=partners)
