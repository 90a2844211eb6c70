"""The dashboard's cuts: buckets of time, the funnel, waits to accept, lost revenue by group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.reports.breakdown import NO_PARTNER, bucket_of, cut, time_unit
from backend.reports.service import Money

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@dataclass
class Row:
    received_at: datetime
    status: str = "offered"
    value: float | None = 100.0
    currency: str | None = "BRL"
    source: str = "web"
    accepted_at: datetime | None = None
    first_contact_at: datetime | None = None
    contact_due_at: datetime | None = None
    offered: bool = True
    partner_id: str | None = None
    missed_accept: bool = False


@pytest.mark.parametrize(
    ("first", "last", "unit"),
    [
        (date(2026, 1, 1), date(2026, 3, 4), "day"),
        (date(2026, 1, 1), date(2026, 3, 5), "week"),
        (date(2024, 1, 1), date(2026, 1, 1), "month"),
    ],
)
def test_time_unit_grows_with_the_span(first: date, last: date, unit: str) -> None:
    assert time_unit(first, last) == unit


def test_bucket_of_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert bucket_of(date(2026, 3, 12), "week") == date(2026, 3, 9)
    assert bucket_of(date(2026, 3, 12), "month") == date(2026, 3, 1)


def test_cut_counts_every_chart_from_the_same_rows() -> None:
    day = datetime(2026, 3, 8, 9, tzinfo=UTC)
    rows = [
        Row(
            day,
            "contacted",
            accepted_at=day + timedelta(seconds=30),
            first_contact_at=day + timedelta(hours=1),
            partner_id="p1",
        ),
        Row(
            day,
            "won",
            accepted_at=day + timedelta(minutes=20),
            first_contact_at=day + timedelta(hours=2),
            source="ads",
        ),
        Row(day + timedelta(days=1), "lost", value=300, source="ads"),
        Row(
            day + timedelta(days=1),
            "unassigned",
            offered=False,
            contact_due_at=NOW - timedelta(hours=1),
            value=60,
            partner_id="p1",
        ),
    ]

    found = cut(rows, NOW, Money(), (date(2026, 3, 7), date(2026, 3, 9)), {"p1": "Sol"}, [])

    assert [(s.label, s.leads, s.lost_revenue) for s in found.over_time] == [
        ("2026-03-07", 0, 0.0),
        ("2026-03-08", 2, 0.0),
        ("2026-03-09", 2, 360.0),
    ]
    assert found.funnel == [
        ("received", 4),
        ("offered", 3),
        ("accepted", 2),
        ("contacted", 2),
        ("won", 1),
    ]
    assert dict(found.accept_times)["under 1 min"] == 1
    assert dict(found.accept_times)["15 to 60 min"] == 1
    assert [(s.label, s.lrl) for s in found.by_source] == [("ads", 150.0), ("web", 30.0)]
    assert [(s.label, s.lrl) for s in found.by_partner] == [(NO_PARTNER, 150.0), ("Sol", 30.0)]
