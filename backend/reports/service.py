"""Pursuit figures for a period: how many leads, how many pursued, and what was lost.

A lead is pursued once a contact is logged. It is lost when, without any contact, it
closed or its contact deadline passed; its value then counts as lost revenue. LRL is the
lost revenue divided by all leads of the period.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import as_utc, utcnow
from backend.pursuit.models import Lead

TERMINAL = ("won", "lost")


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
    currency: str | None = None

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


async def summary(
    session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Summary:
    now = now or utcnow()
    query = select(
        Lead.status,
        Lead.value,
        Lead.received_at,
        Lead.accepted_at,
        Lead.first_contact_at,
        Lead.contact_due_at,
        Lead.currency,
    )
    if since is not None:
        query = query.where(Lead.received_at >= as_utc(since))
    if until is not None:
        query = query.where(Lead.received_at < as_utc(until))
    rows = (await session.execute(query)).all()

    leads = len(rows)
    pursued = sum(1 for r in rows if r.first_contact_at is not None)
    lost = [r for r in rows if is_lost(r, now)]
    lost_revenue = round(sum(r.value or 0.0 for r in lost), 2)
    accept_times = [(r.accepted_at - r.received_at).total_seconds() for r in rows if r.accepted_at]
    contact_times = [
        (r.first_contact_at - r.received_at).total_seconds() for r in rows if r.first_contact_at
    ]
    currencies = {r.currency for r in rows if r.value is not None}
    return Summary(
        leads=leads,
        currency=currencies.pop() if len(currencies) == 1 else None,
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
    )
