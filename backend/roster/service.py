"""Keeping the roster: teams, partner companies and agents, validated on the way in."""

from __future__ import annotations

import logging
import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.audit import record_change, snapshot
from backend.db import as_utc
from backend.errors import BadInput, Conflict, NotFound
from backend.identity.service import country_code, normalize_email, normalize_phone
from backend.roster.models import Agent, Partner, Team
from backend.routing.eligibility import WEEKDAYS
from backend.routing.territory import TERRITORY_KEYS, normalize_postal

logger = logging.getLogger(__name__)

KINDS = ("employee", "partner")
NAME_LIMIT = 200
CAPACITY_LIMIT = 1_000_000
# The zone database also holds files that are not zones of any place.
IANA_ZONES = (frozenset(available_timezones()) | {"UTC"}) - {"localtime", "posixrules", "Factory"}
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
RADIUS_LIMIT_KM = 20_000  # about the farthest two places on Earth can be apart
AGENT_FIELDS = (
    "name",
    "email",
    "phone",
    "kind",
    "team_id",
    "partner_id",
    "territories",
    "products",
    "languages",
    "sources",
    "campaigns",
    "value_min",
    "value_max",
    "latitude",
    "longitude",
    "tier",
    "capacity",
    "weight",
    "daily_cap",
    "timezone",
    "working_hours",
    "out_of_office_until",
    "delegate_id",
    "active",
)
WEIGHT_LIMIT = 100


SYSTEM = "system"


async def create_team(session: AsyncSession, name: str, actor: str = SYSTEM) -> Team:
    team = Team(name=_name(name, "team"))
    session.add(team)
    await _flush_unique(session, f"A team named {name!r} already exists.")
    await record_change(session, actor, "team", team.id, "create", None, snapshot(team))
    await _commit_unique(session, f"A team named {name!r} already exists.")
    return team


async def rename_team(session: AsyncSession, team_id: str, name: str, actor: str) -> Team:
    team = await get_team(session, team_id)
    before = snapshot(team)
    team.name = _name(name, "team")
    await _flush_unique(session, f"A team named {name!r} already exists.")
    await record_change(session, actor, "team", team.id, "update", before, snapshot(team))
    await _commit_unique(session, f"A team named {name!r} already exists.")
    return team


def _fair_share(fair_share: float) -> float:
    if not math.isfinite(fair_share) or fair_share <= 0:
        raise BadInput(f"fair_share {fair_share} must be greater than zero.", field="fair_share")
    return fair_share


async def create_partner(
    session: AsyncSession, name: str, fair_share: float = 1.0, actor: str = SYSTEM
) -> Partner:
    partner = Partner(name=_name(name, "partner"), fair_share=_fair_share(fair_share))
    session.add(partner)
    await _flush_unique(session, f"A partner named {name!r} already exists.")
    await record_change(session, actor, "partner", partner.id, "create", None, snapshot(partner))
    await _commit_unique(session, f"A partner named {name!r} already exists.")
    return partner


async def update_partner(
    session: AsyncSession, partner_id: str, changes: dict[str, Any], actor: str
) -> Partner:
    """Name, fair share and whether the company still receives leads."""
    partner = await get_partner(session, partner_id)
    before = snapshot(partner)
    if "name" in changes:
        partner.name = _name(changes["name"], "partner")
    if "fair_share" in changes:
        partner.fair_share = _fair_share(changes["fair_share"])
    if "active" in changes:
        partner.active = bool(changes["active"])
    await _flush_unique(session, f"A partner named {changes.get('name')!r} already exists.")
    await record_change(session, actor, "partner", partner.id, "update", before, snapshot(partner))
    await _commit_unique(session, f"A partner named {changes.get('name')!r} already exists.")
    return partner


async def get_team(session: AsyncSession, team_id: str) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    return team


async def get_partner(session: AsyncSession, partner_id: str) -> Partner:
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"Partner {partner_id} does not exist.")
    return partner


async def list_teams(session: AsyncSession) -> list[Team]:
    return list((await session.scalars(select(Team).order_by(Team.name))).all())


async def list_partners(session: AsyncSession) -> list[Partner]:
    return list((await session.scalars(select(Partner).order_by(Partner.name))).all())


def _name(name: str, what: str) -> str:
    if not name or not name.strip():
        raise BadInput(f"Every {what} needs a name.", field="name")
    if len(name.strip()) > NAME_LIMIT:
        raise BadInput(f"The {what}'s name is at most {NAME_LIMIT} characters.", field="name")
    if "\x00" in name:
        raise BadInput(f"The {what}'s name contains a NUL character.", field="name")
    return name.strip()


async def _flush_unique(session: AsyncSession, message: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(message) from exc


async def _commit_unique(session: AsyncSession, message: str) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(message) from exc


def check_timezone(zone: str) -> None:
    try:
        ZoneInfo(zone)
        if zone not in IANA_ZONES:
            raise ValueError(zone)  # such as "localtime": a file on this server, not a zone
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(
            f"timezone {zone!r} is not an IANA time zone such as 'Europe/Berlin'.", field="timezone"
        ) from exc


def check_working_hours(hours: dict[str, Any] | None) -> None:
    if hours is None:
        return
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise BadInput(
                f"working_hours day {day!r} must be one of {', '.join(WEEKDAYS)}.",
                field="working_hours",
            )
        for interval in intervals:
            ok = isinstance(interval, list | tuple) and len(interval) == 2
            if not ok or not all(isinstance(t, str) and CLOCK.match(t) for t in interval):
                raise BadInput(
                    f'working_hours {day} has {interval!r}; write ["09:00", "18:00"].',
                    field="working_hours",
                )
            if interval[0] == interval[1] or tuple(interval) == ("24:00", "00:00"):
                raise BadInput(
                    f"working_hours {day} has {interval!r}, which is no time at all; "
                    'for the whole day write ["00:00", "24:00"].',
                    field="working_hours",
                )


def check_territories(territories: list[dict[str, Any]]) -> None:
    for territory in territories:
        unknown = set(territory) - set(TERRITORY_KEYS)
        if unknown or not territory:
            raise BadInput(
                f"A territory uses {', '.join(TERRITORY_KEYS)}; got {territory!r}.",
                field="territories",
            )
        for key in ("country", "region", "postal_prefix"):
            if key in territory and not isinstance(territory[key], str):
                raise BadInput(f"A territory's {key} must be text.", field="territories")
            if key in territory and not territory[key].strip():
                raise BadInput(
                    f"A territory's {key} is empty; leave it out to cover any.", field="territories"
                )
        if "country" in territory:
            territory["country"] = country_code(territory["country"], "territory country")
        if "postal_range" in territory:
            _check_postal_range(territory["postal_range"])
        if "radius_km" in territory:
            _check_radius(territory["radius_km"])


def _check_postal_range(bounds: Any) -> None:
    """Two codes of one length, first not after last: ranges compare codes as text."""
    if not (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(isinstance(b, str) and normalize_postal(b) for b in bounds)
    ):
        raise BadInput(
            f"A territory's postal_range must be two postal codes, first and last, such as "
            f'["01000", "01999"]; got {bounds!r}.',
            field="territories",
        )
    low, high = normalize_postal(bounds[0]), normalize_postal(bounds[1])
    if len(low) != len(high):
        raise BadInput(
            f"A territory's postal_range needs two codes of the same length; got {bounds!r}.",
            field="territories",
        )
    if low > high:
        raise BadInput(
            f"A territory's postal_range must not start after it ends; got {bounds!r}.",
            field="territories",
        )


def _check_radius(radius: Any) -> None:
    number = isinstance(radius, int | float) and not isinstance(radius, bool)
    if not (number and math.isfinite(radius) and 0 < radius <= RADIUS_LIMIT_KM):
        raise BadInput(
            f"A territory's radius_km must be a number of kilometres above 0 and at most "
            f"{RADIUS_LIMIT_KM:,}; got {radius!r}.",
            field="territories",
        )


def check_radius_base(values: dict[str, Any], agent: Agent | None = None) -> None:
    """A radius is measured from the agent's base, so an agent with one needs a base location.

    ``values`` are the fields being set; the rest are read from ``agent`` when it exists.
    """

    def current(key: str) -> Any:
        return values[key] if key in values else getattr(agent, key, None)

    has_radius = any("radius_km" in t for t in current("territories") or [])
    if has_radius and (current("latitude") is None or current("longitude") is None):
        raise BadInput(
            "An agent with a radius_km territory needs a base location: give latitude and "
            "longitude.",
            field="latitude",
        )


async def _check_agent(session: AsyncSession, values: dict[str, Any]) -> None:
    if "name" in values:
        values["name"] = _name(values["name"], "agent")
    if values.get("kind", "employee") not in KINDS:
        raise BadInput(f"kind {values['kind']!r} must be employee or partner.", field="kind")
    if "timezone" in values:
        check_timezone(values["timezone"])
    if values.get("out_of_office_until") is not None:
        values["out_of_office_until"] = as_utc(values["out_of_office_until"])
    check_working_hours(values.get("working_hours"))
    check_territories(values.get("territories") or [])
    if "capacity" in values and not 0 <= values["capacity"] <= CAPACITY_LIMIT:
        raise BadInput(f"capacity must be between 0 and {CAPACITY_LIMIT:,}.", field="capacity")
    if "tier" in values and not 1 <= values["tier"] <= 9:
        raise BadInput("tier must be between 1 (preferred) and 9.", field="tier")
    _check_routing_numbers(values)
    if values.get("email"):
        values["email"] = normalize_email(values["email"])
    if values.get("phone"):
        values["phone"] = normalize_phone(values["phone"], None)
    if values.get("team_id") and await session.get(Team, values["team_id"]) is None:
        raise BadInput(f"Team {values['team_id']} does not exist.", field="team_id")
    if values.get("partner_id") and await session.get(Partner, values["partner_id"]) is None:
        raise BadInput(f"Partner {values['partner_id']} does not exist.", field="partner_id")
    if values.get("delegate_id") and await session.get(Agent, values["delegate_id"]) is None:
        raise BadInput(f"Delegate {values['delegate_id']} does not exist.", field="delegate_id")


def _check_routing_numbers(values: dict[str, Any]) -> None:
    """Weights, caps, value bands and the base location, each within its sensible range."""
    if "weight" in values and not 1 <= values["weight"] <= WEIGHT_LIMIT:
        raise BadInput(f"weight must be between 1 and {WEIGHT_LIMIT}.", field="weight")
    cap = values.get("daily_cap")
    if cap is not None and not 0 <= cap <= CAPACITY_LIMIT:
        raise BadInput(f"daily_cap must be between 0 and {CAPACITY_LIMIT:,}.", field="daily_cap")
    for key in ("value_min", "value_max"):
        value = values.get(key)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise BadInput(f"{key} must be a number of at least 0.", field=key)
    low, high = values.get("value_min"), values.get("value_max")
    if low is not None and high is not None and low > high:
        raise BadInput("value_min must not be above value_max.", field="value_min")
    for key, limit in (("latitude", 90), ("longitude", 180)):
        value = values.get(key)
        if value is not None and not (math.isfinite(value) and -limit <= value <= limit):
            raise BadInput(f"{key} must be between -{limit} and {limit}.", field=key)
    if ("latitude" in values) != ("longitude" in values):
        raise BadInput("Give latitude and longitude together.", field="latitude")


def _check_partner_rep(kind: str | None, partner_id: str | None) -> None:
    if kind == "partner" and not partner_id:
        raise BadInput("A partner rep needs the partner_id of their company.", field="partner_id")


async def create_agent(session: AsyncSession, values: dict[str, Any], actor: str = SYSTEM) -> Agent:
    agent = await stage_agent(session, values, actor)
    await session.commit()
    logger.info("agent created agent_id=%s kind=%s", agent.id, agent.kind)
    return agent


async def stage_agent(session: AsyncSession, values: dict[str, Any], actor: str) -> Agent:
    """Check and add a new agent and its audit entry; the caller commits or rolls back."""
    values = {k: v for k, v in values.items() if k in AGENT_FIELDS and v is not None}
    if values.get("partner_id") and values.get("kind") in (None, "employee"):
        values["kind"] = "partner"  # a partner company's rep is a partner rep by definition
    await _check_agent(session, values)
    check_radius_base(values)
    _check_partner_rep(values.get("kind"), values.get("partner_id"))
    agent = Agent(**values)
    session.add(agent)
    await session.flush()
    await record_change(session, actor, "agent", agent.id, "create", None, snapshot(agent))
    return agent


async def update_agent(
    session: AsyncSession, agent_id: str, changes: dict[str, Any], actor: str = SYSTEM
) -> Agent:
    agent = await stage_agent_changes(session, agent_id, changes, actor)
    await session.commit()
    logger.info("agent updated agent_id=%s fields=%s", agent.id, ",".join(sorted(changes)))
    return agent


async def stage_agent_changes(
    session: AsyncSession, agent_id: str, changes: dict[str, Any], actor: str
) -> Agent:
    """Check and apply changes with their audit entry; the caller commits or rolls back."""
    agent = await get_agent(session, agent_id)
    changes = {k: v for k, v in changes.items() if k in AGENT_FIELDS}
    if changes.get("delegate_id") == agent.id:
        raise BadInput("An agent cannot be their own delegate.", field="delegate_id")
    await _check_agent(session, changes)
    check_radius_base(changes, agent)
    _check_partner_rep(changes.get("kind", agent.kind), changes.get("partner_id", agent.partner_id))
    before = snapshot(agent)
    for key, value in changes.items():
        setattr(agent, key, value)
    await session.flush()
    action = "deactivate" if before["active"] and changes.get("active") is False else "update"
    await record_change(session, actor, "agent", agent.id, action, before, snapshot(agent))
    return agent


async def get_agent(session: AsyncSession, agent_id: str) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"Agent {agent_id} does not exist.")
    return agent


async def affiliations(
    session: AsyncSession, agent_ids: list[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Each named agent's team and partner company, in one read."""
    if not agent_ids:
        return {}
    rows = await session.execute(
        select(Agent.id, Agent.team_id, Agent.partner_id).where(Agent.id.in_(agent_ids))
    )
    return {agent_id: (team, partner) for agent_id, team, partner in rows.tuples().all()}


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.scalars(select(Agent).order_by(Agent.name))).all())


async def agent_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Agent.id, Agent.name))
    return {agent_id: name for agent_id, name in rows.all()}


async def team_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Team.id, Team.name).order_by(Team.name))
    return {team_id: name for team_id, name in rows.all()}


async def partner_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Partner.id, Partner.name).order_by(Partner.name))
    return {partner_id: name for partner_id, name in rows.all()}


async def partner_by_name(session: AsyncSession, name: str) -> Partner:
    partner = await session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        raise NotFound(f"No partner company is named {name!r}.")
    return partner


async def team_by_name(session: AsyncSession, name: str) -> Team:
    team = await session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"No team is named {name!r}.")
    return team


async def employee_by_email(session: AsyncSession, email: str) -> Agent | None:
    """The active employee (no partner) whose email this is, compared without case."""
    found = await session.scalars(
        select(Agent).where(
            func.lower(Agent.email) == email.strip().lower(),
            Agent.partner_id.is_(None),
            Agent.kind == "employee",
            Agent.active.is_(True),
        )
    )
    return found.first()


async def agent_counts(session: AsyncSession) -> dict[str, int]:
    """How many active agents each team and each partner company has, by its id."""
    counts: dict[str, int] = {}
    rows = await session.execute(select(Agent.team_id, Agent.partner_id).where(Agent.active))
    for team_id, partner_id in rows.tuples().all():
        for key in (team_id, partner_id):
            if key:
                counts[key] = counts.get(key, 0) + 1
    return counts
