"""The console's leads list: filters, word search, keyset pages and the CSV export.

Pages are ordered newest first on (received_at, id), which the leads indexes hold, so a
page costs the same at the millionth lead as at the first. A search reads a rare word's
leads through the search-term index, and checks a common word lead by lead down the list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.console.models import LeadSearchTerm, fold, words
from backend.console.scope import EVERYTHING, Scope
from backend.errors import BadInput
from backend.pursuit.models import Lead, Offer
from backend.pursuit.service import decode_cursor, encode_cursor
from backend.reports.service import LeadFilter, lead_conditions

STATUSES = (
    "routing",
    "offered",
    "accepted",
    "contacted",
    "won",
    "lost",
    "unassigned",
    "spam",
    "merged",
)
SEARCH_WORDS = 6
RARE = 2000  # a word with fewer stored matches than this is read through its own index
EXPORT_BATCH = 1000
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = (
    "id",
    "received_at",
    "status",
    "owner",
    "company",
    "first_name",
    "last_name",
    "email",
    "phone",
    "source",
    "campaign",
    "product",
    "country",
    "region",
    "value",
    "currency",
)


@dataclass(frozen=True)
class LeadQuery:
    """The list's filters as chosen: the dashboard's lead filter and the list's own."""

    chosen: LeadFilter = field(default_factory=LeadFilter)
    status: str | None = None
    owner: str | None = None
    at_risk: bool = False
    search: str = ""

    @property
    def query(self) -> dict[str, str]:
        values = dict(self.chosen.query)
        values.update({k: v for k in ("status", "owner") if (v := getattr(self, k))})
        if self.at_risk:
            values["at_risk"] = "1"
        if self.search.strip():
            values["q"] = self.search.strip()
        return values

    def check(self) -> None:
        if self.status and self.status not in STATUSES:
            raise BadInput(
                f"Status {self.status!r} is not one of {', '.join(STATUSES)}.", field="status"
            )
        if len(self.search) > 200:
            raise BadInput("A search is at most 200 characters.", field="q")
        if self.search.strip() and not search_words(self.search):
            raise BadInput(
                "Search for a word of a name or company, or part of an email or phone: "
                f"{self.search.strip()!r} holds none.",
                field="q",
            )


def search_words(text: str) -> list[str]:
    """What the manager typed as words; a phone number typed with spaces is one word."""
    if text.strip() and all(c.isdigit() or c in " +-()./" for c in text.strip()):
        digits = "".join(c for c in text if c.isdigit())
        return [digits] if digits else []
    return list(dict.fromkeys(words(fold(text))))[:SEARCH_WORDS]


def _prefix(session: AsyncSession, word: str) -> ColumnElement[bool]:
    """A stored word starting with ``word``, as the database's index can read it."""
    if session.get_bind().dialect.name == "sqlite":
        return LeadSearchTerm.term.op("GLOB")(word + "*")  # BINARY index; words hold no * ? [
    return LeadSearchTerm.term.like(word + "%")  # words hold no % or _


async def _half_past_deadline(session: AsyncSession, now: datetime) -> list[str]:
    """Leads whose pending offer has used up more than half its time to answer."""
    found = await session.execute(
        select(Offer.lead_id, Offer.offered_at, Offer.expires_at).where(Offer.status == "pending")
    )
    return sorted(
        {
            lead_id
            for lead_id, offered_at, expires_at in found.tuples().all()
            if now - offered_at > (expires_at - offered_at) / 2 and expires_at > now
        }
    )


async def conditions(
    session: AsyncSession,
    chosen: LeadQuery,
    since: datetime | None,
    until: datetime | None,
    scope: Scope,
    now: datetime,
) -> list[ColumnElement[bool]]:
    chosen.check()
    spam = chosen.status == "spam"
    where = await lead_conditions(session, since, until, chosen.chosen, scope, spam=spam)
    if chosen.status:
        where.append(Lead.status == chosen.status)
    if chosen.owner:
        where.append(Lead.owner_id == chosen.owner)
    if chosen.at_risk:
        late = await _half_past_deadline(session, now)
        where.append(or_(Lead.status == "accepted", Lead.id.in_(late)))
    for word in search_words(chosen.search):
        where.append(await _matching(session, word))
    return where


async def _matching(session: AsyncSession, word: str) -> ColumnElement[bool]:
    """Leads with a word starting with ``word``, in the form that is fast for how many do.

    A rare word lists its leads through the term index and the page sorts those few. A
    common one is checked lead by lead while the list is read newest first, which stops
    once a page is full; counting stops at ``RARE`` entries, so choosing costs little.
    """
    sample = select(LeadSearchTerm.lead_id).where(_prefix(session, word)).limit(RARE)
    seen = await session.scalar(select(func.count()).select_from(sample.subquery()))
    if (seen or 0) < RARE:
        return Lead.id.in_(select(LeadSearchTerm.lead_id).where(_prefix(session, word)))
    return exists(
        select(LeadSearchTerm.lead_id).where(
            LeadSearchTerm.lead_id == Lead.id, _prefix(session, word)
        )
    )


def _page_query(where: list[ColumnElement[bool]], cursor: str | None, limit: int) -> Select[Any]:
    query = select(Lead).where(*where)
    if cursor:
        at, lead_id = decode_cursor(cursor)
        # The first condition alone is a range the index can seek to; the second breaks ties.
        query = query.where(Lead.received_at <= at, (Lead.received_at < at) | (Lead.id < lead_id))
    return query.order_by(Lead.received_at.desc(), Lead.id.desc()).limit(limit + 1)


async def page(
    session: AsyncSession,
    chosen: LeadQuery,
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    scope: Scope = EVERYTHING,
    cursor: str | None = None,
    limit: int = 25,
) -> tuple[list[Lead], str | None]:
    """One page of the filtered leads, newest first, and the cursor of the next one."""
    where = await conditions(session, chosen, since, until, scope, now)
    rows = list((await session.scalars(_page_query(where, cursor, limit))).all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: formulas and control starts get an apostrophe."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return f"'{text}" if text.startswith(SPREADSHEET_TRIGGERS) else text


def csv_line(cells: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(c) for c in cells])
    return buffer.getvalue().encode()


def export_row(lead: Lead, owners: dict[str, str]) -> list[Any]:
    values = {key: getattr(lead, key, None) for key in EXPORT_COLUMNS}
    values["owner"] = owners.get(lead.owner_id or "", "")
    return [values[key] for key in EXPORT_COLUMNS]


async def export(
    sessions: async_sessionmaker[AsyncSession],
    chosen: LeadQuery,
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    scope: Scope,
    owners: dict[str, str],
) -> AsyncIterator[bytes]:
    """The filtered list as CSV, read in keyset batches each in its own short session."""
    yield csv_line(EXPORT_COLUMNS)
    cursor = None
    while True:
        async with sessions() as session:
            rows, cursor = await page(
                session,
                chosen,
                since=since,
                until=until,
                now=now,
                scope=scope,
                cursor=cursor,
                limit=EXPORT_BATCH,
            )
        yield b"".join(csv_line(export_row(lead, owners)) for lead in rows)
        if cursor is None:
            return


async def in_scope(session: AsyncSession, lead_id: str, scope: Scope) -> bool:
    """Whether the lead exists and the scope reaches it (spam included)."""
    where = await lead_conditions(session, None, None, None, scope, spam=True)
    found = await session.scalar(select(Lead.id).where(Lead.id == lead_id, *where))
    return found is not None


async def count(session: AsyncSession, chosen: LeadQuery, scope: Scope, now: datetime) -> int:
    """How many leads of all time the filters pick."""
    where = await conditions(session, chosen, None, None, scope, now)
    return int(await session.scalar(select(func.count()).select_from(Lead).where(*where)) or 0)
