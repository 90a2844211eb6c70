"""Whether one agent may be offered one lead at one instant, and if not, why.

Pure functions over plain values: the routing service gathers the facts (load, history)
and these decide. Each returns the reasons an agent is filtered out; none means eligible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from weakref import WeakValueDictionary
from zoneinfo import ZoneInfo

from backend.routing.territory import Coverage, Place, normalize_postal
from backend.routing.territory import territory_covers as territory_covers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_END = 24 * 3600 * 1_000_000 - 1  # "24:00": the last microsecond before midnight


class LeadFacts(Protocol):
    country: str | None
    region: str | None
    city: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    product: str | None
    language: str | None
    source: str
    campaign: str | None
    value: float | None


class AgentFacts(Protocol):
    active: bool
    out_of_office_until: datetime | None
    timezone: str
    working_hours: dict[str, Any] | None
    capacity: int
    daily_cap: int | None
    territories: list[dict[str, Any]]
    latitude: float | None
    longitude: float | None
    products: list[str]
    languages: list[str]
    sources: list[str]
    campaigns: list[str]
    value_min: float | None
    value_max: float | None


@dataclass(frozen=True)
class History:
    """What this agent already did with this lead."""

    declined: bool = False
    expired: bool = False
    reclaimed: bool = False

    def reasons(self) -> list[str]:
        said = (
            (self.declined, "declined this lead before"),
            (self.expired, "let this lead expire before"),
            (self.reclaimed, "held this lead without contacting the prospect in time"),
        )
        return [text for happened, text in said if happened]


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def _parse_clock(value: str) -> time:
    """ "HH:MM"; "24:00" closes the day, so it reads as the last instant before midnight."""
    hours, minutes = value.split(":")
    if (int(hours), int(minutes)) == (24, 0):
        return time.max
    return time(int(hours), int(minutes))


def within_working_hours(hours: dict[str, Any] | None, zone: str, now: datetime) -> bool:
    """Wall-clock intervals in the agent's own zone, so daylight-saving changes shift nothing.

    An interval whose end is not after its start runs past midnight into the next day.
    """
    if hours is None:
        return True
    local = now.astimezone(ZoneInfo(zone))
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    clock = local.time().replace(tzinfo=None)
    for start_s, end_s in hours.get(today, []):
        start, end = _parse_clock(start_s), _parse_clock(end_s)
        if start < end and start <= clock < end:
            return True
        if end <= start and clock >= start:
            return True
    for start_s, end_s in hours.get(yesterday, []):
        start, end = _parse_clock(start_s), _parse_clock(end_s)
        if end <= start and clock < end:
            return True
    return False


def ineligibility(
    agent: AgentFacts,
    lead: LeadFacts,
    now: datetime,
    load: int,
    history: History,
    offered_today: int = 0,
) -> list[str]:
    """Every reason this agent cannot be offered this lead now, in a fixed order."""
    return [
        *unavailability(agent, now, load, offered_today),
        *misfit(agent, lead),
        *history.reasons(),
    ]


def unavailability(agent: AgentFacts, now: datetime, load: int, offered_today: int) -> list[str]:
    """Why the agent cannot take any lead right now, whatever the lead."""
    return AgentProfile.of(agent).unavailability(Clock(now), load, offered_today)


def misfit(agent: AgentFacts, lead: LeadFacts) -> list[str]:
    """Why this lead is not one the agent handles: place, product, language, value, origin."""
    return AgentProfile.of(agent).misfit(LeadView.of(lead))


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working hours parsed once: per weekday from Monday, intervals in microseconds of the day.

    Answers what ``within_working_hours`` answers, given the local weekday and clock.
    """

    days: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def of(cls, hours: dict[str, Any]) -> WeeklyHours:
        days = (hours.get(day) or () for day in WEEKDAYS)
        return cls(tuple(tuple((_micros(s), _micros(e)) for s, e in day) for day in days))

    def open_at(self, weekday: int, clock: int) -> bool:
        for start, end in self.days[weekday]:
            if (start <= clock < end) if start < end else clock >= start:
                return True
        # Index -1 is Sunday: Monday's early hours continue Sunday's overnight shifts.
        return any(end <= start and clock < end for start, end in self.days[weekday - 1])


def _micros(value: str) -> int:
    parsed = _parse_clock(value)
    if parsed == time.max:
        return DAY_END
    return (parsed.hour * 60 + parsed.minute) * 60_000_000


class Clock:
    """One instant as each time zone sees it; each zone and schedule is judged once."""

    __slots__ = ("_by_schedule", "_closed", "_local", "now")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._local: dict[ZoneInfo, tuple[int, int]] = {}
        self._closed: dict[str, str] = {}
        self._by_schedule: dict[Schedule, str | None] = {}

    def closed_in(self, schedule: Schedule) -> str | None:
        """Why an agent on ``schedule`` is off now, or None when the schedule is open."""
        try:
            return self._by_schedule[schedule]
        except KeyError:
            pass
        is_open = schedule.hours.open_at(*self.local(schedule.zone))
        found = self._by_schedule[schedule] = None if is_open else self.closed(schedule.timezone)
        return found

    def local(self, zone: ZoneInfo) -> tuple[int, int]:
        """The weekday (Monday 0) and microseconds since local midnight in ``zone``."""
        found = self._local.get(zone)
        if found is None:
            local = self.now.astimezone(zone)
            seconds = (local.hour * 60 + local.minute) * 60 + local.second
            found = self._local[zone] = (local.weekday(), seconds * 1_000_000 + local.microsecond)
        return found

    def closed(self, zone: str) -> str:
        """The reason given to an agent outside working hours in ``zone``."""
        found = self._closed.get(zone)
        if found is None:
            local = self.now.astimezone(ZoneInfo(zone))
            found = self._closed[zone] = f"outside working hours ({local:%a %H:%M} {zone})"
        return found


@dataclass(frozen=True, slots=True)
class LeadView:
    """What eligibility reads about a lead, with its text normalized once per decision."""

    place: Place
    product: str | None
    language: str | None
    value: float | None
    source: str
    source_key: str | None
    campaign: str | None
    campaign_key: str | None

    @classmethod
    def of(cls, lead: LeadFacts) -> LeadView:
        source, campaign = lead.source, lead.campaign
        return cls(
            Place.of(lead),
            lead.product,
            lead.language,
            lead.value,
            source,
            _key(source),
            campaign,
            _key(campaign),
        )


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Schedule:
    """Working hours in one time zone, shared by every agent with the same ones.

    Compared by identity: ``Clock`` answers for each schedule once per instant.
    """

    timezone: str
    zone: ZoneInfo
    hours: WeeklyHours

    @classmethod
    def of(cls, timezone: str, hours: dict[str, Any]) -> Schedule:
        # Keyed by the hours as written, so a roster read parses each distinct week once.
        written = tuple((day, tuple(map(tuple, spans or ()))) for day, spans in hours.items())
        key = (timezone, written)
        found = _schedules.get(key)
        if found is None:
            found = _schedules[key] = cls(timezone, ZoneInfo(timezone), WeeklyHours.of(hours))
        return found


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Fit:
    """Which leads an agent handles: place, product, language, value band, origin.

    Shared by every agent with the same ones and compared by identity, so a decision
    judges each fit once however many agents of a pool share it.
    """

    coverage: Coverage
    products: tuple[str, ...]
    languages: tuple[str, ...]
    sources: frozenset[str] | None  # None: takes leads from any source
    campaigns: frozenset[str] | None
    value_min: float | None
    value_max: float | None

    @classmethod
    def of(cls, agent: AgentFacts) -> Fit:
        fields = (
            Coverage.of(agent.territories or (), agent.latitude, agent.longitude),
            tuple(agent.products or ()),
            tuple(agent.languages or ()),
            _keys(agent.sources),
            _keys(agent.campaigns),
            agent.value_min,
            agent.value_max,
        )
        found = _fits.get(fields)
        if found is None:
            found = _fits[fields] = cls(*fields)
        return found

    def misfit(self, lead: LeadView) -> list[str]:
        """Why this lead is not one the agent handles: place, product, language, value, origin."""
        reasons: list[str] = []
        if miss := self.coverage.miss(lead.place):
            reasons.append(miss)
        if self.products and lead.product not in self.products:
            reasons.append(f"does not handle product {lead.product or '(none given)'}")
        if self.languages and lead.language and lead.language not in self.languages:
            reasons.append(f"does not speak {lead.language}")
        if band := value_band_miss(self.value_min, self.value_max, lead.value):
            reasons.append(band)
        if self.sources is not None and lead.source_key not in self.sources:
            reasons.append(f"does not take leads from source {lead.source}")
        if self.campaigns is not None and lead.campaign_key not in self.campaigns:
            reasons.append(f"does not take leads from campaign {lead.campaign or '(none given)'}")
        return reasons


# Interned while some profile holds them; a roster change lets the unused ones go.
_schedules: WeakValueDictionary[tuple[str, tuple[Any, ...]], Schedule] = WeakValueDictionary()
_fits: WeakValueDictionary[tuple[Any, ...], Fit] = WeakValueDictionary()


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What eligibility reads about an agent, parsed once: hours, zone, territories, lists.

    Built from one state of the agent; a changed agent needs a new profile.
    """

    active: bool
    out_of_office_until: datetime | None
    timezone: str
    schedule: Schedule | None  # None: always at work
    capacity: int
    daily_cap: int | None
    fit: Fit
    # Agents with equal presence are at work, or away, for the same reasons at any instant.
    presence: tuple[bool, datetime | None, Schedule | None]

    @classmethod
    def of(cls, agent: AgentFacts) -> AgentProfile:
        hours = agent.working_hours
        schedule = None if hours is None else Schedule.of(agent.timezone, hours)
        return cls(
            active=agent.active,
            out_of_office_until=agent.out_of_office_until,
            timezone=agent.timezone,
            schedule=schedule,
            capacity=agent.capacity,
            daily_cap=agent.daily_cap,
            fit=Fit.of(agent),
            presence=(agent.active, agent.out_of_office_until, schedule),
        )

    @property
    def zone(self) -> ZoneInfo | None:
        """Only looked up when there are working hours."""
        return None if self.schedule is None else self.schedule.zone

    @property
    def products(self) -> tuple[str, ...]:
        return self.fit.products

    @property
    def sources(self) -> frozenset[str] | None:
        return self.fit.sources

    def unavailability(self, clock: Clock, load: int, offered_today: int) -> list[str]:
        """Why the agent cannot take any lead at the clock's instant, whatever the lead."""
        return self.absence(clock) + self.overload(load, offered_today)

    def absence(self, clock: Clock) -> list[str]:
        """Why the agent is not at work at the clock's instant: inactive, away or off hours."""
        reasons: list[str] = []
        if not self.active:
            reasons.append("inactive")
        away = self.out_of_office_until
        if away is not None and away > clock.now:
            reasons.append(f"out of office until {away.isoformat()}")
        if self.schedule is not None and (closed := clock.closed_in(self.schedule)) is not None:
            reasons.append(closed)
        return reasons

    def overload(self, load: int, offered_today: int) -> list[str]:
        """Why the agent has no room for another lead: capacity or today's cap reached."""
        if load < self.capacity and (self.daily_cap is None or offered_today < self.daily_cap):
            return []
        reasons: list[str] = []
        if load >= self.capacity:
            reasons.append(f"at capacity ({load} of {self.capacity} open leads)")
        cap = self.daily_cap
        if cap is not None and offered_today >= cap:
            reasons.append(f"reached the daily cap ({offered_today} of {cap} leads today)")
        return reasons

    def misfit(self, lead: LeadView) -> list[str]:
        """Why this lead is not one the agent handles: place, product, language, value, origin."""
        return self.fit.misfit(lead)


class Judgement:
    """One lead at one instant, judged against agents without the database.

    Each fit and each schedule is judged once per lead, however many agents and pools
    share it. Answers fresh lists, so a caller may extend one.
    """

    __slots__ = ("_absences", "_misfits", "clock", "history", "lead")

    def __init__(self, lead: LeadView, clock: Clock, history: dict[str, History]) -> None:
        self.lead, self.clock, self.history = lead, clock, history
        self._misfits: dict[Fit, list[str]] = {}
        self._absences: dict[tuple[bool, datetime | None, Schedule | None], list[str]] = {}

    def each(self, seats: Iterable[tuple[str, AgentProfile, AgentProfile]]) -> list[list[str]]:
        """``ruled_out`` for many (agent id, agent, fit of) seats in one pass: pools run to
        hundreds of agents."""
        misfits, absences, history, lead = self._misfits, self._absences, self.history, self.lead
        judged = []
        for agent_id, agent, fit_of in seats:
            misfit = misfits.get(fit_of.fit)
            if misfit is None:
                misfit = misfits[fit_of.fit] = fit_of.fit.misfit(lead)
            # Agents at work on the same schedule are absent for the same reasons, if any.
            absence = absences.get(agent.presence)
            if absence is None:
                absence = absences[agent.presence] = agent.absence(self.clock)
            reasons = absence + misfit
            if history and (past := history.get(agent_id)) is not None:
                reasons += past.reasons()
            judged.append(reasons)
        return judged

    def ruled_out(self, agent_id: str, agent: AgentProfile, fit_of: AgentProfile) -> list[str]:
        """Why the agent cannot take the lead: absence, the fit of ``fit_of`` (the agent
        itself, or the absent agent a delegate stands in for), and history with the lead."""
        return self.each([(agent_id, agent, fit_of)])[0]


def _key(text: str | None) -> str | None:
    return None if text is None else text.strip().lower()


def _keys(texts: list[str] | None) -> frozenset[str] | None:
    """Lower-cased, trimmed texts to compare with; None when the list is empty."""
    if not texts:
        return None
    return frozenset(t.strip().lower() for t in texts if t is not None)


def value_band_miss(low: float | None, high: float | None, value: float | None) -> str | None:
    """Why a lead's value falls outside a band [low, high), or None when it fits."""
    if low is None and high is None:
        return None
    if value is None:
        return "takes only leads with a known value"
    if low is not None and value < low:
        return f"takes only leads worth at least {low:g} (this one {value:g})"
    if high is not None and value >= high:
        return f"takes only leads worth under {high:g} (this one {value:g})"
    return None


TEXT_CONDITIONS = (
    "country",
    "region",
    "city",
    "postal_prefix",
    "product",
    "language",
    "source",
    "campaign",
)
CONDITION_KEYS = (*TEXT_CONDITIONS, "value_min", "value_max")


def rule_mismatch(conditions: dict[str, Any], lead: LeadFacts) -> str | None:
    """Why a rule's conditions do not hold for the lead, or None when they all hold."""
    return RuleConditions.of(conditions).mismatch(lead)


@dataclass(frozen=True, slots=True)
class RuleConditions:
    """A rule's conditions compiled once: accepted values normalized, in the rule's order.

    ``mismatch`` answers what ``rule_mismatch`` answers for the same conditions.
    """

    value_min: float | None
    value_max: float | None
    # (key, accepted keys or postal prefixes, the accepted values as written)
    checks: tuple[tuple[str, frozenset[str] | tuple[str, ...], str], ...]

    @classmethod
    def of(cls, conditions: dict[str, Any]) -> RuleConditions:
        checks: list[tuple[str, frozenset[str] | tuple[str, ...], str]] = []
        for key, accepted in conditions.items():
            if not accepted or key in ("value_min", "value_max"):
                continue
            if key == "postal_prefix":
                prefixes = tuple(normalize_postal(p) for p in accepted)
                checks.append((key, prefixes, ""))
            else:
                keys = frozenset(a.strip().lower() for a in accepted if a is not None)
                checks.append((key, keys, ", ".join(accepted)))
        return cls(conditions.get("value_min"), conditions.get("value_max"), tuple(checks))

    def mismatch(self, lead: LeadFacts) -> str | None:
        if self.value_min is not None or self.value_max is not None:
            band = value_band_miss(self.value_min, self.value_max, lead.value)
            if band is not None:
                return band.replace("takes only", "matches only")
        for key, accepted, written in self.checks:
            if key == "postal_prefix":
                code = normalize_postal(lead.postal_code)
                if not any(code.startswith(prefix) for prefix in accepted):
                    return f"postal code {lead.postal_code or '(none)'} matches no prefix"
                continue
            value = getattr(lead, key)
            if value is None or value.strip().lower() not in accepted:
                return f"{key} {value or '(none)'} is not one of {written}"
        return None


def deadline(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
