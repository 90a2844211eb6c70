"""Roster payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from backend.roster.models import Agent, Partner, Team


class TeamIn(msgspec.Struct):
    name: str


class PartnerIn(msgspec.Struct):
    name: str
    fair_share: float = 1.0


class AgentIn(msgspec.Struct):
    name: str
    email: str | None = None
    phone: str | None = None
    kind: str | None = None
    team_id: str | None = None
    partner_id: str | None = None
    territories: list[dict[str, str]] = msgspec.field(default_factory=list)
    products: list[str] = msgspec.field(default_factory=list)
    languages: list[str] = msgspec.field(default_factory=list)
    tier: int = 1
    capacity: int = 25
    timezone: str = "UTC"
    working_hours: dict[str, list[list[str]]] | None = None
    out_of_office_until: datetime | None = None
    active: bool = True


class AgentChanges(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present are changed."""

    name: str | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    kind: str | UnsetType = UNSET
    team_id: str | UnsetType | None = UNSET
    partner_id: str | UnsetType | None = UNSET
    territories: list[dict[str, str]] | UnsetType = UNSET
    products: list[str] | UnsetType = UNSET
    languages: list[str] | UnsetType = UNSET
    tier: int | UnsetType = UNSET
    capacity: int | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    working_hours: dict[str, list[list[str]]] | UnsetType | None = UNSET
    out_of_office_until: datetime | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET

    def present(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


def team_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name}


def partner_json(partner: Partner) -> dict[str, Any]:
    return {
        "id": partner.id,
        "name": partner.name,
        "fair_share": partner.fair_share,
        "active": partner.active,
    }


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "phone": agent.phone,
        "kind": agent.kind,
        "team_id": agent.team_id,
        "partner_id": agent.partner_id,
        "territories": agent.territories,
        "products": agent.products,
        "languages": agent.languages,
        "tier": agent.tier,
        "capacity": agent.capacity,
        "timezone": agent.timezone,
        "working_hours": agent.working_hours,
        "out_of_office_until": (
            agent.out_of_office_until.isoformat() if agent.out_of_office_until else None
        ),
        "active": agent.active,
    }
