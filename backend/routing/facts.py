"""What routing reads about the world: pools, loads, history, rotation, fair-share counts.

Live routing reads the database through ``DatabaseFacts``; a what-if replay supplies
its own answers through the same protocol, so both decide with the same code.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent, Partner
from backend.routing.eligibility import History
from backend.routing.models import Rotation
from backend.routing.strategies import Turn

OPEN_LEAD_STATUSES = ("accepted", "contacted")
FAIR_SHARE_WINDOW = timedelta(days=30)


class RoutingFacts(Protocol):
    async def pool_agents(self, pool: dict[str, Any]) -> list[Agent]: ...

    async def agents(self, agent_ids: set[str]) -> dict[str, Agent]: ...

    async def loads(self, agent_ids: list[str]) -> dict[str, int]: ...

    async def offered_today(self, agents: list[Agent], now: datetime) -> dict[str, int]: ...

    async def history(self, lead_id: str | None) -> dict[str, History]: ...

    async def previous_owner(self, lead: Any, lead_id: str | None) -> str | None: ...

    async def turns(self, rule_id: str, lock: bool) -> dict[str, Turn]: ...

    async def served_by_group(self, rule_id: str, now: datetime) -> dict[str | None, int]: ...

    async def shares(self, partner_ids: set[str]) -> dict[str | None, float]: ...


def local_midnight(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class DatabaseFacts:
    """Routing facts read from the database in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def pool_agents(self, pool: dict[str, Any]) -> list[Agent]:
        """Everyone a pool names directly or through a team or partner, oldest first."""
        agent_ids = pool.get("agent_ids") or []
        team_ids = pool.get("team_ids") or []
        partner_ids = pool.get("partner_ids") or []
        if not (agent_ids or team_ids or partner_ids):
            return []
        query = select(Agent).where(
            or_(
                Agent.id.in_(agent_ids),
                Agent.team_id.in_(team_ids),
                Agent.partner_id.in_(partner_ids),
            )
        )
        return list((await self.session.scalars(query.order_by(Agent.created_at, Agent.id))).all())

    async def agents(self, agent_ids: set[str]) -> dict[str, Agent]:
        if not agent_ids:
            return {}
        rows = await self.session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))
        return {a.id: a for a in rows.all()}

    async def loads(self, agent_ids: list[str]) -> dict[str, int]:
        """Open leads per agent: pending offers plus accepted leads not yet closed."""
        loads = dict.fromkeys(agent_ids, 0)
        if not agent_ids:
            return loads
        pending = (
            select(Offer.agent_id.label("agent_id"))
            .where(Offer.agent_id.in_(agent_ids), Offer.status == "pending")
            .union_all(
                select(Lead.owner_id.label("agent_id")).where(
                    Lead.owner_id.in_(agent_ids), Lead.status.in_(OPEN_LEAD_STATUSES)
                )
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(pending.c.agent_id, func.count()).group_by(pending.c.agent_id)
        )
        for agent_id, count in rows.tuples().all():
            if agent_id is not None:
                loads[agent_id] += count
        return loads

    async def offered_today(self, agents: list[Agent], now: datetime) -> dict[str, int]:
        """Offers made to each capped agent since midnight in the agent's own zone."""
        capped = [a for a in agents if a.daily_cap is not None]
        if not capped:
            return {}
        since = {a.id: local_midnight(now, a.timezone) for a in capped}
        rows = await self.session.execute(
            select(Offer.agent_id, Offer.offered_at).where(
                Offer.agent_id.in_(list(since)),
                Offer.offered_at >= min(since.values()),
                Offer.offered_at <= now,
            )
        )
        counts: dict[str, int] = defaultdict(int)
        for agent_id, offered_at in rows.tuples().all():
            if offered_at >= since[agent_id]:
                counts[agent_id] += 1
        return counts

    async def history(self, lead_id: str | None) -> dict[str, History]:
        if lead_id is None:
            return {}
        rows = await self.session.execute(
            select(Offer.agent_id, Offer.status, Offer.withdrawn_reason).where(
                Offer.lead_id == lead_id, Offer.status.in_(("declined", "expired", "withdrawn"))
            )
        )
        seen: dict[str, set[str]] = defaultdict(set)
        for agent_id, status, withdrawn_reason in rows.tuples().all():
            seen[agent_id].add("reclaimed" if withdrawn_reason == "no_contact" else status)
        return {
            agent_id: History(
                declined="declined" in statuses,
                expired="expired" in statuses,
                reclaimed="reclaimed" in statuses,
            )
            for agent_id, statuses in seen.items()
        }

    async def previous_owner(self, lead: Any, lead_id: str | None) -> str | None:
        """The agent who last owned a lead from the same email or phone, if any."""
        keys = [
            column == value
            for column, value in ((Lead.email, lead.email), (Lead.phone, lead.phone))
            if value
        ]
        if not keys:
            return None
        query = (
            select(Lead.owner_id)
            .where(or_(*keys), Lead.owner_id.is_not(None))
            .order_by(Lead.received_at.desc())
            .limit(1)
        )
        if lead_id is not None:
            query = query.where(Lead.id != lead_id)
        owner: str | None = await self.session.scalar(query)
        return owner

    async def turns(self, rule_id: str, lock: bool) -> dict[str, Turn]:
        """The rule's rotation; with ``lock`` other routers of this rule wait for us."""
        if lock:
            from backend.routing.models import Rule

            await self.session.execute(select(Rule.id).where(Rule.id == rule_id).with_for_update())
        rows = await self.session.execute(
            select(Rotation.agent_id, Rotation.sequence, Rotation.pass_value).where(
                Rotation.rule_id == rule_id
            )
        )
        return {
            agent_id: Turn(sequence, pass_value if sequence else None)
            for agent_id, sequence, pass_value in rows.tuples().all()
        }

    async def served_by_group(self, rule_id: str, now: datetime) -> dict[str | None, int]:
        """Leads this rule offered to each partner company (None: employees) lately."""
        rows = await self.session.execute(
            select(Agent.partner_id, func.count(func.distinct(Offer.lead_id)))
            .join(Agent, Agent.id == Offer.agent_id)
            .where(Offer.rule_id == rule_id, Offer.offered_at >= now - FAIR_SHARE_WINDOW)
            .group_by(Agent.partner_id)
        )
        return {partner_id: count for partner_id, count in rows.tuples().all()}

    async def shares(self, partner_ids: set[str]) -> dict[str | None, float]:
        shares: dict[str | None, float] = {None: 1.0}
        if partner_ids:
            rows = await self.session.execute(
                select(Partner.id, Partner.fair_share).where(Partner.id.in_(partner_ids))
            )
            shares.update(rows.tuples().all())
        return shares
