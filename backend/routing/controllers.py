"""Rules API, and previewing where a sample lead would go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.audit import actor_label
from backend.access.dependencies import ACTOR
from backend.access.service import Actor, require_api_key
from backend.db import as_utc, utcnow
from backend.errors import BadInput
from backend.intake.schemas import LeadIn
from backend.intake.service import normalize
from backend.pursuit.models import Lead
from backend.routing import service
from backend.routing.models import Rule


class PoolIn(msgspec.Struct):
    agent_ids: list[str] = msgspec.field(default_factory=list)
    team_ids: list[str] = msgspec.field(default_factory=list)
    partner_ids: list[str] = msgspec.field(default_factory=list)


class RuleIn(msgspec.Struct):
    name: str
    priority: int = 100
    conditions: dict[str, list[str] | float] = msgspec.field(default_factory=dict)
    pool: PoolIn = msgspec.field(default_factory=PoolIn)
    strategy: str = "round_robin"
    accept_timeout_s: int = 900
    contact_timeout_s: int = 86400
    escalate_to_rule_id: str | None = None
    performance_weighting: bool = False
    active: bool = True


class RulePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Any of a rule's fields; those left out keep their value."""

    name: str | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    conditions: dict[str, list[str] | float] | UnsetType = UNSET
    pool: PoolIn | UnsetType = UNSET
    strategy: str | UnsetType = UNSET
    accept_timeout_s: int | UnsetType = UNSET
    contact_timeout_s: int | UnsetType = UNSET
    escalate_to_rule_id: str | UnsetType | None = UNSET
    performance_weighting: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET


def rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "priority": rule.priority,
        "conditions": rule.conditions,
        "pool": rule.pool,
        "strategy": rule.strategy,
        "accept_timeout_s": rule.accept_timeout_s,
        "contact_timeout_s": rule.contact_timeout_s,
        "escalate_to_rule_id": rule.escalate_to_rule_id,
        "performance_weighting": rule.performance_weighting,
        "active": rule.active,
    }


class RuleController(Controller):
    path = "/api/v1/rules"
    dependencies = ACTOR
    tags = ["rules"]

    @post("/", summary="Create a routing rule")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[RuleIn],
    ) -> dict[str, Any]:
        require_api_key(actor)
        by = await actor_label(db_session, actor)
        rule = await service.create_rule(db_session, msgspec.to_builtins(data), by)
        return rule_json(rule)

    @get("/{rule_id:str}", summary="One routing rule")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        rule_id: FromPath[str],
    ) -> dict[str, Any]:
        require_api_key(actor)
        return rule_json(await service.get_rule(db_session, rule_id))

    @patch("/{rule_id:str}", summary="Change a routing rule")
    async def change(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        rule_id: FromPath[str],
        data: JSONBody[RulePatch],
    ) -> dict[str, Any]:
        require_api_key(actor)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
        by = await actor_label(db_session, actor)
        rule = await service.update_rule(db_session, rule_id, msgspec.to_builtins(changes), by)
        return rule_json(rule)

    @delete(
        "/{rule_id:str}",
        summary="Switch a rule off; it stays on record for the decisions that used it",
        status_code=204,
    )
    async def switch_off(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        rule_id: FromPath[str],
    ) -> None:
        require_api_key(actor)
        by = await actor_label(db_session, actor)
        await service.update_rule(db_session, rule_id, {"active": False}, by)

    @get("/", summary="Rules in the order they are tried")
    async def index(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        require_api_key(actor)
        return {"items": [rule_json(r) for r in await service.list_rules(db_session)]}

    @post("/preview", summary="Where a sample lead would go now, saving nothing", status_code=200)
    async def preview(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[LeadIn],
        at: FromQuery[datetime | None] = None,
    ) -> dict[str, Any]:
        require_api_key(actor)
        fields = normalize(data)
        lead = Lead(**fields)
        return await service.preview(db_session, lead, _preview_instant(at))


ROUTES = [RuleController]


PREVIEW_YEARS = range(2000, 2100)


def _preview_instant(at: datetime | None) -> datetime:
    """The instant a preview routes at; working hours make sense only in our own era."""
    if at is None:
        return utcnow()
    if at.year not in PREVIEW_YEARS:
        raise BadInput(
            f"at {at.isoformat()} is outside the years {PREVIEW_YEARS[0]} to {PREVIEW_YEARS[-1]}.",
            field="at",
        )
    return as_utc(at)
