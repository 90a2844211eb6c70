"""A manager's corrections to coalescing, over the API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.service import Actor, require_api_key
from backend.errors import BadInput
from backend.identity.corrections import merge_leads, split_inquiry
from backend.pursuit.controllers import full_lead


class MergeIn(msgspec.Struct):
    from_lead_id: str | None = None


class SplitController(Controller):
    path = "/api/v1/inquiries"
    dependencies = ACTOR
    tags = ["leads"]

    @post(
        "/{inquiry_id:str}/split", summary="Split an inquiry out into its own lead", status_code=200
    )
    async def split(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        inquiry_id: FromPath[str],
    ) -> dict[str, Any]:
        """The inquiry's new lead, routed; 409 when it is its lead's only inquiry."""
        require_api_key(actor)
        lead = await split_inquiry(db_session, inquiry_id, actor.label)
        return await full_lead(db_session, lead)


class MergeController(Controller):
    path = "/api/v1/leads"
    dependencies = ACTOR
    tags = ["leads"]

    @post("/{lead_id:str}/merge", summary="Merge another lead into this one", status_code=200)
    async def merge(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        lead_id: FromPath[str],
        data: JSONBody[MergeIn],
    ) -> dict[str, Any]:
        """This lead with the other's inquiries; the other ends as ``merged``."""
        require_api_key(actor)
        if not data.from_lead_id:
            raise BadInput("Name the lead to merge in as from_lead_id.", field="from_lead_id")
        lead = await merge_leads(db_session, lead_id, data.from_lead_id, actor.label)
        return await full_lead(db_session, lead)


ROUTES = [SplitController, MergeController]
