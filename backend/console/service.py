"""What the manager console shows: a period's figures, the leads list and one lead's journey.

Each function gathers what one screen needs from the owning domains' services; nothing
here writes. Dates chosen in the console are whole UTC days, ``until`` included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import BadInput
from backend.intake.service import inquiries_for_lead
from backend.pursuit import service as pursuit
from backend.reports.service import Summary, summary
from backend.roster.service import agent_names
from backend.routing.service import list_rules

LEAD_STATUSES = ("routing", "offered", "accepted", "contacted", "won", "lost", "unassigned")
PAGE_SIZE = 25
LAST_YEAR = 9998
"""The last year a chosen day may fall in: the day after it must still be a date."""
STALE_CURSOR = "That page link is no longer valid. Showing the newest leads."


@dataclass(frozen=True)
class Period:
    """A range of whole days; either end may be open."""

    since: date | None = None
    until: date | None = None

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.since, time(), UTC) if self.since else None

    @property
    def end(self) -> datetime | None:
        """The instant after the last included day, as the services take it."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC) if self.until else None

    @property
    def query(self) -> dict[str, str]:
        values = {"since": self.since, "until": self.until}
        return {key: value.isoformat() for key, value in values.items() if value}

    @property
    def label(self) -> str:
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"since {self.since.isoformat()}"
        if self.until:
            return f"until {self.until.isoformat()}"
        return "all time"


def parse_period(since: str | None, until: str | None) -> Period:
    """Read the period chooser's dates; raise BadInput naming the one that is wrong."""
    period = Period(_parse_date(since, "since"), _parse_date(until, "until"))
    if period.since and period.until and period.since > period.until:
        raise BadInput("The first day of the period must not be after its last day.")
    return period


def _parse_date(raw: str | None, name: str) -> date | None:
    if not raw or not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise BadInput(f"{name} {raw!r} is not a date written as YYYY-MM-DD.", field=name) from exc
    if day.year > LAST_YEAR:
        raise BadInput(
            f"That date is out of range: {name} {raw!r} is after {LAST_YEAR}.", field=name
        )
    return day


def presets(today: date) -> dict[str, Period]:
    return {"All time": Period(), "Last 30 days": Period(since=today - timedelta(days=30))}


async def figures(session: AsyncSession, period: Period) -> Summary:
    return await summary(session, period.start, period.end)


@dataclass
class LeadsPage:
    """One page of the leads list, newest first, with the names it shows."""

    leads: list[Any]
    next_cursor: str | None
    status: str | None
    cursor: str | None
    owners: dict[str, str]

    def url(self, period: Period, cursor: str | None, base: str = "/console/leads") -> str:
        """This list at another cursor: the fragment by default, or a full page at ``base``."""
        params = {**period.query, "status": self.status or "", "cursor": cursor or ""}
        query = urlencode({key: value for key, value in params.items() if value})
        return f"{base}?{query}" if query else base


async def leads_page(
    session: AsyncSession, period: Period, status: str | None, cursor: str | None
) -> LeadsPage:
    if status and status not in LEAD_STATUSES:
        raise BadInput(f"Status {status!r} is not one of {', '.join(LEAD_STATUSES)}.")
    if cursor:
        _check_cursor(cursor)
    leads, next_cursor = await pursuit.list_leads(
        session,
        status=status or None,
        since=period.start,
        until=period.end,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return LeadsPage(leads, next_cursor, status or None, cursor or None, await agent_names(session))


def _check_cursor(cursor: str) -> None:
    """Refuse a cursor the leads query could not compare, before it reaches the database."""
    try:
        at, _ = pursuit.decode_cursor(cursor)
        at.astimezone(UTC)
    except (BadInput, ValueError, OverflowError) as exc:
        raise BadInput(STALE_CURSOR, field="cursor") from exc
    if at.tzinfo is None:
        raise BadInput(STALE_CURSOR, field="cursor")


@dataclass
class LeadJourney:
    """Everything recorded about one lead, with agent and rule names to show."""

    lead: Any
    inquiries: list[Any]
    decisions: list[Any]
    offers: list[Any]
    activities: list[Any]
    events: list[Any]
    agents: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)


async def lead_journey(session: AsyncSession, lead_id: str) -> LeadJourney:
    lead = await pursuit.get_lead(session, lead_id)
    steps = await pursuit.journey(session, lead.id)
    rules = {rule.id: rule.name for rule in await list_rules(session)}
    return LeadJourney(
        lead=lead,
        inquiries=await inquiries_for_lead(session, lead.id),
        decisions=steps["decisions"],
        offers=steps["offers"],
        activities=steps["activities"],
        events=steps["events"],
        agents=await agent_names(session),
        rules=rules,
    )
