"""The roster and rules as routing reads them: plain records, not rows of a session.

A decision reads hundreds of agents' fields; an attribute of a plain record costs a
fraction of one of a mapped object. Records are immutable, so one roster snapshot can be
shared by every decision that reads its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.roster.models import Agent
from backend.routing.eligibility import AgentProfile, RuleConditions
from backend.routing.models import Rule

AGENT_COLUMNS = (
    "id",
    "name",
    "team_id",
    "partner_id",
    "territories",
    "products",
    "languages",
    "sources",
    "campaigns",
    "value_min",
    "value_max",
    "latitude",
    "longitude",
    "tier",
    "capacity",
    "weight",
    "daily_cap",
    "timezone",
    "working_hours",
    "out_of_office_until",
    "delegate_id",
    "active",
    "created_at",
)
RULE_COLUMNS = (
    "id",
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
    "created_at",
)


@dataclass(frozen=True, slots=True, eq=False)
class RosterAgent:
    """One agent as routing sees it, with the eligibility facts parsed once."""

    id: str
    name: str
    team_id: str | None
    partner_id: str | None
    tier: int
    capacity: int
    weight: int
    daily_cap: int | None
    timezone: str
    out_of_office_until: datetime | None
    delegate_id: str | None
    active: bool
    created_at: datetime
    profile: AgentProfile

    @classmethod
    def of(cls, agent: Agent) -> RosterAgent:
        return cls.from_row({name: getattr(agent, name) for name in AGENT_COLUMNS})

    @classmethod
    def from_row(cls, row: Any) -> RosterAgent:
        """From a mapping holding ``AGENT_COLUMNS``: a row read by name, or a mapped agent's."""
        profile = AgentProfile.of(_Fields(row))
        return cls(
            row["id"],
            row["name"],
            row["team_id"],
            row["partner_id"],
            row["tier"],
            row["capacity"],
            row["weight"],
            row["daily_cap"],
            row["timezone"],
            row["out_of_office_until"],
            row["delegate_id"],
            row["active"],
            row["created_at"],
            profile,
        )


class _Fields:
    """A mapping's keys as attributes, as ``AgentProfile.of`` reads an agent."""

    __slots__ = ("_row",)

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return self._row[name]


@dataclass(frozen=True, slots=True, eq=False)
class RoutingRule:
    """One rule as routing applies it, with its conditions compiled once."""

    id: str
    name: str
    priority: int
    conditions: dict[str, Any]
    pool: dict[str, Any]
    strategy: str
    accept_timeout_s: int
    contact_timeout_s: int
    escalate_to_rule_id: str | None
    performance_weighting: bool
    active: bool
    created_at: datetime
    matcher: RuleConditions

    @classmethod
    def of(cls, rule: Rule) -> RoutingRule:
        return cls.from_row({name: getattr(rule, name) for name in RULE_COLUMNS})

    @classmethod
    def from_row(cls, row: Any) -> RoutingRule:
        conditions = row["conditions"] or {}
        return cls(
            row["id"],
            row["name"],
            row["priority"],
            conditions,
            row["pool"] or {},
            row["strategy"],
            row["accept_timeout_s"],
            row["contact_timeout_s"],
            row["escalate_to_rule_id"],
            row["performance_weighting"],
            row["active"],
            row["created_at"],
            RuleConditions.of(conditions),
        )
