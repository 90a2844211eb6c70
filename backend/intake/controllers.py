"""The JSON intake endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.idempotency import IdempotencyKey, run_once
from backend.access.service import Actor, require_api_key
from backend.db import as_utc
from backend.errors import BadInput
from backend.intake.schemas import LeadIn
from backend.intake.service import IntakeResult, submit_inquiry
from backend.pursuit import service
from backend.pursuit.schemas import iso, lead_summary_json


def intake_json(result: IntakeResult) -> dict[str, Any]:
    lead, offer = result.lead, result.offer
    return {
        "inquiry_id": result.inquiry.id,
        "lead_id": lead.id if lead else None,
        "coalesced": result.coalesced,
        "status": lead.status if lead else result.inquiry.status,
        "owner": lead.owner_id if lead else None,
        "offer": (
            {
                "id": offer.id,
                "agent_id": offer.agent_id,
                "status": offer.status,
                "expires_at": iso(offer.expires_at),
            }
            if offer
            else None
        ),
    }


LEAD_STATUSES = (
    "routing",
    "offered",
    "accepted",
    "contacted",
    "won",
    "lost",
    "unassigned",
    "merged",
    "spam",
)


class IntakeController(Controller):
    path = "/api/v1/leads"
    dependencies = ACTOR
    tags = ["leads"]

    @post("/", summary="Submit an inquiry", status_code=201)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[LeadIn],
        idempotency_key: IdempotencyKey,
    ) -> Response[Any]:
        """201 with a new lead; 200 when the inquiry joined its prospect's open lead
        (``coalesced``) or replays an earlier one."""
        require_api_key(actor)

        async def action() -> tuple[int, dict[str, Any]]:
            result = await submit_inquiry(db_session, data)
            return (201 if result.created else 200), intake_json(result)

        return await run_once(db_session, actor, "leads", idempotency_key, action, data)

    @get("/", summary="List leads, newest first")
    async def index(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        status: FromQuery[str | None] = None,
        owner: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        require_api_key(actor)
        if status is not None and status not in LEAD_STATUSES:
            raise BadInput(f"status {status!r} is not one of {', '.join(LEAD_STATUSES)}.")
        if since and until and as_utc(since) >= as_utc(until):
            raise BadInput("since must be before until.")
        if not 1 <= limit <= 500:
            raise BadInput(f"limit {limit} must be between 1 and 500.")
        leads, next_cursor = await service.list_leads(
            db_session,
            status=status,
            owner=owner,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
        return {"items": [lead_summary_json(lead) for lead in leads], "next_cursor": next_cursor}


ROUTES = [IntakeController]
