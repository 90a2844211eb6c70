"""Pursuit figures for a period: how many leads, how many pursued, and what was lost.

A lead is pursued once a contact is logged. It is lost when, without any contact, it
closed or its contact deadline passed; its value then counts as lost revenue. LRL is the
lost revenue divided by all leads of the period.

Amounts add up in one reporting currency: the configured one, else the one most valued
leads of the period use. Other currencies are converted at configured rates; lost value
in a currency without a rate is reported beside the total, never added into it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.scope import EVERYTHING, Scope
from backend.db import as_utc, utcnow
from backend.pursuit.models import Lead, Offer
from backend.reports.scoping import lead_in_scope, narrow
from backend.roster.models import Agent

TERMINAL = ("won", "lost")
SPAM = "spam"  # closed by a manager as not a real inquiry: left out of every figure


@dataclass(frozen=True)
class Summary:
    leads: int
    pursued: int
    pursuit_rate: float
    lost_leads: int
    lost_revenue: float
    lrl: float
    accept_time_p50_s: float | None
    accept_time_p90_s: float | None
    contact_time_p50_s: float | None
    contact_time_p90_s: float | None
    unassigned: int
    awaiting_contact: int
    sla_breaches: int = 0
    currency: str | None = None
    unconverted_lost_revenue: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks, as spreadsheets compute PERCENTILE."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class LeadDates(Protocol):
    status: str
    first_contact_at: datetime | None
    contact_due_at: datetime | None


def is_lost(lead: LeadDates, now: datetime) -> bool:
    if lead.first_contact_at is not None:
        return False
    if lead.status in TERMINAL:
        return True
    return lead.contact_due_at is not None and lead.contact_due_at <= now


@dataclass(frozen=True)
class Money:
    """How amounts in several currencies add up: into ``currency``, at ``rates``."""

    currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)


class Valued(Protocol):
    @property
    def value(self) -> float | None: ...

    @property
    def currency(self) -> str | None: ...


def reporting_currency(rows: Sequence[Valued], money: Money) -> str | None:
    if money.currency:
        return money.currency
    used = Counter(r.currency for r in rows if r.value is not None and r.currency)
    if not used:
        return None
    return min(used, key=lambda code: (-used[code], code))


def add_up(
    lost: Sequence[Valued], currency: str | None, money: Money
) -> tuple[float, dict[str, float]]:
    """The lost value in ``currency``, and what could not be converted, by currency."""
    total, unconverted = 0.0, defaultdict[str, float](float)
    for row in lost:
        if row.value is None:
            continue
        if row.currency in (None, currency):
            total += row.value
        elif row.currency in money.rates:
            total += row.value * money.rates[row.currency]
        else:
            unconverted[row.currency] += row.value
    return round(total, 2), {code: round(v, 2) for code, v in sorted(unconverted.items())}


@dataclass(frozen=True)
class LeadFilter:
    """Which leads a figure counts besides the period; empty fields do not narrow."""

    team_id: str | None = None
    partner_id: str | None = None
    source: str | None = None
    campaign: str | None = None
    product: str | None = None
    region: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "team_id",
        "partner_id",
        "source",
        "campaign",
        "product",
        "region",
    )

    @property
    def query(self) -> dict[str, str]:
        return {key: value for key in self.FIELDS if (value := getattr(self, key))}


async def lead_conditions(
    session: AsyncSession,
    since: datetime | None,
    until: datetime | None,
    chosen: LeadFilter | None = None,
    scope: Scope = EVERYTHING,
    spam: bool = False,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses picking a period's leads, narrowed by a filter and a scope.

    Leads closed as spam are left out unless ``spam`` asks for them.
    """
    chosen = chosen or LeadFilter()
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(Lead.received_at >= as_utc(since))
    if until is not None:
        where.append(Lead.received_at < as_utc(until))
    for column, value in (
        (Lead.source, chosen.source),
        (Lead.campaign, chosen.campaign),
        (Lead.product, chosen.product),
        (Lead.region, chosen.region),
    ):
        if value:
            where.append(column == value)
    if not spam:
        where.append(Lead.status != SPAM)
    reach = await lead_in_scope(session, narrow(scope, chosen.team_id, chosen.partner_id))
    if reach is not None:
        where.append(reach)
    return where


def _rows_query(where: list[ColumnElement[bool]]) -> Select[Any]:
    expired = exists(select(Offer.id).where(Offer.lead_id == Lead.id, Offer.status == "expired"))
    offered = exists(select(Offer.id).where(Offer.lead_id == Lead.id))
    last_partner = (
        select(Agent.partner_id)
        .join(Offer, Offer.agent_id == Agent.id)
        .where(Offer.lead_id == Lead.id)
        .order_by(Offer.offered_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    owner_partner = select(Agent.partner_id).where(Agent.id == Lead.owner_id).scalar_subquery()
    return select(
        Lead.status,
        Lead.value,
        Lead.received_at,
        Lead.accepted_at,
        Lead.first_contact_at,
        Lead.contact_due_at,
        Lead.currency,
        Lead.source,
        expired.label("missed_accept"),
        offered.label("offered"),
        func.coalesce(owner_partner, last_partner).label("partner_id"),
    ).where(*where)


async def period_rows(
    session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    chosen: LeadFilter | None = None,
    scope: Scope = EVERYTHING,
    agent_ids: Collection[str] | None = None,
) -> list[Any]:
    """One row per lead of the period with what figures and charts need.

    With ``agent_ids``, only the leads offered to or owned by those agents count.
    """
    where = await lead_conditions(session, since, until, chosen, scope)
    if agent_ids is not None:
        where.append(leads_of(agent_ids))
    return list((await session.execute(_rows_query(where))).all())


def breached(row: Any, now: datetime) -> bool:
    """An offer expired unanswered, or the first contact came late or not by the deadline."""
    if row.missed_accept:
        return True
    due = row.contact_due_at
    if due is None:
        return False
    late: bool = row.first_contact_at > due if row.first_contact_at else due <= now
    return late


async def summary(
    session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    money: Money | None = None,
    chosen: LeadFilter | None = None,
    scope: Scope = EVERYTHING,
    agent_ids: Collection[str] | None = None,
) -> Summary:
    """Figures of the period's leads, narrowed by a filter, a scope or a set of agents."""
    rows = await period_rows(session, since, until, chosen, scope, agent_ids)
    return summarize(rows, now or utcnow(), money or Money())


def summarize(rows: Sequence[Any], now: datetime, money: Money) -> Summary:
    leads = len(rows)
    pursued = sum(1 for r in rows if r.first_contact_at is not None)
    lost = [r for r in rows if is_lost(r, now)]
    currency = reporting_currency(rows, money)
    lost_revenue, unconverted = add_up(lost, currency, money)
    accept_times = [(r.accepted_at - r.received_at).total_seconds() for r in rows if r.accepted_at]
    contact_times = [
        (r.first_contact_at - r.received_at).total_seconds() for r in rows if r.first_contact_at
    ]
    return Summary(
        leads=leads,
        currency=currency,
        unconverted_lost_revenue=unconverted,
        pursued=pursued,
        pursuit_rate=round(pursued / leads, 4) if leads else 0.0,
        lost_leads=len(lost),
        lost_revenue=lost_revenue,
        lrl=round(lost_revenue / leads, 2) if leads else 0.0,
        accept_time_p50_s=percentile(accept_times, 0.5),
        accept_time_p90_s=percentile(accept_times, 0.9),
        contact_time_p50_s=percentile(contact_times, 0.5),
        contact_time_p90_s=percentile(contact_times, 0.9),
        unassigned=sum(1 for r in rows if r.status == "unassigned"),
        awaiting_contact=sum(1 for r in rows if r.status == "accepted" and not is_lost(r, now)),
        sla_breaches=sum(1 for r in rows if breached(r, now)),
    )


def leads_of(agent_ids: Collection[str]) -> ColumnElement[bool]:
    """Leads owned by, or ever offered to, one of the agents."""
    offered = select(Offer.lead_id).where(Offer.agent_id.in_(list(agent_ids)))
    return or_(Lead.owner_id.in_(list(agent_ids)), Lead.id.in_(offered))
