"""Which leads a console user's scope reaches, as SQL conditions on the leads table.

A lead is in scope when its owner, or any agent it was offered to, belongs to a visible
team or partner company. A lead nobody could take (``unassigned``) is in scope when the
rules it was tried against name a visible team in their pools, as its ``alert`` event
records them; partner managers do not see unassigned leads, which have no partner yet.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, false, or_, select

from backend.console.scope import Scope
from backend.pursuit.models import Lead, LeadEvent, Offer
from backend.roster.models import Agent


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


def lead_in_scope(scope: Scope) -> ColumnElement[bool] | None:
    """The condition a lead must meet, or None when the scope reaches every lead."""
    if scope.unlimited:
        return None
    agents = visible_agents(scope)
    offered = exists(select(Offer.id).where(Offer.lead_id == Lead.id, Offer.agent_id.in_(agents)))
    reach = [Lead.owner_id.in_(agents), offered]
    if scope.team_ids is None or scope.team_ids:
        alerts = select(LeadEvent.id).where(LeadEvent.lead_id == Lead.id, LeadEvent.type == "alert")
        if scope.team_ids is not None:
            # Ids are hex, so a quoted id matches only that id in the stored JSON.
            named = [cast(LeadEvent.data, String).like(f'%"{t}"%') for t in sorted(scope.team_ids)]
            alerts = alerts.where(or_(*named))
        reach.append(and_(Lead.status == "unassigned", exists(alerts)))
    return or_(*reach)


def narrow(scope: Scope, team_id: str | None, partner_id: str | None) -> Scope:
    """The scope limited to one chosen team and/or partner; outside the scope it sees nothing."""
    if not team_id and not partner_id:
        return scope
    teams = frozenset({team_id}) if team_id and scope.sees_team(team_id) else frozenset()
    partners = (
        frozenset({partner_id}) if partner_id and scope.sees_partner(partner_id) else frozenset()
    )
    return Scope(team_ids=teams, partner_ids=partners)
