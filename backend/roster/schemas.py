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
    territories: list[dict[str, Any]] = msgspec.field(default_factory=list)
    products: list[str] = msgspec.field(default_factory=list)
    languages: list[str] = msgspec.field(default_factory=list)
    sources: list[str] = msgspec.field(default_factory=list)
    campaigns: list[str] = msgspec.field(default_factory=list)
    value_min: float | None = None
    value_max: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    tier: int = 1
    capacity: int = 25
    weight: int = 1
    daily_cap: int | None = None
    timezone: str = "UTC"
    working_hours: dict[str, list[list[str]]] | None = None
    out_of_office_until: datetime | None = None
    delegate_id: str | None = None
    active: bool = True


class AgentChanges(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present are changed."""

    name: str | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    kind: str | UnsetType = UNSET
    team_id: str | UnsetType | None = UNSET
    partner_id: str | UnsetType | None = UNSET
    territories: list[dict[str, Any]] | UnsetType = UNSET
    products: list[str] | UnsetType = UNSET
    languages: list[str] | UnsetType = UNSET
    sources: list[str] | UnsetType = UNSET
    campaigns: list[str] | UnsetType = UNSET
    value_min: float | UnsetType | None = UNSET
    value_max: float | UnsetType | None = UNSET
    latitude: float | UnsetType | None = UNSET
    longitude: float | UnsetType | None = UNSET
    tier: int | UnsetType = UNSET
    capacity: int | UnsetType = UNSET
    weight: int | UnsetType = UNSET
    daily_cap: int | UnsetType | None = UNSET
    timezone: str | UnsetType = UNSET
    working_hours: dict[str, list[list[str]]] | UnsetType | None = UNSET
    out_of_office_until: datetime | UnsetType | None = UNSET
    delegate_id: str | UnsetType | None = UNSET
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
        "sources": agent.sources,
        "campaigns": agent.campaigns,
        "value_min": agent.value_min,
        "value_max": agent.value_max,
        "latitude": agent.latitude,
        "longitude": agent.longitude,
        "tier": agent.tier,
        "capacity": agent.capacity,
        "weight": agent.weight,
        "daily_cap": agent.daily_cap,
        "timezone": agent.timezone,
        "working_hours": agent.working_hours,
        "out_of_office_until": (
            agent.out_of_office_until.isoformat() if agent.out_of_office_until else None
        ),
        "delegate_id": agent.delegate_id,
        "active": agent.active,
    }
