"""Time per routing decision with a large roster in SQLite, next to the floor SQLite sets.

Run from the repository root:  .venv/bin/python bench/routing.py [--json]

1. A fresh SQLite database in a temporary directory, migrated to head and seeded from one
   seeded generator: agents in teams and partner companies across ten countries, routing
   rules, and a history of leads with offers and rotation state.
2. Leads opened and routed one per transaction as intake does it (``open_lead``, then
   commit), sequentially on one engine, with every SQL statement counted and timed.
3. Ceilings on the same engine: one statement, an empty transaction, a one-row write;
   and, for reference, reading the whole roster once.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import logging
import math
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import direct
from backend.db import create_engine, session_factory, upgrade_database
from backend.pursuit.models import Lead, Offer
from backend.pursuit.service import chase_overdue_contacts, open_lead
from backend.roster.models import Agent, Partner, Team
from backend.routing.models import Decision, Rotation, Rule
from backend.routing.snapshot import snapshot

GOAL_P99_MS = 5.0
# A Tuesday afternoon in Europe; leads then arrive every STEP, so a run crosses the
# working hours of every zone below and some rules find their teams closed.
START = datetime(2026, 11, 17, 13, 0, tzinfo=UTC)
STEP = timedelta(seconds=37)
PRODUCTS = (
    "crm-starter",
    "crm-pro",
    "crm-enterprise",
    "analytics",
    "payments",
    "support-desk",
    "marketing-suite",
    "onboarding",
)
SOURCES = {
    "web": 30,
    "organic_search": 15,
    "paid_search": 15,
    "referral": 10,
    "social": 8,
    "partner_portal": 10,
    "events": 5,
    "email": 7,
}
CAMPAIGNS = ("spring-launch", "webinar-q4", "trade-show", "win-back")
FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dev", "Emma", "Felix", "Grace", "Hiro", "Ines", "Jon")
LAST_NAMES = ("Silva", "Smith", "Müller", "Martin", "García", "Khan", "Brown", "Rossi")


@dataclass(frozen=True)
class Region:
    code: str
    zone: str
    postal_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Country:
    code: str
    traffic: int
    languages: tuple[str, ...]
    currency: str
    regions: tuple[Region, ...]


COUNTRIES = (
    Country("US", 30, ("en", "es"), "USD", (
        Region("CA", "America/Los_Angeles", ("90", "94", "95")),
        Region("WA", "America/Los_Angeles", ("98",)),
        Region("TX", "America/Chicago", ("75", "77", "78")),
        Region("IL", "America/Chicago", ("60",)),
        Region("NY", "America/New_York", ("10", "11", "14")),
        Region("FL", "America/New_York", ("32", "33")),
    )),
    Country("GB", 10, ("en",), "GBP", (
        Region("England", "Europe/London", ("SW", "EC", "M1", "B1", "LS")),
        Region("Scotland", "Europe/London", ("EH", "G1")),
        Region("Wales", "Europe/London", ("CF",)),
    )),
    Country("DE", 10, ("de", "en"), "EUR", (
        Region("BY", "Europe/Berlin", ("80", "81", "90")),
        Region("BE", "Europe/Berlin", ("10", "12")),
        Region("NW", "Europe/Berlin", ("40", "50")),
        Region("HH", "Europe/Berlin", ("20", "22")),
    )),
    Country("BR", 10, ("pt",), "BRL", (
        Region("SP", "America/Sao_Paulo", ("01", "04", "13")),
        Region("RJ", "America/Sao_Paulo", ("20", "22")),
        Region("MG", "America/Sao_Paulo", ("30",)),
        Region("RS", "America/Sao_Paulo", ("90",)),
    )),
    Country("FR", 7, ("fr", "en"), "EUR", (
        Region("IDF", "Europe/Paris", ("75", "92")),
        Region("ARA", "Europe/Paris", ("69", "38")),
        Region("PAC", "Europe/Paris", ("13", "06")),
    )),
    Country("CA", 7, ("en", "fr"), "CAD", (
        Region("ON", "America/Toronto", ("M", "K", "L")),
        Region("QC", "America/Toronto", ("H", "G")),
        Region("BC", "America/Vancouver", ("V",)),
    )),
    Country("ES", 6, ("es",), "EUR", (
        Region("MD", "Europe/Madrid", ("28",)),
        Region("CT", "Europe/Madrid", ("08",)),
        Region("AN", "Europe/Madrid", ("41", "29")),
    )),
    Country("MX", 6, ("es",), "MXN", (
        Region("CMX", "America/Mexico_City", ("01", "06")),
        Region("JAL", "America/Mexico_City", ("44",)),
        Region("NLE", "America/Monterrey", ("64",)),
    )),
    Country("AU", 7, ("en",), "AUD", (
        Region("NSW", "Australia/Sydney", ("2",)),
        Region("VIC", "Australia/Melbourne", ("3",)),
        Region("QLD", "Australia/Brisbane", ("4",)),
    )),
    Country("IN", 7, ("en", "hi"), "INR", (
        Region("MH", "Asia/Kolkata", ("40", "41")),
        Region("KA", "Asia/Kolkata", ("56",)),
        Region("DL", "Asia/Kolkata", ("11",)),
    )),
)  # fmt: skip


# -- the seeded world -----------------------------------------------------------------------


@dataclass
class SeedTeam:
    id: str
    country: Country
    region: Region | None
    products: list[str]


@dataclass
class SeedAgent:
    id: str
    country: Country
    team_id: str | None
    partner_id: str | None
    popularity: float


@dataclass
class World:
    """What was seeded, kept in memory to build rules, history and incoming leads."""

    rng: random.Random
    teams: list[SeedTeam] = field(default_factory=list)
    partners: dict[str, list[Country]] = field(default_factory=dict)
    agents: list[SeedAgent] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def new_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def country(self) -> Country:
        return self.rng.choices(COUNTRIES, weights=[c.traffic for c in COUNTRIES])[0]

    def agents_in(self, country: Country) -> list[SeedAgent]:
        return [a for a in self.agents if a.country is country]


def build_teams(world: World, count: int) -> list[dict[str, Any]]:
    rows = []
    for number in range(1, count + 1):
        country = world.country()
        region = world.rng.choice(country.regions) if world.rng.random() < 0.7 else None
        focus = world.rng.sample(PRODUCTS, 3) if world.rng.random() < 0.4 else []
        team = SeedTeam(world.new_id(), country, region, focus)
        world.teams.append(team)
        place = region.code if region else "national"
        rows.append(
            {
                "id": team.id,
                "name": f"{country.code} {place} sales {number}",
                "created_at": START - timedelta(days=900 - number),
            }
        )
    return rows


def build_partners(world: World, count: int) -> list[dict[str, Any]]:
    rows = []
    for number in range(1, count + 1):
        partner_id = world.new_id()
        world.partners[partner_id] = list(dict.fromkeys(world.country() for _ in range(3)))
        rows.append(
            {
                "id": partner_id,
                "name": f"Partner company {number}",
                "fair_share": world.rng.choice((0.5, 1.0, 1.0, 2.0)),
                "created_at": START - timedelta(days=800 - number),
            }
        )
    return rows


def working_hours(rng: random.Random) -> dict[str, Any] | None:
    """Office hours mostly; some Saturday shifts, some overnight desks, some always on."""
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.2:
        return {day: [["20:00", "04:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    start = rng.choice((7, 8, 8, 9, 10))
    hours = {
        day: [[f"{start:02d}:00", f"{start + 9:02d}:00"]]
        for day in ("mon", "tue", "wed", "thu", "fri")
    }
    if kind < 0.3:
        hours["sat"] = [["09:00", "13:00"]]
    return hours


def territories(rng: random.Random, country: Country, region: Region) -> list[dict[str, str]]:
    kind = rng.random()
    if kind < 0.1:
        return []
    if kind < 0.3:
        return [{"country": country.code}]
    if kind < 0.8:
        return [{"country": country.code, "region": region.code}]
    prefixes = rng.sample(region.postal_prefixes, min(2, len(region.postal_prefixes)))
    return [{"country": country.code, "postal_prefix": p} for p in prefixes]


def _products(rng: random.Random, team: SeedTeam | None) -> list[str]:
    """A specialist team's products; otherwise most agents take every product."""
    if team is not None and team.products:
        return team.products
    return rng.sample(PRODUCTS, rng.randint(2, 4)) if rng.random() < 0.3 else []


def agent_row(
    world: World, number: int, team: SeedTeam | None, partner: str | None
) -> dict[str, Any]:
    rng = world.rng
    if team is not None:
        country, region = team.country, team.region or rng.choice(team.country.regions)
    else:
        country = rng.choice(world.partners[partner or ""])
        region = rng.choice(country.regions)
    products = _products(rng, team)
    languages = list(country.languages) + (["en"] if rng.random() < 0.4 else [])
    agent = SeedAgent(
        world.new_id(),
        country,
        team.id if team else None,
        partner,
        popularity=rng.paretovariate(1.5),
    )
    world.agents.append(agent)
    return {
        "id": agent.id, "name": f"Agent {number}", "email": f"agent{number}@bench.example",
        "kind": "partner" if partner else "employee", "team_id": agent.team_id,
        "partner_id": partner, "territories": territories(rng, country, region),
        "products": products, "languages": sorted(set(languages)),
        "sources": ["partner_portal"] if partner and rng.random() < 0.3 else [],
        "value_min": 5000.0 if rng.random() < 0.05 else None,
        "tier": rng.choice((1, 1, 2, 3)), "capacity": rng.choice((10, 20, 30, 40, 60)),
        "weight": rng.choice((1, 1, 2, 3)),
        "daily_cap": rng.randint(10, 40) if rng.random() < 0.2 else None,
        "timezone": region.zone, "working_hours": working_hours(rng),
        "out_of_office_until": START + timedelta(days=3) if rng.random() < 0.02 else None,
        "active": rng.random() >= 0.03,
        "created_at": START - timedelta(days=700, minutes=-number),
    }  # fmt: skip


def build_agents(world: World, count: int) -> list[dict[str, Any]]:
    partner_ids = list(world.partners)
    rows = []
    for number in range(1, count + 1):
        if world.rng.random() < 0.8 or not partner_ids:
            rows.append(agent_row(world, number, world.rng.choice(world.teams), None))
        else:
            rows.append(agent_row(world, number, None, world.rng.choice(partner_ids)))
    return rows


# -- rules ----------------------------------------------------------------------------------


def _conditions(world: World, kind: str, country: Country) -> dict[str, list[str]]:
    rng = world.rng
    region = rng.choice(country.regions)
    conditions: dict[str, list[str]] = {"country": [country.code]}
    if kind == "region":
        conditions["region"] = [region.code]
    if kind in ("region", "product", "agents") and rng.random() < 0.6:
        conditions["product"] = rng.sample(PRODUCTS, rng.randint(1, 3))
    if kind == "source":
        conditions["source"] = rng.sample(sorted(SOURCES), 2)
    if kind == "postal":
        conditions["postal_prefix"] = [rng.choice(region.postal_prefixes)]
    if kind == "agents" and rng.random() < 0.3:
        conditions["campaign"] = [rng.choice(CAMPAIGNS)]
    return conditions


def _pool(world: World, kind: str, country: Country) -> dict[str, list[str]]:
    rng = world.rng
    teams = [t.id for t in world.teams if t.country is country] or [world.teams[0].id]
    partners = [p for p, places in world.partners.items() if country in places]
    agents = [a.id for a in world.agents_in(country)] or [world.agents[0].id]
    pool: dict[str, list[str]] = {"agent_ids": [], "team_ids": [], "partner_ids": []}
    if kind in ("region", "product", "postal", "mixed"):
        pool["team_ids"] = rng.sample(teams, min(len(teams), rng.randint(1, 4)))
    if kind in ("source", "mixed") and partners:
        pool["partner_ids"] = rng.sample(partners, min(len(partners), rng.randint(1, 2)))
    if kind in ("agents", "postal", "mixed") or not any(pool.values()):
        pool["agent_ids"] = rng.sample(agents, min(len(agents), rng.randint(5, 40)))
    return pool


def rule_row(
    world: World,
    name: str,
    priority: int,
    conditions: dict[str, list[str]],
    pool: dict[str, list[str]],
    strategy: str,
) -> dict[str, Any]:
    row = {
        "id": world.new_id(), "name": name, "priority": priority, "conditions": conditions,
        "pool": pool, "strategy": strategy, "accept_timeout_s": world.rng.choice((300, 900, 3600)),
        "contact_timeout_s": 86400, "active": world.rng.random() >= 0.05 or priority >= 900,
        "created_at": START - timedelta(days=300, minutes=-len(world.rules)),
    }  # fmt: skip
    world.rules.append(row)
    return row


def build_rules(world: World, count: int) -> list[dict[str, Any]]:
    """Specific rules first by priority, then one fallback per country, then a global one."""
    rng = world.rng
    kinds = (
        ("region",) * 35
        + ("product",) * 20
        + ("source",) * 15
        + ("agents",) * 15
        + ("postal",) * 10
        + ("mixed",) * 5
    )
    specific = max(0, count - len(COUNTRIES) - 1)
    for number in range(1, specific + 1):
        kind, country = rng.choice(kinds), world.country()
        strategy = rng.choice(("round_robin", "least_loaded", "score"))
        rule_row(
            world,
            f"{country.code} {kind} {number}",
            rng.randint(1, 800),
            _conditions(world, kind, country),
            _pool(world, kind, country),
            strategy,
        )

    for country in COUNTRIES[: max(0, count - specific - 1)]:
        teams = [t.id for t in world.teams if t.country is country]
        pool = {"agent_ids": [], "team_ids": teams, "partner_ids": []}
        conditions = {"country": [country.code]}
        rule_row(world, f"{country.code} fallback", 900, conditions, pool, "least_loaded")
    if count > specific:
        pool = {"agent_ids": [], "team_ids": [], "partner_ids": sorted(world.partners)}
        rule_row(world, "Everything else: partners", 1000, {}, pool, "least_loaded")
    return world.rules


def pool_members(world: World, pool: dict[str, list[str]]) -> list[str]:
    teams, partners = set(pool["team_ids"]), set(pool["partner_ids"])
    named = set(pool["agent_ids"])
    return [
        a.id
        for a in world.agents
        if a.id in named or a.team_id in teams or a.partner_id in partners
    ]


def build_rotations(world: World) -> list[dict[str, Any]]:
    """Rotation state as if each rule had already handed leads to most of its pool."""
    rows = []
    for rule in world.rules:
        members = pool_members(world, rule["pool"])
        served = world.rng.sample(members, int(len(members) * 0.6))
        for sequence, agent_id in enumerate(served, start=1):
            at = START - timedelta(minutes=len(served) - sequence)
            rows.append(
                {
                    "rule_id": rule["id"],
                    "agent_id": agent_id,
                    "sequence": sequence,
                    "last_offered_at": at,
                    "pass_value": float(sequence),
                }
            )
    return rows


# -- history and incoming leads -------------------------------------------------------------


HISTORY_STATUSES = {
    "won": 15,
    "lost": 30,
    "contacted": 20,
    "accepted": 10,
    "offered": 20,
    "unassigned": 5,
}


def lead_fields(world: World, number: int) -> dict[str, Any]:
    """One normalized inquiry, shaped like the fields intake hands to ``open_lead``."""
    rng = world.rng
    country = world.country()
    region = rng.choice(country.regions)
    postal = rng.choice(region.postal_prefixes) + f"{rng.randint(0, 999):03d}"
    value = float(rng.choice((500, 1500, 4000, 12000))) if rng.random() < 0.3 else None
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "source": rng.choices(list(SOURCES), weights=list(SOURCES.values()))[0],
        "first_name": first, "last_name": last,
        "email": f"{first.lower()}.{number}@prospect{number % 997}.example",
        "phone": f"+1555{number:07d}", "company": f"Prospect {number % 997} Ltd",
        "country": country.code, "region": region.code, "postal_code": postal,
        "product": rng.choice(PRODUCTS),
        "language": rng.choice(country.languages) if rng.random() < 0.8 else None,
        "campaign": rng.choice(CAMPAIGNS) if rng.random() < 0.2 else None,
        "message": "Please call me back about pricing.", "value": value,
        "currency": country.currency if value is not None else None,
        **({"value_basis": "stated"} if value is not None else {}),
    }  # fmt: skip


class AgentPicker:
    """Agents of a country drawn by a heavy-tailed popularity, so some carry many leads."""

    def __init__(self, world: World) -> None:
        self.rng = world.rng
        self.by_country: dict[str, tuple[list[str], list[float]]] = {}
        for country in COUNTRIES:
            agents = world.agents_in(country) or world.agents
            weights = list(itertools.accumulate(a.popularity for a in agents))
            self.by_country[country.code] = ([a.id for a in agents], weights)

    def pick(self, country: str) -> str:
        ids, cumulative = self.by_country[country]
        at = self.rng.random() * cumulative[-1]
        return ids[min(bisect.bisect(cumulative, at), len(ids) - 1)]


def offer_row(
    world: World,
    lead: dict[str, Any],
    agent_id: str,
    status: str,
    at: datetime,
    rule_ids: list[str],
) -> dict[str, Any]:
    return {
        "id": world.new_id(), "lead_id": lead["id"], "agent_id": agent_id,
        "rule_id": world.rng.choice(rule_ids) if rule_ids else None, "status": status,
        "offered_at": at, "expires_at": at + timedelta(minutes=15),
        "contact_timeout_s": 86400, "decided_at": None if status == "pending" else at,
        "decline_reason": "no_capacity" if status == "declined" else None,
    }  # fmt: skip


def history_lead(
    world: World, number: int, picker: AgentPicker, rules_by_country: dict[str, list[str]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A lead received in the last 30 days with the offers it went through."""
    rng = world.rng
    fields = lead_fields(world, number)
    fields.pop("value_basis", None)
    received = START - timedelta(seconds=rng.randint(600, 30 * 86400))
    status = rng.choices(list(HISTORY_STATUSES), weights=list(HISTORY_STATUSES.values()))[0]
    lead = {
        **fields,
        "id": world.new_id(),
        "status": status,
        "received_at": received,
        "contact_due_at": received + timedelta(days=1),
        "updated_at": received,
    }
    if status == "unassigned":
        return lead, []

    rules = rules_by_country.get(lead["country"], [])
    offers = []
    if rng.random() < 0.25:
        missed = rng.choice(("declined", "expired"))
        offers.append(offer_row(world, lead, picker.pick(lead["country"]), missed, received, rules))
    agent_id, at = picker.pick(lead["country"]), received + timedelta(minutes=20)
    if status == "offered":
        offers.append(
            offer_row(world, lead, agent_id, "pending", START - timedelta(minutes=5), rules)
        )
        return lead, offers
    offers.append(offer_row(world, lead, agent_id, "accepted", at, rules))
    lead.update(owner_id=agent_id, accepted_at=at)
    if status == "accepted":
        # Still open: the sweeper has already moved on any lead whose deadline passed.
        offers[-1]["contact_due_at"] = START + timedelta(minutes=rng.randint(1, 1440))
    if status in ("contacted", "won", "lost"):
        lead["first_contact_at"] = at + timedelta(hours=1)
    if status in ("won", "lost"):
        lead["closed_at"] = at + timedelta(days=rng.randint(1, 20))
    return lead, offers


def build_history(world: World, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    picker = AgentPicker(world)
    rules_by_country: dict[str, list[str]] = defaultdict(list)
    for rule in world.rules:
        for code in rule["conditions"].get("country", []):
            rules_by_country[code].append(rule["id"])

    leads, offers = [], []
    for number in range(1, count + 1):
        lead, its_offers = history_lead(world, number, picker, rules_by_country)
        leads.append(lead)
        offers.extend(its_offers)
    return leads, offers


# -- seeding --------------------------------------------------------------------------------


def columns_only(model: type[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop keys the model lacks, so the seed survives columns added or renamed meanwhile."""
    names = set(model.__table__.columns.keys())
    return [{k: v for k, v in row.items() if k in names} for row in rows]


async def insert_rows(
    factory: async_sessionmaker[AsyncSession], model: type[Any], rows: list[dict[str, Any]]
) -> None:
    async with factory() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(model), columns_only(model, rows[start : start + 2000]))
        await session.commit()


@dataclass
class Seeded:
    teams: int
    partners: int
    agents: int
    rules: int
    history_leads: int
    history_offers: int
    rotations: int
    seconds: float


async def seed(
    factory: async_sessionmaker[AsyncSession], args: argparse.Namespace
) -> tuple[World, Seeded]:
    world = World(random.Random(args.seed))
    started = time.perf_counter()
    teams = build_teams(world, max(1, args.agents // 50))
    partners = build_partners(world, max(1, args.agents // 250))
    agents = build_agents(world, args.agents)
    rules = build_rules(world, args.rules)
    rotations = build_rotations(world)
    leads, offers = build_history(world, args.history)

    for model, rows in (
        (Team, teams),
        (Partner, partners),
        (Agent, agents),
        (Rule, rules),
        (Rotation, rotations),
        (Lead, leads),
        (Offer, offers),
    ):
        await insert_rows(factory, model, rows)
    seeded = Seeded(
        len(teams),
        len(partners),
        len(agents),
        len(rules),
        len(leads),
        len(offers),
        len(rotations),
        time.perf_counter() - started,
    )
    return world, seeded


# -- statement accounting -------------------------------------------------------------------


IN_LIST = re.compile(r"\(\?(?:, \?)+\)")
SELECT_LIST = re.compile(r"^SELECT (.{60,}?) FROM ")


def normalize_sql(statement: str) -> str:
    """One shape per statement: whitespace folded, expanded IN lists and long column lists cut."""
    shape = IN_LIST.sub("(?, …)", " ".join(statement.split()))
    return SELECT_LIST.sub(_count_columns, shape, count=1)


def _count_columns(found: re.Match[str]) -> str:
    columns = found.group(1).count(",") + 1
    return f"SELECT <{columns} columns> FROM "  # noqa: S608 (a label to print, never run)


@dataclass
class StatementStats:
    count: int = 0
    total_ns: int = 0
    example: tuple[str, Any] | None = None


class StatementLog:
    """Counts and times every statement sent while ``recording`` is set: through the
    engine's cursor events, and those ``backend.direct`` hands to SQLite's driver."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.recording = False
        self.by_text: dict[str, StatementStats] = defaultdict(StatementStats)
        self.count = 0
        self.sql_ns = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)
        direct.observers.append(self._direct)

    @property
    def by_shape(self) -> dict[str, StatementStats]:
        """Statements by shape, folded once the run is over so that it costs nothing timed."""
        shapes: dict[str, StatementStats] = defaultdict(StatementStats)
        for statement, stats in self.by_text.items():
            shape = shapes[normalize_sql(statement)]
            shape.count += stats.count
            shape.total_ns += stats.total_ns
            shape.example = shape.example or stats.example
        return shapes

    def reset_decision(self) -> None:
        self.count, self.sql_ns = 0, 0

    def _before(
        self, conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        conn.info["bench_started_ns"] = time.perf_counter_ns()

    def _after(
        self, conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool
    ) -> None:
        spent = time.perf_counter_ns() - conn.info.pop("bench_started_ns")
        self._record(statement, params, spent)

    def _direct(self, statement: str, params: Sequence[Any], spent: int) -> None:
        self._record(statement, params, spent)

    def _record(self, statement: str, params: Any, spent: int) -> None:
        if not self.recording:
            return
        stats = self.by_text[statement]
        stats.count += 1
        stats.total_ns += spent
        stats.example = stats.example or (statement, params)
        self.count += 1
        self.sql_ns += spent


# -- the decisions --------------------------------------------------------------------------


@dataclass
class Decisions:
    total_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    routed: int = 0
    wall_s: float = 0.0
    # The machine's one-minute load average as the timed decisions began and ended.
    load: tuple[float, float] = (0.0, 0.0)


async def decide_once(
    factory: async_sessionmaker[AsyncSession], fields: dict[str, Any], now: datetime
) -> tuple[bool, float, float, float]:
    """One lead in its own transaction; answers (routed, total ns, commit ns, CPU ns).

    CPU time is the calling thread's: other processes on the machine do not count, and
    neither does a wait for SQLite's lock in the driver's own thread.
    """
    started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
    async with factory() as session:
        _lead, offer = await open_lead(session, fields, now, now)
        committing = time.perf_counter_ns()
        await session.commit()
    ended, cpu_ended = time.perf_counter_ns(), time.thread_time_ns()
    return offer is not None, ended - started, ended - committing, cpu_ended - cpu_started


async def run_decisions(
    factory: async_sessionmaker[AsyncSession],
    log: StatementLog,
    world: World,
    args: argparse.Namespace,
) -> Decisions:
    lead_columns = set(Lead.__table__.columns.keys())
    incoming = [lead_fields(world, 10_000_000 + n) for n in range(args.warmup + args.leads)]
    incoming = [{k: v for k, v in f.items() if k in lead_columns} for f in incoming]
    for number, fields in enumerate(incoming[: args.warmup]):
        await decide_once(factory, fields, START - STEP * (args.warmup - number))

    result = Decisions()
    log.recording = True
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    for number, fields in enumerate(incoming[args.warmup :]):
        log.reset_decision()
        timed = await decide_once(factory, fields, START + STEP * number)
        routed, total_ns, commit_ns, cpu_ns = timed
        result.routed += routed
        result.total_ms.append(total_ns / 1e6)
        result.cpu_ms.append(cpu_ns / 1e6)
        result.commit_ms.append(commit_ns / 1e6)
        result.sql_ms.append(log.sql_ns / 1e6)
        result.statements.append(log.count)
    result.wall_s = time.perf_counter() - started
    result.load = (load_before, os.getloadavg()[0])
    log.recording = False
    return result


async def decision_shapes(factory: async_sessionmaker[AsyncSession]) -> dict[str, float]:
    """Rules looked at, pools judged and candidate JSON written per timed decision."""
    async with factory() as session:
        query = select(Decision.rules_tried, Decision.candidates).where(Decision.at >= START)
        rows = (await session.execute(query)).all()
    looked = [len(r.rules_tried or []) for r in rows]
    matched = [sum(bool(t.get("matched")) for t in r.rules_tried or []) for r in rows]
    judged = [len(r.candidates or []) for r in rows]
    sizes = [len(json.dumps(r.candidates or [])) for r in rows]
    figures: dict[str, float] = {}
    for name, values in (("rules_looked_at", looked), ("rules_matched", matched),
                         ("candidates", judged), ("candidates_json_bytes", sizes)):  # fmt: skip
        figures[f"{name}_p50"] = percentile(values, 0.5)
        figures[f"{name}_max"] = max(values, default=0)
    return figures


# -- ceilings -------------------------------------------------------------------------------


async def time_each(count: int, step: Callable[[], Awaitable[None]]) -> list[float]:
    spent = []
    for _ in range(count):
        started = time.perf_counter_ns()
        await step()
        spent.append((time.perf_counter_ns() - started) / 1e6)
    return spent


async def measure_ceilings(factory: async_sessionmaker[AsyncSession], count: int) -> dict[str, Any]:
    async with factory() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS bench_rows (id TEXT, at TEXT)"))
        await session.commit()

    async with factory() as session:

        async def one_statement() -> None:
            await session.execute(text("SELECT 1"))

        statement = await time_each(count, one_statement)
        await session.commit()

    async def empty_transaction() -> None:
        async with factory() as session:
            await session.execute(text("SELECT 1"))
            await session.commit()

    async def one_row_write() -> None:
        async with factory() as session:
            await session.execute(
                text("INSERT INTO bench_rows VALUES (:id, :at)"),
                {"id": os.urandom(16).hex(), "at": datetime.now(UTC).isoformat()},
            )
            await session.commit()

    return {
        "one_statement": summary(statement),
        "empty_transaction": summary(await time_each(count, empty_transaction)),
        "one_row_write": summary(await time_each(count, one_row_write)),
    }


def measure_direct_statement(database: Path, count: int) -> dict[str, float]:
    """``SELECT 1`` through ``sqlite3`` in the calling thread: SQLite without the async driver."""
    connection = sqlite3.connect(database)
    spent = []
    for _ in range(count):
        started = time.perf_counter_ns()
        connection.execute("SELECT 1").fetchall()
        spent.append((time.perf_counter_ns() - started) / 1e6)
    connection.close()
    return summary(spent)


async def measure_contact_chase(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """One sweep of the contact chase with no deadline yet passed, as on most sweeps."""

    async def sweep() -> None:
        async with factory() as session:
            if await chase_overdue_contacts(session, now=START):
                raise RuntimeError("the bench's history holds no overdue contact")

    return summary(await time_each(20, sweep))


async def measure_roster_read(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What the first decision after a roster change pays: the snapshot read afresh."""

    async def read_all() -> None:
        async with factory() as session:
            await snapshot(session, None)

    return summary(await time_each(10, read_all))


# -- query plans ----------------------------------------------------------------------------


def query_plans(database: Path, log: StatementLog, shapes: Iterable[str]) -> dict[str, str]:
    """SQLite's plan for one recorded example of each statement shape."""
    plans = {}
    by_shape = log.by_shape
    with sqlite3.connect(database) as connection:
        for shape in shapes:
            example = by_shape[shape].example
            if example is None or not example[0].lstrip().upper().startswith(("SELECT", "UPDATE")):
                continue
            try:
                rows = connection.execute(f"EXPLAIN QUERY PLAN {example[0]}", example[1]).fetchall()
            except sqlite3.Error as exc:
                plans[shape] = f"(no plan: {exc})"
                continue
            plans[shape] = "; ".join(row[-1] for row in rows)
    return plans


# -- report ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.50), "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99), "max": max(values, default=0.0),
        "mean": sum(values) / len(values) if values else 0.0,
    }  # fmt: skip


def top_statements(log: StatementLog, decisions: int, limit: int) -> list[dict[str, Any]]:
    by_shape = log.by_shape
    ranked = sorted(by_shape.items(), key=lambda item: item[1].total_ns, reverse=True)
    total = sum(s.total_ns for s in by_shape.values()) or 1
    return [
        {"sql": shape, "total_ms": s.total_ns / 1e6, "share_of_sql": s.total_ns / total,
         "count": s.count, "per_decision": s.count / max(1, decisions),
         "mean_ms": s.total_ns / 1e6 / s.count}
        for shape, s in ranked[:limit]
    ]  # fmt: skip


def report(
    args: argparse.Namespace,
    seeded: Seeded,
    decisions: Decisions,
    shapes: dict[str, float],
    ceilings: dict[str, Any],
    roster: dict[str, Any],
    chase: dict[str, float],
    top: list[dict[str, Any]],
) -> dict[str, Any]:
    total = summary(decisions.total_ms)
    floor = ceilings["empty_transaction"]["p50"]
    return {
        "settings": {
            "agents": args.agents, "rules": args.rules, "leads": args.leads,
            "warmup": args.warmup, "seed": args.seed, "cpus": os.cpu_count(),
            "python": sys.version.split()[0], "sqlalchemy": sqlalchemy.__version__,
            "sqlite": sqlite3.sqlite_version,
        },
        "seeded": asdict(seeded),
        "decision_ms": total,
        "decision_cpu_ms": summary(decisions.cpu_ms),
        "commit_ms": summary(decisions.commit_ms),
        "sql_ms": summary(decisions.sql_ms),
        "decisions_per_s": len(decisions.total_ms) / decisions.wall_s,
        "load_average": decisions.load,
        "routed": decisions.routed,
        "unassigned": len(decisions.total_ms) - decisions.routed,
        "statements_per_decision": summary(decisions.statements),
        "decision_shapes": shapes,
        "ceilings_ms": ceilings,
        "roster_read_ms": roster,
        "contact_chase_ms": chase,
        "ratios": {
            "p99_to_goal": total["p99"] / GOAL_P99_MS,
            "p50_in_statements": total["p50"] / ceilings["one_statement"]["p50"],
            "p50_in_empty_transactions": total["p50"] / floor,
            "sql_share_of_time": sum(decisions.sql_ms) / sum(decisions.total_ms),
            "statement_floor_ms": percentile(decisions.statements, 0.5)
            * ceilings["one_statement"]["p50"],
        },
        "top_statements": top,
    }  # fmt: skip


def _row(label: str, figures: dict[str, float], unit: str = "ms") -> str:
    cells = "  ".join(f"{k} {figures[k]:8.3f}" for k in ("p50", "p95", "p99", "max"))
    return f"  {label:<34}{cells} {unit}"


def print_report(data: dict[str, Any]) -> None:
    s, seeded, ratios = data["settings"], data["seeded"], data["ratios"]
    print(
        f"{s['leads']:,} routing decisions (after {s['warmup']} warm-up), seed {s['seed']}; "
        f"{s['cpus']} CPUs, Python {s['python']}, SQLAlchemy {s['sqlalchemy']}, "
        f"SQLite {s['sqlite']}"
    )
    print(
        f"seeded {seeded['agents']:,} agents in {seeded['teams']} teams and {seeded['partners']} "
        f"partner companies, {seeded['rules']} rules, {seeded['history_leads']:,} leads with "
        f"{seeded['history_offers']:,} offers, {seeded['rotations']:,} rotation rows "
        f"({seeded['seconds']:.0f} s)"
    )
    print(_row("decision (open_lead + commit)", data["decision_ms"]))
    print(_row("  its thread's CPU time", data["decision_cpu_ms"]))
    print(_row("  of which commit()", data["commit_ms"]))
    print(_row("  of which inside SQL statements", data["sql_ms"]))
    print(_row("statements per decision", data["statements_per_decision"], ""))
    shapes = data["decision_shapes"]
    print(
        f"  {data['decisions_per_s']:.1f} decisions/s sequential; {data['routed']:,} offered, "
        f"{data['unassigned']:,} unassigned; load average {data['load_average'][0]:.2f} "
        f"before, {data['load_average'][1]:.2f} after"
    )
    print(
        f"  per decision: rules looked at p50 {shapes['rules_looked_at_p50']:.0f} "
        f"(max {shapes['rules_looked_at_max']}), matched so their pool was judged p50 "
        f"{shapes['rules_matched_p50']:.0f} (max {shapes['rules_matched_max']}); candidates "
        f"recorded p50 {shapes['candidates_p50']:.0f} (max {shapes['candidates_max']}), "
        f"{shapes['candidates_json_bytes_p50'] / 1024:.1f} KiB of JSON "
        f"(max {shapes['candidates_json_bytes_max'] / 1024:.0f} KiB)"
    )
    print("ceilings: SQLite alone, then through the app's engine and session")
    for key, label in (
        ("one_statement_sqlite3", "SELECT 1, sqlite3 in-process"),
        ("one_statement", "one statement (SELECT 1)"),
        ("empty_transaction", "empty transaction"),
        ("one_row_write", "one-row write transaction"),
    ):
        print(_row(label, data["ceilings_ms"][key]))
    print(_row(f"roster snapshot ({seeded['agents']:,} + rules)", data["roster_read_ms"]))
    print(_row("contact chase sweep, none due", data["contact_chase_ms"]))
    print(
        f"goal      p99 {data['decision_ms']['p99']:.1f} ms = {ratios['p99_to_goal']:.1f}x the "
        f"{GOAL_P99_MS:.0f} ms goal; p50 = {ratios['p50_in_statements']:.0f} bare statements = "
        f"{ratios['p50_in_empty_transactions']:.0f} empty transactions"
    )
    print(
        f"          CPU time p99 {data['decision_cpu_ms']['p99']:.1f} ms; an empty transaction's "
        f"p99 in the same run {data['ceilings_ms']['empty_transaction']['p99']:.1f} ms"
    )
    print(
        f"          {ratios['sql_share_of_time']:.0%} of decision time is inside SQL statements; "
        f"p50 statements x one statement = {ratios['statement_floor_ms']:.1f} ms of round trips"
    )
    print("top statements by total time (per decision = count / decisions)")
    print(f"  {'total ms':>9} {'share':>6} {'count':>7} {'per dec':>7} {'mean ms':>8}  statement")
    for item in data["top_statements"]:
        print(
            f"  {item['total_ms']:9.0f} {item['share_of_sql']:6.1%} {item['count']:7d} "
            f"{item['per_decision']:7.2f} {item['mean_ms']:8.3f}  {item['sql'][:150]}"
        )
        if item.get("plan"):
            print(f"  {'':>41}  plan: {item['plan'][:200]}")


# -- main -----------------------------------------------------------------------------------


async def measure(url: str, database: Path, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(url)
    factory = session_factory(engine)
    log = StatementLog(engine)
    try:
        world, seeded = await seed(factory, args)
        print(f"seeded in {seeded.seconds:.0f} s; routing…", file=sys.stderr)
        decisions = await run_decisions(factory, log, world, args)
        shapes = await decision_shapes(factory)
        ceilings = await measure_ceilings(factory, args.ceiling_count)
        roster = await measure_roster_read(factory)
        chase = await measure_contact_chase(factory)
    finally:
        await engine.dispose()

    ceilings["one_statement_sqlite3"] = measure_direct_statement(database, args.ceiling_count)
    top = top_statements(log, len(decisions.total_ms), args.top)
    plans = query_plans(database, log, [item["sql"] for item in top])
    for item in top:
        item["plan"] = plans.get(item["sql"])
    return report(args, seeded, decisions, shapes, ceilings, roster, chase, top)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time routing decisions against SQLite's floor.")
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--leads", type=int, default=2000, help="timed routing decisions")
    parser.add_argument("--history", type=int, default=20_000, help="leads already routed")
    parser.add_argument("--warmup", type=int, default=50, help="untimed decisions first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ceiling-count", type=int, default=1000, help="runs per ceiling")
    parser.add_argument("--top", type=int, default=10, help="statements listed by total time")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Unassigned leads log a warning each; printing thousands of them would be timed too.
    logging.disable(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="pursuit-bench-routing-"))
    database = workdir / "bench.db"
    url = f"sqlite+aiosqlite:///{database}"
    try:
        upgrade_database(url)
        data = asyncio.run(measure(url, database, args))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
