"""Reading leads, and the rep's actions on offers and leads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.idempotency import IdempotencyKey, run_once
from backend.access.service import Actor, require_api_key
from backend.errors import BadInput, NotFound
from backend.intake.service import inquiries_for_lead
from backend.pursuit import service
from backend.pursuit.models import Lead
from backend.pursuit.schemas import (
    ActivityIn,
    DeclineIn,
    activity_json,
    lead_json,
    lead_summary_json,
    offer_json,
)


async def full_lead(session: AsyncSession, lead: Lead) -> dict[str, Any]:
    journey = await service.journey(session, lead.id)
    return lead_json(lead, journey, await inquiries_for_lead(session, lead.id))


def rep_view(body: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """What a rep may see of a lead: not the routing decisions, nor other reps' offers."""
    mine = f"agent:{agent_id}"

    def own(event: dict[str, Any]) -> bool:
        other_actor = event["actor"].startswith("agent:") and event["actor"] != mine
        return not other_actor and event["data"].get("agent_id") in (None, agent_id)

    return {
        **body,
        "decisions": [],
        "offers": [o for o in body["offers"] if o["agent_id"] == agent_id],
        "events": [e for e in body["events"] if own(e)],
    }


class LeadController(Controller):
    path = "/api/v1/leads"
    dependencies = ACTOR
    tags = ["leads"]

    @get("/{lead_id:str}", summary="A lead with its whole journey")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        lead_id: FromPath[str],
    ) -> dict[str, Any]:
        lead = await service.get_lead(db_session, lead_id)
        if actor.agent_id is not None and not await service.agent_may_see(
            db_session, lead, actor.agent_id
        ):
            raise NotFound(f"Lead {lead_id} does not exist or is not yours.")
        body = await full_lead(db_session, lead)
        return rep_view(body, actor.agent_id) if actor.agent_id else body

    @post(
        "/{lead_id:str}/activities",
        summary="Log a contact attempt, note or outcome",
        status_code=201,
    )
    async def log_activity(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        lead_id: FromPath[str],
        data: JSONBody[ActivityIn],
        idempotency_key: IdempotencyKey,
    ) -> Response[Any]:
        async def action() -> tuple[int, dict[str, Any]]:
            activity = await service.log_activity(
                db_session,
                lead_id,
                agent_id=actor.agent_id,
                kind=data.kind,
                outcome=data.outcome,
                note=data.note,
            )
            return 201, activity_json(activity)

        return await run_once(
            db_session, actor, f"activity:{lead_id}", idempotency_key, action, data
        )


class OfferController(Controller):
    path = "/api/v1/offers"
    dependencies = ACTOR
    tags = ["offers"]

    @post("/{offer_id:str}/accept", summary="Accept an offer", status_code=200)
    async def accept(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        offer_id: FromPath[str],
        idempotency_key: IdempotencyKey,
    ) -> Response[Any]:
        async def action() -> tuple[int, dict[str, Any]]:
            lead = await service.accept_offer(db_session, offer_id, agent_id=actor.agent_id)
            return 200, await full_lead(db_session, lead)

        return await run_once(db_session, actor, f"accept:{offer_id}", idempotency_key, action)

    @post("/{offer_id:str}/decline", summary="Decline an offer with a reason", status_code=200)
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        offer_id: FromPath[str],
        data: JSONBody[DeclineIn],
        idempotency_key: IdempotencyKey,
    ) -> Response[Any]:
        async def action() -> tuple[int, dict[str, Any]]:
            lead, _ = await service.decline_offer(
                db_session, offer_id, agent_id=actor.agent_id, reason=data.reason, note=data.note
            )
            return 200, {"offer_id": offer_id, "status": "declined", "lead_status": lead.status}

        return await run_once(
            db_session, actor, f"decline:{offer_id}", idempotency_key, action, data
        )


class QueueController(Controller):
    """The calling rep's own queue, for the rep app."""

    path = "/api/v1/me"
    dependencies = ACTOR
    tags = ["rep"]

    @get("/queue", summary="Pending offers and owned leads of the calling agent")
    async def queue(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        if actor.agent_id is None:
            require_api_key(actor)
            raise BadInput("The queue belongs to a rep: call it with an agent link token.")
        queue = await service.agent_queue(db_session, actor.agent_id)
        return {
            "pending": [
                {"offer": offer_json(o), "lead": lead_summary_json(lead)}
                for o, lead in queue.pending
            ],
            "owned": [lead_summary_json(lead) for lead in queue.owned],
        }


ROUTES = [LeadController, OfferController, QueueController]
