"""The demo's sales organisation: teams, partners, reps, rules and lead values.

The Olist deals name 32 sales development reps (SDRs) and the sales reps (SRs)
who closed. Each SDR becomes an employee; SRs who never worked as SDRs become
partner reps. The data has no names or places, so names come from a fixed list
and territories from a fixed plan.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.intake.olist import Deal
from backend.intake.service import set_expected_value
from backend.roster.service import create_agent, create_partner, create_team
from backend.routing.service import create_rule

logger = logging.getLogger(__name__)

EMAIL_DOMAIN = "demo.pursuit.example"
TIMEZONE = "America/Sao_Paulo"
CAPACITY = 30
LEAD_CAPACITY = 40
ACCEPT_TIMEOUT_S = 4 * 3600
CONTACT_TIMEOUT_S = 48 * 3600
PARTNER_SOURCES = ["paid_search", "social"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE_HOURS = {day: [["08:00", "18:00"]] for day in WEEKDAYS}
PARTNER_REPS_EACH = 4

SP, SOUTH = "Inside sales SP", "Inside sales South"
NORTH_EAST = "Inside sales North/East"
# The states each team covers. SDRs are dealt out in the cycle below, so São
# Paulo, with about 60% of the leads, gets half of them.
TEAMS = {
    SP: ["SP"],
    SOUTH: ["PR", "SC", "RS"],
    NORTH_EAST: ["MG", "RJ", "ES", "DF", "GO", "BA", "PE", "CE"],
}
TEAM_CYCLE = (SP, SOUTH, SP, NORTH_EAST)
PARTNERS = ("Parceiro Digital", "Varejo Pro")

EMPLOYEE_NAMES = (
    "Ana Souza", "Bruno Almeida", "Camila Ribeiro", "Diego Carvalho",
    "Eduarda Lima", "Felipe Araújo", "Gabriela Rocha", "Henrique Barbosa",
    "Isabela Martins", "João Pereira", "Karina Gomes", "Lucas Fernandes",
    "Mariana Costa", "Nicolas Teixeira", "Otávio Mendes", "Patrícia Moreira",
    "Rafael Cardoso", "Sabrina Nunes", "Thiago Correia", "Vanessa Pinto",
    "Wagner Dias", "Yasmin Freitas", "Caio Monteiro", "Beatriz Castro",
    "Leonardo Vieira", "Juliana Azevedo", "Marcelo Cunha", "Larissa Campos",
    "Rodrigo Batista", "Fernanda Lopes", "Gustavo Ramos", "Letícia Moura",
)  # fmt: skip
PARTNER_REP_NAMES = (
    "Paulo Santana", "Renata Farias", "Sérgio Tavares", "Tatiane Rezende",
    "André Macedo", "Cláudia Pacheco", "Fábio Queiroz", "Priscila Xavier",
)  # fmt: skip

# Demo assumptions, in BRL: what an inquiry from each source is expected to be
# worth when it states no revenue of its own. ``None`` is every other source.
EXPECTED_VALUES: dict[str | None, float] = {
    "referral": 4000.0,
    "direct_traffic": 3500.0,
    "organic_search": 3000.0,
    "paid_search": 2500.0,
    "email": 2000.0,
    "social": 1500.0,
    "display": 1000.0,
    None: 1500.0,
}


@dataclass(frozen=True)
class DemoAgent:
    id: str
    olist_id: str
    name: str
    kind: str
    group: str
    is_lead: bool = False
    always_available: bool = True


@dataclass
class DemoRoster:
    agents: list[DemoAgent] = field(default_factory=list)
    team_ids: dict[str, str] = field(default_factory=dict)
    partner_ids: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[DemoAgent]:
        return [agent for agent in self.agents if agent.kind == kind]


def by_volume(ids: Iterable[str]) -> list[str]:
    """Distinct ids, most deals first; ties by id so the order never changes."""
    counts = Counter(ids)
    return sorted(counts, key=lambda rep_id: (-counts[rep_id], rep_id))


def email_for(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return f"{'.'.join(plain.lower().split())}@{EMAIL_DOMAIN}"


def agent_values(name: str, regions: list[str], capacity: int, always: bool) -> dict[str, Any]:
    territories = [{"country": "BR", "region": region} for region in regions]
    return {
        "name": name,
        "email": email_for(name),
        "territories": territories or [{"country": "BR"}],
        "languages": ["pt"],
        "capacity": capacity,
        "timezone": TIMEZONE,
        "working_hours": None if always else OFFICE_HOURS,
    }


async def build_roster(session: AsyncSession, deals: list[Deal]) -> DemoRoster:
    """Teams with their SDRs, then partners with their reps.

    The busiest SDR of each team leads it.
    """
    sdr_ids = by_volume(deal.sdr_id for deal in deals)
    sr_ids = [i for i in by_volume(deal.sr_id for deal in deals) if i not in sdr_ids]
    roster = DemoRoster()

    for number, olist_id in enumerate(sdr_ids):
        team = TEAM_CYCLE[number % len(TEAM_CYCLE)]
        if team not in roster.team_ids:
            roster.team_ids[team] = (await create_team(session, team)).id
        roster.agents.append(await _employee(session, roster, olist_id, number, team))

    for number, olist_id in enumerate(sr_ids[: PARTNER_REPS_EACH * len(PARTNERS)]):
        partner = PARTNERS[number % len(PARTNERS)]
        if partner not in roster.partner_ids:
            roster.partner_ids[partner] = (await create_partner(session, partner)).id
        roster.agents.append(await _partner_rep(session, roster, olist_id, number, partner))

    logger.info("demo roster built agents=%d", len(roster.agents))
    return roster


async def _employee(
    session: AsyncSession, roster: DemoRoster, olist_id: str, number: int, team: str
) -> DemoAgent:
    is_lead = number == TEAM_CYCLE.index(team)
    always = number % 7 != 5  # a few keep office hours, for routing to work around
    capacity = LEAD_CAPACITY if is_lead else CAPACITY
    values = agent_values(EMPLOYEE_NAMES[number], TEAMS[team], capacity, always)
    values.update(kind="employee", team_id=roster.team_ids[team])
    agent = await create_agent(session, values)
    return DemoAgent(agent.id, olist_id, agent.name, "employee", team, is_lead, always)


async def _partner_rep(
    session: AsyncSession, roster: DemoRoster, olist_id: str, number: int, partner: str
) -> DemoAgent:
    always = number != PARTNER_REPS_EACH * len(PARTNERS) - 1
    values = agent_values(PARTNER_REP_NAMES[number], [], CAPACITY, always)
    values.update(kind="partner", partner_id=roster.partner_ids[partner])
    agent = await create_agent(session, values)
    return DemoAgent(agent.id, olist_id, agent.name, "partner", partner, False, always)


async def build_rules(session: AsyncSession, roster: DemoRoster) -> None:
    """Partners take paid and social leads, teams their states, everyone the rest.

    An offer left to expire escalates from a first rule to everyone, and from
    everyone to the team leads.
    """
    leads = {"agent_ids": [agent.id for agent in roster.agents if agent.is_lead]}
    partners = {"partner_ids": list(roster.partner_ids.values())}
    everyone = {"team_ids": list(roster.team_ids.values()), **partners}
    top = await _rule(session, "Escalation: team leads", 900, leads, "least_loaded")
    rest = await _rule(session, "Everyone else", 100, everyone, "least_loaded", top)

    paid = {"source": PARTNER_SOURCES}
    name = "Paid and social to partners"
    await _rule(session, name, 10, partners, "least_loaded", rest, paid)
    for number, (team, regions) in enumerate(TEAMS.items(), start=2):
        pool = {"team_ids": [roster.team_ids[team]]}
        states = {"country": ["BR"], "region": regions}
        name = f"{team} territory"
        await _rule(session, name, number * 10, pool, "round_robin", rest, states)


async def _rule(
    session: AsyncSession,
    name: str,
    priority: int,
    pool: dict[str, list[str]],
    strategy: str,
    escalate_to: str | None = None,
    conditions: dict[str, list[str]] | None = None,
) -> str:
    values = {"name": name, "priority": priority, "pool": pool, "strategy": strategy}
    values.update(conditions=conditions or {}, escalate_to_rule_id=escalate_to)
    values.update(accept_timeout_s=ACCEPT_TIMEOUT_S, contact_timeout_s=CONTACT_TIMEOUT_S)
    return (await create_rule(session, values)).id


async def set_lead_values(session: AsyncSession) -> None:
    for source, value in EXPECTED_VALUES.items():
        await set_expected_value(session, value, "BRL", source=source)
