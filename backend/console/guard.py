"""Who is using the console, what they may see, and how their changes are signed."""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.console.scope import Scope, scope_from_session
from backend.errors import BadInput, NotFound


def scope_of(request: Request[Any, Any, Any]) -> Scope:
    return scope_from_session(request.session)


def actor_of(request: Request[Any, Any, Any]) -> str:
    """The audit log's name for the signed-in user."""
    return f"user:{request.session.get('user_id', 'unknown')}"


def is_admin(request: Request[Any, Any, Any]) -> bool:
    return request.session.get("role") == "admin"


def check_agent_visible(scope: Scope, agent: Any) -> None:
    """Out of scope reads as absent: a manager learns nothing of other teams' agents."""
    if not scope.sees_agent(agent.team_id, agent.partner_id):
        raise NotFound(f"There is no agent {agent.id} among the teams and partners you manage.")


def check_placement(scope: Scope, team_id: str | None, partner_id: str | None) -> None:
    """A manager may place an agent only in a team or partner company they manage."""
    if scope.unlimited:
        return
    if team_id and not scope.sees_team(team_id):
        raise BadInput("You do not manage that team.", field="team_id")
    if partner_id and not scope.sees_partner(partner_id):
        raise BadInput("You do not manage that partner company.", field="partner_id")
    if not team_id and not partner_id:
        raise BadInput("Choose one of your teams or partner companies.", field="team_id")
