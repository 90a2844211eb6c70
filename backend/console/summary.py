"""The weekly summary mailed to each manager and partner coordinator, previewable in the console.

For the last complete week (Monday to Monday, UTC) of the recipient's scope: leads, pursuit
rate, lost revenue per lead and its change from the week before, the five costliest leads
lost without contact, and the agents and rules that need a look, each with a console link.
The server sends it once a week at ``PURSUIT_WEEKLY_SUMMARY`` (``mon 08:00`` UTC by default);
each recipient gets one per week, recorded so that a restart sends none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import aiosmtplib
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.access import service as access
from backend.access.models import SummaryMail
from backend.console.controllers import render, require_user
from backend.console.guard import scope_of
from backend.console.rules import visible_rules
from backend.console.scope import Scope
from backend.notify.service import parse_smtp_url, send_mail
from backend.reports.scoped import LostLead, costliest_lost, expired_offers
from backend.reports.service import Money, Summary, summary
from backend.roster import service as roster
from backend.routing.eligibility import WEEKDAYS
from backend.routing.health import rule_health
from backend.settings import Settings

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
TOP = 5
CHECK_EVERY_S = 60.0


def week_of(now: datetime) -> tuple[datetime, datetime]:
    """The last complete week before ``now``: from a Monday 00:00 UTC to the next."""
    today = now.astimezone(UTC).date()
    this_monday = datetime.combine(today - timedelta(days=today.weekday()), time(), UTC)
    return this_monday - WEEK, this_monday


@dataclass(frozen=True)
class Attention:
    name: str
    why: str
    url: str


@dataclass
class WeeklySummary:
    title: str
    scope_label: str
    since: datetime
    until: datetime
    figures: Summary
    before: Summary
    lost: list[LostLead]
    lead_urls: dict[str, str]
    agents: list[Attention] = field(default_factory=list)
    rules: list[Attention] = field(default_factory=list)

    @property
    def lrl_change(self) -> float:
        return round(self.figures.lrl - self.before.lrl, 2)

    def text(self) -> str:
        f, b, unit = self.figures, self.before, f" {self.figures.currency or ''}".rstrip()
        change = self.lrl_change
        trend = (
            "no change" if change == 0 else f"{'up' if change > 0 else 'down'} {abs(change):,.2f}"
        )
        lines = [
            self.title,
            f"Scope: {self.scope_label}",
            "",
            f"Leads: {f.leads} (week before: {b.leads})",
            f"Pursued: {f.pursued}, pursuit rate {f.pursuit_rate:.1%} "
            f"(week before: {b.pursuit_rate:.1%})",
            f"Lost revenue: {f.lost_revenue:,.2f}{unit} on {f.lost_leads} lost leads",
            f"LRL: {f.lrl:,.2f}{unit} per lead (week before: {b.lrl:,.2f}; {trend})",
            "",
            "Costliest leads lost without contact:",
        ]
        for n, lead in enumerate(self.lost, start=1):
            what = ", ".join(p for p in (lead.product, lead.country) if p) or "no product"
            money = f"{lead.value:,.2f} {lead.currency or ''}".rstrip()
            received = f"{lead.received_at:%Y-%m-%d}"
            lines.append(f"{n}. {money}, {what}, received {received}: {self.lead_urls[lead.id]}")
        if not self.lost:
            lines.append("None: every lead of the week was pursued or is still in time.")
        lines += ["", "Agents to look at:"]
        lines += [f"- {a.name}: {a.why}: {a.url}" for a in self.agents] or ["- none"]
        lines += ["", "Rules to look at:"]
        lines += [f"- {r.name}: {r.why}: {r.url}" for r in self.rules] or ["- none"]
        return "\n".join(lines) + "\n"


async def compose(
    session: AsyncSession,
    scope: Scope,
    scope_label: str,
    now: datetime,
    settings: Settings,
    console_links: bool = True,
) -> WeeklySummary:
    since, until = week_of(now)
    agents = [
        a for a in await roster.list_agents(session) if scope.sees_agent(a.team_id, a.partner_id)
    ]
    agent_ids = None if scope.unlimited else [a.id for a in agents]
    money = Money(settings.currency, settings.exchange_rates)
    base = settings.base_url

    figures = await summary(session, since, until, now=now, money=money, agent_ids=agent_ids)
    before = await summary(session, since - WEEK, since, now=now, money=money, agent_ids=agent_ids)
    lost = await costliest_lost(session, agent_ids, since, until, now, TOP)
    expired = await expired_offers(session, agent_ids, since, until)
    names = {a.id: a.name for a in agents}

    def link(path: str) -> str:
        return f"{base}{path}" if console_links else "open your partner link"

    needing = sorted(expired.items(), key=lambda item: (-item[1], names.get(item[0], "")))[:TOP]
    return WeeklySummary(
        title=f"Pursuit weekly summary, {since:%Y-%m-%d} to {until - timedelta(days=1):%Y-%m-%d}",
        scope_label=scope_label,
        since=since,
        until=until,
        figures=figures,
        before=before,
        lost=lost,
        lead_urls={lead.id: link(f"/console/leads/{lead.id}") for lead in lost},
        agents=[
            Attention(
                names.get(agent_id, agent_id),
                f"{count} offer{'s' if count != 1 else ''} expired",
                link(f"/console/agents/{agent_id}"),
            )
            for agent_id, count in needing
        ],
        rules=await _rules_to_look_at(session, scope, now, link),
    )


async def _rules_to_look_at(
    session: AsyncSession, scope: Scope, now: datetime, link: Callable[[str], str]
) -> list[Attention]:
    visible = {r.id for r in await visible_rules(session, scope)}
    return [
        Attention(h.rule.name, "; ".join(h.flags), link(f"/console/rules/{h.rule.id}/edit"))
        for h in await rule_health(session, now)
        if h.flags and h.rule.id in visible
    ][:TOP]


async def scope_label(session: AsyncSession, scope: Scope) -> str:
    if scope.unlimited:
        return "every team and partner"
    teams, partners = await roster.team_names(session), await roster.partner_names(session)
    parts = [teams[t] for t in sorted(scope.team_ids or ()) if t in teams]
    parts += [partners[p] for p in sorted(scope.partner_ids or ()) if p in partners]
    return ", ".join(parts)


@dataclass(frozen=True)
class Outcome:
    recipient: str
    email: str
    subject: str
    text: str
    status: str  # "sent", "already sent", "not sent: …", "dry run"


async def recipients(session: AsyncSession) -> list[tuple[str, str, Scope, bool]]:
    """Each recipient's key, email, scope and whether console links suit them."""
    found: list[tuple[str, str, Scope, bool]] = []
    for user, scope in await access.managers_in(session):
        found.append((f"user:{user.id}", user.email, scope, True))
    for link in await access.live_partner_links(session):
        if link.email:
            only = Scope(team_ids=frozenset(), partner_ids=frozenset({link.partner_id}))
            found.append((f"partner_link:{link.id}", link.email, only, False))
    return found


async def send_all(
    session: AsyncSession, settings: Settings, now: datetime, dry_run: bool = False
) -> list[Outcome]:
    """Compose and mail the week's summary to every recipient who has not had it yet."""
    since, _ = week_of(now)
    week = since.date().isoformat()
    outcomes = []
    for key, email, scope, console_links in await recipients(session):
        if not dry_run and await session.get(SummaryMail, (key, week)) is not None:
            outcomes.append(Outcome(key, email, "", "", "already sent"))
            continue  # composing is the costly part: skip it for those who have theirs
        label = await scope_label(session, scope)
        weekly = await compose(session, scope, label, now, settings, console_links)
        subject = weekly.title
        if dry_run:
            outcomes.append(Outcome(key, email, subject, weekly.text(), "dry run"))
            continue
        status = await _send_once(session, settings, key, email, week, subject, weekly.text())
        outcomes.append(Outcome(key, email, subject, weekly.text(), status))
    return outcomes


async def _send_once(
    session: AsyncSession,
    settings: Settings,
    key: str,
    email: str,
    week: str,
    subject: str,
    text: str,
) -> str:
    if await session.get(SummaryMail, (key, week)) is not None:
        return "already sent"
    if settings.smtp_url is None:
        logger.warning("weekly summary not sent recipient=%s reason=no_smtp", key)
        return "not sent: PURSUIT_SMTP_URL is not set"
    session.add(SummaryMail(recipient=key, week=week))
    try:
        await session.flush()  # claims the week first, so two servers do not both send
    except IntegrityError:
        await session.rollback()
        return "already sent"
    try:
        await send_mail(parse_smtp_url(settings.smtp_url), settings.mail_from, email, subject, text)
    except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
        await session.rollback()
        logger.warning("weekly summary not sent recipient=%s error=%s", key, type(exc).__name__)
        return f"not sent: {type(exc).__name__}"
    await session.commit()
    logger.info("weekly summary sent recipient=%s week=%s", key, week)
    return "sent"


def parse_schedule(text: str) -> tuple[int, time] | None:
    """``mon 08:00`` as (weekday, time); ``off`` as None."""
    if text.strip().lower() == "off":
        return None
    day, _, clock = text.strip().lower().partition(" ")
    try:
        return WEEKDAYS.index(day[:3]), time.fromisoformat(clock.strip())
    except ValueError as exc:
        raise ValueError(
            f"PURSUIT_WEEKLY_SUMMARY is {text!r}; write a day and a UTC time "
            "such as 'mon 08:00', or 'off'."
        ) from exc


def due(schedule: tuple[int, time], now: datetime) -> bool:
    """Whether this week's sending time has come (it stays due until the week ends)."""
    now = now.astimezone(UTC)
    monday = now.date() - timedelta(days=now.weekday())
    at = datetime.combine(monday + timedelta(days=schedule[0]), schedule[1], UTC)
    return now >= at


class WeeklySender:
    """Checks once a minute whether the week's summaries are due, and sends those not sent."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._settings = settings
        self._sessions = sessions
        self._schedule = parse_schedule(settings.weekly_summary)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._schedule is not None and self._settings.smtp_url:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        assert self._schedule is not None
        while True:
            now = datetime.now(UTC)
            if due(self._schedule, now):
                try:
                    async with self._sessions() as session:
                        await send_all(session, self._settings, now)
                except Exception:
                    logger.exception("weekly summaries failed")
            await asyncio.sleep(CHECK_EVERY_S)


class SummaryController(Controller):
    path = "/console/summary"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/")
    async def preview(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        scope = scope_of(request)
        settings = request.app.state.settings
        label = await scope_label(db_session, scope)
        weekly = await compose(db_session, scope, label, datetime.now(UTC), settings)
        return render("summary.html", user=request.session, weekly=weekly)


ROUTES: list[Any] = [SummaryController]
