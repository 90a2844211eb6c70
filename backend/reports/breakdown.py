"""The dashboard's charts as numbers: the same leads the headline figures count, cut apart.

Every cut starts from ``period_rows``, so the bars of a chart add up to the figure above it.
Time buckets are days for spans up to 62 days, ISO weeks (from Monday) up to two years,
then months.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.scope import EVERYTHING, Scope
from backend.pursuit.models import Lead, Offer
from backend.reports.service import (
    LeadFilter,
    Money,
    add_up,
    is_lost,
    lead_conditions,
    period_rows,
    reporting_currency,
)

ACCEPT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 1 min", 60),
    ("1 to 5 min", 300),
    ("5 to 15 min", 900),
    ("15 to 60 min", 3600),
    ("1 to 4 h", 4 * 3600),
    ("4 h or more", float("inf")),
)
NO_PARTNER = "Own reps"


@dataclass(frozen=True)
class Slice:
    """One group's leads, lost revenue and lost revenue per lead."""

    label: str
    leads: int
    lost_revenue: float

    @property
    def lrl(self) -> float:
        return round(self.lost_revenue / self.leads, 2) if self.leads else 0.0


@dataclass
class Breakdown:
    currency: str | None
    unit: str
    over_time: list[Slice]
    funnel: list[tuple[str, int]]
    declines: list[tuple[str, int]]
    accept_times: list[tuple[str, int]]
    by_source: list[Slice]
    by_partner: list[Slice]


def bucket_of(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def time_unit(first: date, last: date) -> str:
    span = (last - first).days
    return "day" if span <= 62 else "week" if span <= 730 else "month"


def _buckets(first: date, last: date, unit: str) -> list[date]:
    """Every bucket from the first to the last, empty ones included, so gaps show."""
    out, day = [], bucket_of(first, unit)
    while day <= last:
        out.append(day)
        if unit == "day":
            day += timedelta(days=1)
        elif unit == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _slices(
    groups: dict[str, list[Any]], now: datetime, currency: str | None, money: Money
) -> list[Slice]:
    return [
        Slice(label, len(rows), add_up([r for r in rows if is_lost(r, now)], currency, money)[0])
        for label, rows in groups.items()
    ]


def cut(
    rows: Sequence[Any],
    now: datetime,
    money: Money,
    period: tuple[date | None, date | None],
    partners: dict[str, str],
    declines: list[tuple[str, int]],
) -> Breakdown:
    """Group the period's rows for every chart; ``period`` bounds the time axis when given."""
    currency = reporting_currency(rows, money)
    days = [r.received_at.date() for r in rows]
    first = period[0] or (min(days) if days else now.date())
    last = period[1] or (max(days) if days else now.date())
    unit = time_unit(first, last)
    by_bucket: dict[str, list[Any]] = {b.isoformat(): [] for b in _buckets(first, last, unit)}
    by_source: dict[str, list[Any]] = defaultdict(list)
    by_partner: dict[str, list[Any]] = defaultdict(list)
    for row, day in zip(rows, days, strict=True):
        by_bucket.setdefault(bucket_of(day, unit).isoformat(), []).append(row)
        by_source[row.source].append(row)
        by_partner[partners.get(row.partner_id or "", NO_PARTNER)].append(row)

    accept = Counter[str]()
    for r in rows:
        if r.accepted_at is not None:
            waited = (r.accepted_at - r.received_at).total_seconds()
            accept[next(label for label, top in ACCEPT_BUCKETS if waited < top)] += 1
    funnel = [
        ("received", len(rows)),
        ("offered", sum(1 for r in rows if r.offered)),
        ("accepted", sum(1 for r in rows if r.accepted_at is not None)),
        ("contacted", sum(1 for r in rows if r.first_contact_at is not None)),
        ("won", sum(1 for r in rows if r.status == "won")),
    ]
    return Breakdown(
        currency=currency,
        unit=unit,
        over_time=_slices(dict(sorted(by_bucket.items())), now, currency, money),
        funnel=funnel,
        declines=declines,
        accept_times=[(label, accept[label]) for label, _ in ACCEPT_BUCKETS],
        by_source=sorted(_slices(by_source, now, currency, money), key=_worst_first),
        by_partner=sorted(_slices(by_partner, now, currency, money), key=_worst_first),
    )


def _worst_first(group: Slice) -> tuple[float, str]:
    return -group.lrl, group.label


async def decline_reasons(
    session: AsyncSession,
    since: datetime | None,
    until: datetime | None,
    chosen: LeadFilter | None,
    scope: Scope,
) -> list[tuple[str, int]]:
    """Declined offers of the period's leads by reason, most frequent first."""
    leads = select(Lead.id).where(*await lead_conditions(session, since, until, chosen, scope))
    found = await session.execute(
        select(Offer.decline_reason, func.count())
        .where(Offer.status == "declined", Offer.lead_id.in_(leads))
        .group_by(Offer.decline_reason)
    )
    counted = [(reason or "other", int(n)) for reason, n in found.tuples().all()]
    return sorted(counted, key=lambda pair: (-pair[1], pair[0]))


async def breakdown(
    session: AsyncSession,
    since: datetime | None,
    until: datetime | None,
    *,
    now: datetime,
    money: Money,
    partners: dict[str, str],
    period: tuple[date | None, date | None] = (None, None),
    chosen: LeadFilter | None = None,
    scope: Scope = EVERYTHING,
) -> Breakdown:
    rows = await period_rows(session, since, until, chosen, scope)
    declines = await decline_reasons(session, since, until, chosen, scope)
    return cut(rows, now, money, period, partners, declines)
