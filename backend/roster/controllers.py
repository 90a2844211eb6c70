"""Roster API: teams, partners, agents and their link tokens."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access import service as access
from backend.access.audit import actor_label
from backend.access.dependencies import ACTOR
from backend.access.service import Actor, require_api_key
from backend.roster import service
from backend.roster.schemas import (
    AgentChanges,
    AgentIn,
    PartnerIn,
    TeamIn,
    agent_json,
    partner_json,
    team_json,
)


class TeamController(Controller):
    path = "/api/v1/teams"
    dependencies = ACTOR
    tags = ["roster"]

    @post("/", summary="Create a team")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[TeamIn],
    ) -> dict[str, Any]:
        require_api_key(actor)
        by = await actor_label(db_session, actor)
        return team_json(await service.create_team(db_session, data.name, by))


class PartnerController(Controller):
    path = "/api/v1/partners"
    dependencies = ACTOR
    tags = ["roster"]

    @post("/", summary="Create a partner company")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[PartnerIn],
    ) -> dict[str, Any]:
        require_api_key(actor)
        by = await actor_label(db_session, actor)
        partner = await service.create_partner(db_session, data.name, data.fair_share, by)
        return partner_json(partner)


class AgentController(Controller):
    path = "/api/v1/agents"
    dependencies = ACTOR
    tags = ["roster"]

    @post("/", summary="Create an agent")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[AgentIn],
    ) -> dict[str, Any]:
        require_api_key(actor)
        values = {f: getattr(data, f) for f in data.__struct_fields__}
        by = await actor_label(db_session, actor)
        return agent_json(await service.create_agent(db_session, values, by))

    @get("/", summary="List agents")
    async def index(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        require_api_key(actor)
        return {"items": [agent_json(a) for a in await service.list_agents(db_session)]}

    @get("/{agent_id:str}", summary="One agent")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        agent_id: FromPath[str],
    ) -> dict[str, Any]:
        require_api_key(actor)
        return agent_json(await service.get_agent(db_session, agent_id))

    @patch("/{agent_id:str}", summary="Change an agent")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        agent_id: FromPath[str],
        data: JSONBody[AgentChanges],
    ) -> dict[str, Any]:
        require_api_key(actor)
        by = await actor_label(db_session, actor)
        agent = await service.update_agent(db_session, agent_id, data.present(), by)
        return agent_json(agent)

    @post("/{agent_id:str}/links", summary="Create a link token for the agent")
    async def create_link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        agent_id: FromPath[str],
    ) -> dict[str, Any]:
        require_api_key(actor)
        await service.get_agent(db_session, agent_id)
        token, expires_at = await access.create_agent_link(db_session, agent_id)
        base = request.app.state.settings.base_url
        return {
            "token": token,
            "url": f"{base}/r/{token}",
            "expires_at": expires_at.isoformat() if expires_at else None,
        }

    @delete("/{agent_id:str}/links", summary="Revoke every link token of the agent")
    async def revoke_links(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        agent_id: FromPath[str],
    ) -> None:
        require_api_key(actor)
        await service.get_agent(db_session, agent_id)
        await access.revoke_agent_links(db_session, agent_id)


ROUTES = [TeamController, PartnerController, AgentController]
