"""Whether one agent may be offered one lead at one instant, and if not, why.

Pure functions over plain values: the routing service gathers the facts (load, history)
and these decide. Each returns the reasons an agent is filtered out; none means eligible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from backend.routing.territory import normalize_postal, territory_miss
from backend.routing.territory import territory_covers as territory_covers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    reasons: list[str] = []
    if not agent.active:
        reasons.append("inactive")
    if agent.out_of_office_until is not None and agent.out_of_office_until > now:
        reasons.append(f"out of office until {agent.out_of_office_until.isoformat()}")
    if not within_working_hours(agent.working_hours, agent.timezone, now):
        local = now.astimezone(ZoneInfo(agent.timezone))
        reasons.append(f"outside working hours ({local:%a %H:%M} {agent.timezone})")
    if load >= agent.capacity:
        reasons.append(f"at capacity ({load} of {agent.capacity} open leads)")
    if agent.daily_cap is not None and offered_today >= agent.daily_cap:
        reasons.append(f"reached the daily cap ({offered_today} of {agent.daily_cap} leads today)")
    return reasons


def misfit(agent: AgentFacts, lead: LeadFacts) -> list[str]:
    """Why this lead is not one the agent handles: place, product, language, value, origin."""
    reasons: list[str] = []
    if miss := territory_miss(agent.territories, lead, agent.latitude, agent.longitude):
        reasons.append(miss)
    if agent.products and lead.product not in agent.products:
        reasons.append(f"does not handle product {lead.product or '(none given)'}")
    if agent.languages and lead.language and lead.language not in agent.languages:
        reasons.append(f"does not speak {lead.language}")
    band = value_band_miss(agent.value_min, agent.value_max, lead.value)
    if band:
        reasons.append(band)
    if agent.sources and not any(_same(lead.source, s) for s in agent.sources):
        reasons.append(f"does not take leads from source {lead.source}")
    if agent.campaigns and not any(_same(lead.campaign, c) for c in agent.campaigns):
        reasons.append(f"does not take leads from campaign {lead.campaign or '(none given)'}")
    return reasons


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
    band = value_band_miss(conditions.get("value_min"), conditions.get("value_max"), lead.value)
    if band is not None:
        return band.replace("takes only", "matches only")
    for key, accepted in conditions.items():
        if not accepted or key in ("value_min", "value_max"):
            continue
        if key == "postal_prefix":
            code = normalize_postal(lead.postal_code)
            if not any(code.startswith(normalize_postal(p)) for p in accepted):
                return f"postal code {lead.postal_code or '(none)'} matches no prefix"
            continue
        value = getattr(lead, key)
        if value is None or not any(_same(value, a) for a in accepted):
            return f"{key} {value or '(none)'} is not one of {', '.join(accepted)}"
    return None


def deadline(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
