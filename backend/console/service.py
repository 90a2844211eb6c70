"""What the manager console shows: figures, leads, a lead's journey, rules, replays, scores.

Each function gathers what one screen needs from the owning domains' services. Nothing
here writes but two things: looking at scores keeps the day's snapshot for the trend, and
restoring an agent is the manager's action. A replay rolls back what it read. Dates
chosen in the console are whole UTC days, ``until`` included.
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
from backend.reports.service import Money, Summary, summary
from backend.roster import service as roster
from backend.roster.service import agent_names
from backend.routing.health import RuleHealth, rule_health
from backend.routing.replay import ReplayReport, parse_proposal, proposal_json, replay
from backend.routing.service import list_rules
from backend.scoring import service as scoring
from backend.scoring.service import Reachability, Standing, TrendPoint

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


async def figures(
    session: AsyncSession, period: Period, currency: str | None, rates: dict[str, float]
) -> Summary:
    return await summary(session, period.start, period.end, money=Money(currency, rates))


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


@dataclass
class RulesOverview:
    """Rules in the order they are tried, each with its health flags, and agent names."""

    rules: list[RuleHealth]
    agents: dict[str, str]

    @property
    def flagged(self) -> int:
        return sum(1 for health in self.rules if health.flags)


async def rules_overview(session: AsyncSession, now: datetime) -> RulesOverview:
    return RulesOverview(await rule_health(session, now), await agent_names(session))


async def flagged_rules(session: AsyncSession, now: datetime) -> int:
    return sum(1 for health in await rule_health(session, now) if health.flags)


def conditions_text(conditions: dict[str, Any]) -> str:
    """A rule's conditions as a reader says them: ``country BR or PT; value from 1000``."""
    parts = []
    for key, accepted in conditions.items():
        if key == "value_min" and accepted is not None:
            parts.append(f"value from {accepted:g}")
        elif key == "value_max" and accepted is not None:
            parts.append(f"value under {accepted:g}")
        elif isinstance(accepted, list) and accepted:
            parts.append(f"{key} {' or '.join(accepted)}")
    return "; ".join(parts) or "any lead"


@dataclass
class ReplayForm:
    """What the replay form holds: a period of whole days and the proposal's JSON."""

    since: str = ""
    until: str = ""
    rules: str = ""


async def replay_defaults(session: AsyncSession, today: date) -> ReplayForm:
    """The last 30 days through today's active rules."""
    since = today - timedelta(days=30)
    rules = proposal_json(await list_rules(session))
    return ReplayForm(since.isoformat(), today.isoformat(), rules)


async def run_replay(session: AsyncSession, form: ReplayForm) -> ReplayReport:
    """Replay the form's period through its proposal; raise BadInput naming what is wrong."""
    period = parse_period(form.since, form.until)
    if period.start is None or period.end is None:
        raise BadInput("Choose the first and the last day to replay.")
    if not form.rules.strip():
        raise BadInput("Paste the proposed rules, or choose a file of them.")
    return await replay(session, parse_proposal(form.rules), period.start, period.end)


@dataclass(frozen=True)
class Bar:
    """One agent's pair of bars: leads the replay offers them beside leads really offered."""

    name: str
    proposed: int
    actual: int
    proposed_share: float
    actual_share: float


def offered_bars(report: ReplayReport) -> list[Bar]:
    """Leads offered per agent, proposed and actual, each bar a share of the longest."""
    longest = max([1, *(max(a.proposed_offered, a.actual_offered) for a in report.agents)])
    return [
        Bar(
            a.name,
            a.proposed_offered,
            a.actual_offered,
            a.proposed_offered / longest,
            a.actual_offered / longest,
        )
        for a in report.agents
    ]


@dataclass(frozen=True)
class Board:
    """One leaderboard: a team's or partner company's active agents, best score first."""

    kind: str
    key: str
    name: str
    standings: list[Standing]


@dataclass
class ScoresOverview:
    boards: list[Board]
    unreachable: list[Standing]
    trends: dict[str, list[TrendPoint]]


async def scores_overview(session: AsyncSession, now: datetime) -> ScoresOverview:
    """A board per team and per partner company (agents in neither get their own)."""
    everyone = await scoring.leaderboard(session, now)
    # The sweeper keeps one a day too; this one makes today's point the score just shown.
    await scoring.keep_snapshots(session, {s.agent_id: s.score for s in everyone}, now)
    agents = {a.id: a for a in await roster.list_agents(session)}
    trends = await scoring.trends(session, [s.agent_id for s in everyone], now)
    for standing in everyone:
        trends[standing.agent_id].append(TrendPoint(now.date(), standing.score.score))

    boards = [
        Board(kind, key, name, [s for s in everyone if getattr(agents[s.agent_id], field) == key])
        for kind, field, names in (
            ("team", "team_id", await roster.team_names(session)),
            ("partner", "partner_id", await roster.partner_names(session)),
        )
        for key, name in names.items()
    ]
    loose = [
        s for s in everyone if not (agents[s.agent_id].team_id or agents[s.agent_id].partner_id)
    ]
    boards.append(Board("none", "", "No team or partner", loose))
    unreachable = sorted((s for s in everyone if not s.reach.reachable), key=_unreachable_order)
    return ScoresOverview([b for b in boards if b.standings], unreachable, trends)


def _unreachable_order(standing: Standing) -> tuple[datetime, str]:
    return standing.reach.unreachable_since or datetime.min.replace(tzinfo=UTC), standing.name


@dataclass
class AgentScoreView:
    """One agent's score explained: every part, their trend, and what would raise it."""

    agent: Any
    own: scoring.OwnScore
    reach: Reachability
    trend: list[TrendPoint]
    team: str | None
    partner: str | None

    @property
    def parts(self) -> list[dict[str, Any]]:
        return self.own.score.explain()


async def agent_score(session: AsyncSession, agent_id: str, now: datetime) -> AgentScoreView:
    agent = await roster.get_agent(session, agent_id)
    own = await scoring.own_score(session, agent.id, now)
    await scoring.keep_snapshots(session, {agent.id: own.score}, now)
    trend = (await scoring.trends(session, [agent.id], now))[agent.id]
    reach = (await scoring.reachability(session, [agent.id]))[agent.id]
    teams, partners = await roster.team_names(session), await roster.partner_names(session)
    return AgentScoreView(
        agent=agent,
        own=own,
        reach=reach,
        trend=[*trend, TrendPoint(now.date(), own.score.score)],
        team=teams.get(agent.team_id or ""),
        partner=partners.get(agent.partner_id or ""),
    )


async def restore(session: AsyncSession, agent_id: str, now: datetime, by: str) -> str:
    """Make the agent reachable again; answers the agent's name for the confirmation."""
    agent = await roster.get_agent(session, agent_id)
    name = agent.name
    await scoring.restore_agent(session, agent_id, now, by)
    return name


def sparkline(points: list[TrendPoint], width: int = 96, height: int = 28) -> dict[str, Any]:
    """SVG coordinates for a trend of scores 0 to 100; weeks with no score are skipped."""
    step = width / max(len(points) - 1, 1)
    dots = [
        (round(i * step, 1), round(height - 2 - p.score / 100 * (height - 4), 1))
        for i, p in enumerate(points)
        if p.score is not None
    ]
    line = " ".join(f"{x},{y}" for x, y in dots)
    return {"width": width, "height": height, "line": line, "dots": dots}
