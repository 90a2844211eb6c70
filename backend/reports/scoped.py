"""Figures for part of the roster: a manager's teams, one partner company, a week.

A lead belongs to the agents it was offered to or is owned by; "lost" is judged as in
``backend.reports.service``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import as_utc
from backend.pursuit.models import Lead, Offer
from backend.reports.service import is_lost, leads_of
from backend.roster.models import Agent


@dataclass(frozen=True)
class LostLead:
    id: str
    received_at: datetime
    value: float
    currency: str | None
    product: str | None
    country: str | None


async def costliest_lost(
    session: AsyncSession,
    agent_ids: Collection[str] | None,
    since: datetime,
    until: datetime,
    now: datetime,
    limit: int = 5,
) -> list[LostLead]:
    """Leads of the period lost without any contact, the most valuable first."""
    query = select(Lead).where(
        Lead.received_at >= as_utc(since),
        Lead.received_at < as_utc(until),
        Lead.first_contact_at.is_(None),
    )
    if agent_ids is not None:
        query = query.where(leads_of(agent_ids))
    lost = [lead for lead in (await session.scalars(query)).all() if is_lost(lead, now)]
    lost.sort(key=lambda lead: (-(lead.value or 0.0), lead.received_at))
    return [
        LostLead(
            lead.id, lead.received_at, lead.value or 0.0, lead.currency, lead.product, lead.country
        )
        for lead in lost[:limit]
    ]


async def expired_offers(
    session: AsyncSession, agent_ids: Collection[str] | None, since: datetime, until: datetime
) -> dict[str, int]:
    """How many offers each agent let expire in the period, by agent id."""
    query = (
        select(Offer.agent_id, func.count())
        .where(
            Offer.status == "expired",
            Offer.offered_at >= as_utc(since),
            Offer.offered_at < as_utc(until),
        )
        .group_by(Offer.agent_id)
    )
    if agent_ids is not None:
        query = query.where(Offer.agent_id.in_(list(agent_ids)))
    rows = await session.execute(query)
    return {agent_id: int(count) for agent_id, count in rows.tuples().all()}


async def partner_offers(session: AsyncSession, since: datetime, until: datetime) -> dict[str, int]:
    """Offers made to each partner company's reps in the period, by partner id."""
    query = (
        select(Agent.partner_id, func.count())
        .join(Offer, Offer.agent_id == Agent.id)
        .where(
            Agent.partner_id.is_not(None),
            Offer.offered_at >= as_utc(since),
            Offer.offered_at < as_utc(until),
        )
        .group_by(Agent.partner_id)
    )
    rows = await session.execute(query)
    return {partner_id: int(count) for partner_id, count in rows.tuples().all() if partner_id}


async def recent_leads(
    session: AsyncSession, agent_ids: Collection[str], limit: int = 50
) -> list[Lead]:
    """The newest leads offered to or owned by the agents."""
    if not agent_ids:
        return []
    query = select(Lead).where(leads_of(agent_ids)).order_by(Lead.received_at.desc())
    return list((await session.scalars(query.limit(limit))).all())
