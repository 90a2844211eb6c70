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

from backend.console import charts, formatting
from backend.console import leads as lead_list
from backend.console.charts import Bar as ChartBar
from backend.console.charts import Chart
from backend.console.leads import LeadQuery
from backend.console.scope import EVERYTHING, Scope
from backend.errors import BadInput, NotFound
from backend.identity.corrections import merge_leads, split_inquiry
from backend.intake.service import inquiries_for_lead
from backend.pursuit import service as pursuit
from backend.reports.breakdown import Breakdown, Slice, cut, decline_reasons
from backend.reports.scoping import visible_rules
from backend.reports.service import (
    LeadFilter,
    Money,
    Summary,
    period_rows,
    summarize,
    summary,
)
from backend.roster import service as roster
from backend.roster.service import agent_names
from backend.routing.health import RuleHealth, rule_health
from backend.routing.replay import ReplayReport, parse_proposal, proposal_json, replay
from backend.routing.service import list_rules
from backend.routing.strategies import shown_records
from backend.scoring import service as scoring
from backend.scoring.service import Reachability, Standing, TrendPoint

LEAD_STATUSES = lead_list.STATUSES
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


@dataclass(frozen=True)
class View:
    """What the dashboard shows: a period, the lead filter, and the list's own filters."""

    period: Period = field(default_factory=Period)
    leads: LeadQuery = field(default_factory=LeadQuery)
    cursor: str | None = None

    @property
    def chosen(self) -> LeadFilter:
        return self.leads.chosen

    def params(self, *, cursor: str | None = None, lists: bool = True) -> dict[str, str]:
        """The view as query parameters; without ``lists``, only what figures depend on."""
        values = {**self.period.query, **(self.leads.query if lists else self.chosen.query)}
        if cursor:
            values["cursor"] = cursor
        return values

    def url(
        self,
        base: str,
        *,
        cursor: str | None = None,
        lists: bool = True,
        extra: dict[str, str] | None = None,
    ) -> str:
        query = urlencode({**self.params(cursor=cursor, lists=lists), **(extra or {})})
        return f"{base}?{query}" if query else base


def figures_filter(values: dict[str, str | None]) -> LeadFilter:
    """The lead filter from the dashboard's form; blank fields do not narrow."""
    return LeadFilter(
        **{key: (values.get(key) or "").strip()[:200] or None for key in LeadFilter.FIELDS}
    )


async def dashboard_rows(session: AsyncSession, view: View, scope: Scope) -> list[Any]:
    return await period_rows(session, view.period.start, view.period.end, view.chosen, scope)


async def figures(
    session: AsyncSession,
    period: Period,
    currency: str | None,
    rates: dict[str, float],
    chosen: LeadFilter | None = None,
    scope: Scope = EVERYTHING,
) -> Summary:
    return await summary(
        session, period.start, period.end, money=Money(currency, rates), chosen=chosen, scope=scope
    )


@dataclass
class LeadsPage:
    """One page of the leads list, newest first, with the names it shows."""

    leads: list[Any]
    next_cursor: str | None
    view: View
    owners: dict[str, str]

    @property
    def status(self) -> str | None:
        return self.view.leads.status

    @property
    def cursor(self) -> str | None:
        return self.view.cursor

    def url(self, cursor: str | None, base: str = "/console/leads") -> str:
        """This list at another cursor: the fragment by default, or a full page at ``base``."""
        return self.view.url(base, cursor=cursor)


async def leads_page(session: AsyncSession, view: View, scope: Scope, now: datetime) -> LeadsPage:
    if view.cursor:
        _check_cursor(view.cursor)
    leads, next_cursor = await lead_list.page(
        session,
        view.leads,
        since=view.period.start,
        until=view.period.end,
        now=now,
        scope=scope,
        cursor=view.cursor,
        limit=PAGE_SIZE,
    )
    return LeadsPage(leads, next_cursor, view, await agent_names(session))


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


async def lead_journey(
    session: AsyncSession, lead_id: str, scope: Scope = EVERYTHING
) -> LeadJourney:
    """The lead's whole record; a lead outside the scope does not exist for this viewer."""
    if not await lead_list.in_scope(session, lead_id, scope):
        raise NotFound(f"Lead {lead_id} does not exist.")
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


@dataclass(frozen=True)
class Step:
    """One line of a lead's timeline: when, what kind, a sentence, and the details."""

    at: datetime
    kind: str
    text: str
    details: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


EVENT_WORDS = {
    "received": "Received",
    "offered": "Offered to {agent}",
    "accepted": "Accepted by {actor}",
    "declined": "Declined by {actor}",
    "expired": "Offer to {agent} expired unanswered",
    "withdrawn": "Offer to {agent} withdrawn",
    "notified": "Notification by {channel}: {status}",
    "contacted": "First contact by {actor}",
    "activity": "{actor} logged activity",
    "won": "Won by {actor}",
    "lost": "Lost, said {actor}",
    "spam": "Closed as spam by {actor}",
    "sent_back": "Sent back to routing by {actor}",
    "unassigned": "Nobody could take it: waiting for a manager",
    "alert": "Managers alerted",
    "inquiry_coalesced": "Another inquiry joined this lead",
    "contact_overdue": "Contact overdue: {agent} reminded",
    "outcome_overdue": "No outcome reported by {agent}",
}


# Steps recorded at one instant: what caused a routing decision comes before it, offers after.
TIE_ORDER = {"inquiry": 0, "received": 1, "declined": 2, "expired": 2, "withdrawn": 2}
TIE_ORDER |= {"sent_back": 2, "decision": 3}


def timeline(journey: LeadJourney) -> list[Step]:
    """Inquiries, routing decisions and journey events in the order they happened."""
    names = journey.agents
    notes = {a.id: a.note or "" for a in journey.activities}
    offered_to = {o.id: o.agent_id for o in journey.offers}
    steps = [
        Step(
            i.received_at,
            "inquiry",
            f"Inquiry through {i.inlet}",
            [("source", i.source), ("external id", i.external_id or "—"), ("status", i.status)],
        )
        for i in journey.inquiries
    ]
    steps += [_decision_step(d, journey) for d in journey.decisions]
    for event in journey.events:
        data = event.data or {}
        agent_id = data.get("agent_id") or offered_to.get(str(data.get("offer_id")))
        agent = names.get(str(agent_id), "an agent")
        words = EVENT_WORDS.get(event.type, event.type.replace("_", " ").capitalize())
        said = {k: str(data.get(k, "—")) for k in ("channel", "status")}
        text = words.format(agent=agent, actor=formatting.actor(event.actor, names), **said)
        shown = [(k, v) for k, v in formatting.data_pairs(data, names) if not k.endswith("_id")]
        steps.append(
            Step(event.at, event.type, text, shown, notes.get(str(data.get("activity_id")), ""))
        )
    return sorted(steps, key=lambda step: (step.at, TIE_ORDER.get(step.kind, 4)))


def _decision_step(decision: Any, journey: LeadJourney) -> Step:
    """A routing decision and why its rep was chosen: the chosen candidate's rank and score."""
    names = journey.agents
    rule = journey.rules.get(decision.rule_id or "", "no rule")
    chosen = names.get(decision.agent_id or "", "nobody")
    details = [
        ("rule", rule),
        ("trigger", decision.trigger),
        ("strategy", decision.strategy or "—"),
    ]
    candidates = shown_records(decision.candidates)
    for candidate in candidates:
        if candidate["agent_id"] == decision.agent_id:
            details.append(("why this rep", _why(candidate)))
    passed = sum(1 for c in candidates if not c["eligible"])
    if passed:
        details.append(("filtered out", str(passed)))
    said = formatting.without_user_ids(decision.explanation)
    return Step(decision.at, "decision", f"Routed to {chosen}: {said}", details)


def _why(candidate: dict[str, Any]) -> str:
    parts = []
    if candidate.get("rank"):
        parts.append(f"rank {candidate['rank']}")
    if candidate.get("score") is not None:
        parts.append(f"score {candidate['score']}")
    if candidate.get("load") is not None:
        parts.append(f"{candidate['load']} open leads")
    if candidate.get("tier") is not None:
        parts.append(f"tier {candidate['tier']}")
    return ", ".join(parts) or "the only eligible agent"


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


def _money_text(value: float, unit: str) -> str:
    return f"{formatting.headline_amount(value)} {unit}".strip()


def dashboard_charts(found: Breakdown, standings: list[Standing]) -> list[Chart]:
    """The dashboard's charts, in the order they are shown."""
    unit = found.currency or ""
    return [
        _over_time(found, unit),
        _funnel(found),
        _counted(
            "declines", "Decline reasons", "Declined offers", found.declines, "declined offers"
        ),
        _accept_times(found),
        _lrl("lrl-source", "LRL by source", "Source", found.by_source, unit),
        _lrl("lrl-partner", "LRL by partner", "Partner", found.by_partner, unit),
        _scores(standings),
    ]


def _over_time(found: Breakdown, unit: str) -> Chart:
    slices = found.over_time
    title = f"Leads and lost revenue by {found.unit}"
    total = sum(s.leads for s in slices)
    summary_text = f"{total} leads in {len(slices)} {found.unit}s; the line is lost revenue."
    items = [ChartBar(s.label, s.leads, f"{s.leads} leads") for s in slices]
    svg = charts.columns(
        "over-time",
        title,
        summary_text,
        items,
        [s.lost_revenue for s in slices],
        f"lost revenue ({unit or 'amount'})",
    )
    rows = [
        [s.label, str(s.leads), _money_text(s.lost_revenue, unit), _money_text(s.lrl, unit)]
        for s in slices
        if s.leads
    ]
    header = [found.unit.capitalize(), "Leads", "Lost revenue", "LRL"]
    return Chart("over-time", title, summary_text, header, rows, svg)


def _funnel(found: Breakdown) -> Chart:
    received = found.funnel[0][1] if found.funnel else 0
    items = [
        ChartBar(stage, n, f"{n} ({formatting.percent(n / received) if received else '0.0%'})")
        for stage, n in found.funnel
    ]
    summary_text = ", ".join(f"{stage} {n}" for stage, n in found.funnel) + "."
    svg = charts.bars("funnel", "Pursuit funnel", summary_text, items)
    rows = [[b.label, str(int(b.value)), b.text.partition(" ")[2].strip("()")] for b in items]
    header = ["Stage", "Leads", "Share of received"]
    return Chart("funnel", "Pursuit funnel", summary_text, header, rows, svg)


def _counted(key: str, title: str, column: str, pairs: list[tuple[str, int]], what: str) -> Chart:
    items = [ChartBar(label.replace("_", " "), n, str(n)) for label, n in pairs]
    summary_text = f"{sum(n for _, n in pairs)} {what}" + (
        ", most often " + items[0].label + "." if items else "."
    )
    rows = [[b.label, b.text] for b in items]
    svg = charts.bars(key, title, summary_text, items)
    return Chart(key, title, summary_text, ["Reason", column], rows, svg)


def _accept_times(found: Breakdown) -> Chart:
    items = [ChartBar(label, n, f"{n} leads") for label, n in found.accept_times]
    accepted = sum(n for _, n in found.accept_times)
    summary_text = f"How long {accepted} accepted leads waited to be accepted."
    svg = charts.columns("accept-times", "Time to accept", summary_text, items)
    rows = [[label, str(n)] for label, n in found.accept_times]
    header = ["Time to accept", "Leads"]
    return Chart("accept-times", "Time to accept", summary_text, header, rows, svg)


def _lrl(key: str, title: str, column: str, slices: list[Slice], unit: str) -> Chart:
    items = [ChartBar(s.label, s.lrl, _money_text(s.lrl, unit)) for s in slices]
    worst = f"highest: {slices[0].label}." if slices else "no leads."
    summary_text = f"Lost revenue per lead for {len(slices)} groups; {worst}"
    svg = charts.bars(key, title, summary_text, items)
    rows = [
        [s.label, str(s.leads), _money_text(s.lost_revenue, unit), _money_text(s.lrl, unit)]
        for s in slices
    ]
    header = [column, "Leads", "Lost revenue", "LRL"]
    return Chart(key, title, summary_text, header, rows, svg)


def _scores(standings: list[Standing]) -> Chart:
    items = [ChartBar(s.name, s.score.score, f"{s.score.score:.0f}") for s in standings]
    title = "Pursuit scores"
    summary_text = f"{len(items)} active agents, best first, on a scale of 0 to 100."
    svg = charts.bars("scores", title, summary_text, items, top=100)
    rows = [[b.label, b.text] for b in items]
    return Chart("scores", title, summary_text, ["Agent", "Score"], rows, svg)


def chart_csv(chart: Chart) -> bytes:
    return b"".join(lead_list.csv_line(row) for row in [chart.header, *chart.rows])


@dataclass
class Dashboard:
    summary: Summary
    charts: list[Chart]
    alerts: list[Alert]


@dataclass(frozen=True)
class Alert:
    """Something that needs a manager, and where to fix it."""

    kind: str
    text: str
    href: str
    action: str


async def dashboard(
    session: AsyncSession, view: View, scope: Scope, money: Money, now: datetime
) -> Dashboard:
    rows = await dashboard_rows(session, view, scope)
    partners = await roster.partner_names(session)
    declines = await decline_reasons(
        session, view.period.start, view.period.end, view.chosen, scope
    )
    period = (view.period.since, view.period.until)
    found = cut(rows, now, money, period, partners, declines)
    standings = await visible_standings(session, scope, now)
    figures_now = summarize(rows, now, money)
    alerts = await alerts_for(session, scope, standings, figures_now, view, now)
    return Dashboard(figures_now, dashboard_charts(found, standings), alerts)


async def visible_standings(session: AsyncSession, scope: Scope, now: datetime) -> list[Standing]:
    agents = {a.id: a for a in await roster.list_agents(session)}
    return [
        s
        for s in await scoring.leaderboard(session, now)
        if scope.sees_agent(agents[s.agent_id].team_id, agents[s.agent_id].partner_id)
    ]


async def alerts_for(
    session: AsyncSession,
    scope: Scope,
    standings: list[Standing],
    figures_now: Summary,
    view: View,
    now: datetime,
) -> list[Alert]:
    """Unreachable agents, rules nobody can take leads from, unassigned leads, SLA breaches."""
    found = [
        Alert(
            "unreachable",
            f"{s.name} let offers expire and gets no leads until restored.",
            f"/console/scores/{s.agent_id}",
            "Restore",
        )
        for s in standings
        if not s.reach.reachable
    ]
    mine = None if scope.unlimited else await visible_rules(session, scope)
    for health in await rule_health(session, now):
        if health.rule.active and health.flags and (mine is None or health.rule.id in mine):
            found.append(
                Alert(
                    "rule",
                    f"Rule {health.rule.name}: {health.flags[0]}",
                    "/console/rules",
                    "Review rules",
                )
            )
    waiting = await lead_list.count(session, LeadQuery(status="unassigned"), scope, now)
    if waiting:
        found.append(
            Alert(
                "unassigned",
                f"{waiting} {'lead waits' if waiting == 1 else 'leads wait'} for a manager.",
                "/console?status=unassigned#leads",
                "Assign",
            )
        )
    if figures_now.sla_breaches:
        found.append(
            Alert(
                "sla",
                f"{figures_now.sla_breaches} leads of {view.period.label} missed a deadline.",
                View(view.period, LeadQuery(view.chosen, at_risk=True)).url("/console") + "#leads",
                "See leads at risk",
            )
        )
    return found


async def assignable_agents(session: AsyncSession, scope: Scope) -> list[Any]:
    """Active agents the viewer may hand a lead to, by name."""
    agents = [
        a
        for a in await roster.list_agents(session)
        if a.active and scope.sees_agent(a.team_id, a.partner_id)
    ]
    return sorted(agents, key=lambda a: (a.name, a.id))


REASSIGN_TIMEOUT_S = 900


async def reassign(
    session: AsyncSession, lead_id: str, agent_id: str, scope: Scope, by: str
) -> str:
    """Offer the lead to the chosen agent; answers the agent's name for the confirmation."""
    if not await lead_list.in_scope(session, lead_id, scope):
        raise NotFound(f"Lead {lead_id} does not exist.")
    chosen = {a.id: a for a in await assignable_agents(session, scope)}.get(agent_id)
    if chosen is None:
        raise BadInput("Choose an active agent you manage to offer the lead to.", field="agent_id")
    name = str(chosen.name)
    await pursuit.offer_to_agent(
        session, lead_id, agent_id, actor=by, accept_timeout_s=REASSIGN_TIMEOUT_S
    )
    return name


async def send_back(session: AsyncSession, lead_id: str, scope: Scope, by: str) -> None:
    if not await lead_list.in_scope(session, lead_id, scope):
        raise NotFound(f"Lead {lead_id} does not exist.")
    await pursuit.send_back_to_routing(session, lead_id, actor=by)


async def mark_spam(session: AsyncSession, lead_id: str, scope: Scope, by: str) -> None:
    if not await lead_list.in_scope(session, lead_id, scope):
        raise NotFound(f"Lead {lead_id} does not exist.")
    await pursuit.mark_spam(session, lead_id, actor=by)


def lead_id_of(reference: str) -> str:
    """A lead named by its id or by its console address, as a manager pastes it."""
    return reference.strip().rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


async def merge_in(session: AsyncSession, lead_id: str, other: str, scope: Scope, by: str) -> None:
    """Move every inquiry of another lead onto this one; the other ends as merged."""
    other_id = lead_id_of(other)
    if not other_id:
        raise BadInput("Paste the id or the address of the lead to merge into this one.")
    for one in (lead_id, other_id):
        if not await lead_list.in_scope(session, one, scope):
            raise NotFound(f"Lead {one} does not exist.")
    await merge_leads(session, lead_id, other_id, by)


async def split_out(
    session: AsyncSession, lead_id: str, inquiry_id: str, scope: Scope, by: str
) -> None:
    """Move one inquiry of a coalesced lead out to a lead of its own."""
    journey = await lead_journey(session, lead_id, scope)
    if len(journey.inquiries) < 2 or inquiry_id not in {i.id for i in journey.inquiries}:
        raise BadInput("Only an inquiry of a lead with several inquiries can be split out.")
    await split_inquiry(session, inquiry_id, by)
