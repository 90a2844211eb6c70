"""``build_demo``: the Olist sample replayed into a fresh database, and what it prints.

The build runs its own event loop, so these tests are synchronous and read the result
with ``asyncio.run``. They replay only the first leads of the sample to stay quick.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.access.service import agent_for_link
from backend.db import create_engine, session_factory
from backend.demo import build_demo
from backend.errors import Conflict
from backend.pursuit.models import Lead, Offer
from backend.reports.service import summary
from backend.roster.models import Agent, Partner, Team
from backend.routing.models import Decision
from backend.settings import Settings

POSTGRES_URL = os.environ.get("PURSUIT_TEST_POSTGRES_URL")
LIMIT = 200
FRESH_OFFERS = 6
BASE_URL = "http://demo.test"
REP_LINE = re.compile(
    r"^Rep app \((?P<kind>employee|partner rep) (?P<name>[^,)]+)(?:, (?P<partner>[^)]+))?\): "
    rf"{re.escape(BASE_URL)}/r/(?P<token>\S+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class BuiltDemo:
    settings: Settings
    output: str


@dataclass(frozen=True)
class Facts:
    leads: int
    leads_without_decision: int
    pending_agent_ids: list[str]
    lrl: float
    linked: dict[str, Agent]
    partner_names: dict[str, str]


def demo_settings(directory: Path) -> Settings:
    return Settings.from_env(
        var_dir=directory,
        database_url=f"sqlite+aiosqlite:///{directory / 'demo.db'}",
        secret_key="x",
        base_url=BASE_URL,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltDemo:
    settings = demo_settings(tmp_path_factory.mktemp("demo"))
    return BuiltDemo(settings, build_demo(settings, limit=LIMIT))


async def read_facts(url: str, tokens: list[str]) -> Facts:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            decided = select(Decision.lead_id).distinct()
            pending = select(Offer.agent_id).where(Offer.status == "pending")
            linked = {}
            for token in tokens:
                agent_id = await agent_for_link(session, token)
                linked[token] = await session.get(Agent, agent_id) if agent_id else None
            partners = await session.execute(select(Partner.id, Partner.name))
            return Facts(
                leads=await session.scalar(select(func.count()).select_from(Lead)) or 0,
                leads_without_decision=await session.scalar(
                    select(func.count()).select_from(Lead).where(Lead.id.not_in(decided))
                )
                or 0,
                pending_agent_ids=list((await session.scalars(pending)).all()),
                lrl=(await summary(session)).lrl,
                linked={token: agent for token, agent in linked.items() if agent is not None},
                partner_names=dict(partners.tuples().all()),
            )
    finally:
        await engine.dispose()


def rep_links(output: str) -> dict[str, dict[str, str | None]]:
    return {match["kind"]: match.groupdict() for match in REP_LINE.finditer(output)}


def test_build_demo_replays_sample_plus_fresh_offers(built: BuiltDemo) -> None:
    links = rep_links(built.output)

    facts = asyncio.run(
        read_facts(built.settings.database_url, [str(link["token"]) for link in links.values()])
    )

    assert facts.leads == LIMIT + FRESH_OFFERS
    assert facts.leads_without_decision == 0
    assert facts.lrl > 0
    assert len(facts.pending_agent_ids) == FRESH_OFFERS
    assert {a.id for a in facts.linked.values()} == set(facts.pending_agent_ids)


def test_build_demo_prints_console_login(built: BuiltDemo) -> None:
    console = re.search(r"^Console: (\S+)  login (\S+) / (\S+)$", built.output, re.MULTILINE)

    assert console is not None
    assert console.group(1) == f"{BASE_URL}/console"
    assert console.group(2) == "manager@demo.pursuit.example"
    assert len(console.group(3)) == 12


def test_build_demo_links_open_the_named_reps(built: BuiltDemo) -> None:
    links = rep_links(built.output)
    tokens = [str(link["token"]) for link in links.values()]

    facts = asyncio.run(read_facts(built.settings.database_url, tokens))

    employee, partner_rep = links["employee"], links["partner rep"]
    employee_agent = facts.linked[str(employee["token"])]
    partner_agent = facts.linked[str(partner_rep["token"])]
    assert (employee_agent.name, employee_agent.kind) == (employee["name"], "employee")
    assert (partner_agent.name, partner_agent.kind) == (partner_rep["name"], "partner")
    assert facts.partner_names[str(partner_agent.partner_id)] == partner_rep["partner"]
    assert facts.pending_agent_ids.count(employee_agent.id) == 3
    assert facts.pending_agent_ids.count(partner_agent.id) == 3


def test_build_demo_headline_counts_replayed_and_fresh_leads(built: BuiltDemo) -> None:
    headline = built.output.splitlines()[0]

    assert headline.startswith(
        f"Demo built from {LIMIT} real Olist leads: {LIMIT + FRESH_OFFERS} leads, "
    )


def test_build_demo_over_a_built_demo_builds_the_same_again(
    built: BuiltDemo, tmp_path: Path
) -> None:
    source = built.settings.var_dir
    for path in source.glob("demo.db*"):
        shutil.copy(path, tmp_path / path.name)
    settings = demo_settings(tmp_path)

    output = build_demo(settings, limit=LIMIT)

    facts = asyncio.run(read_facts(settings.database_url, []))
    assert facts.leads == LIMIT + FRESH_OFFERS
    assert output.splitlines()[0] == built.output.splitlines()[0]


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PURSUIT_TEST_POSTGRES_URL")
def test_build_demo_refuses_postgres_with_data(postgres_database: str, tmp_path: Path) -> None:
    async def add_team() -> None:
        engine = create_engine(postgres_database)
        async with session_factory(engine)() as session:
            session.add(Team(name="Already here"))
            await session.commit()
        await engine.dispose()

    asyncio.run(add_team())
    settings = Settings.from_env(
        var_dir=tmp_path, database_url=postgres_database, secret_key="x", base_url=BASE_URL
    )

    with pytest.raises(Conflict, match="already holds data"):
        build_demo(settings, limit=1)
