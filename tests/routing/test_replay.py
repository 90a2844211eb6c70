"""What-if replay: stored leads through proposed rules and roster, with nothing saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.models import Base
from backend.pursuit.models import Lead
from backend.roster.models import Agent
from backend.routing.models import Rule
from backend.routing.replay import (
    BadProposal,
    Proposal,
    ReplayFacts,
    ReplayReport,
    parse_proposal,
    replay,
)
from backend.routing.service import Choice
from tests.factories import Client, link_for, make_agent, make_rule, post_lead

START = datetime(2026, 1, 5, tzinfo=UTC)
END = START + timedelta(days=1)


def at(hour: int, day: int = 5) -> str:
    return datetime(2026, 1, day, hour, tzinfo=UTC).isoformat()


async def stored_leads(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Really: Brazil goes to Ana, who accepted L1; the US lead L3 went unassigned.

    Five leads on 5 January 2026 (L1-L3 solar, L4 and L5 wind; L3 from the US) and one
    the day after, outside the replayed period.
    """
    ana = await make_agent(client, auth, "Ana", capacity=10)
    bruno = await make_agent(client, auth, "Bruno", capacity=10)
    carla = await make_agent(client, auth, "Carla", capacity=5)
    await make_rule(client, auth, "Brazil", [ana], conditions={"country": ["BR"]})
    leads = [
        ("L1", 9, {"product": "solar"}),
        ("L2", 10, {"product": "solar"}),
        ("L3", 11, {"product": "solar", "country": "US"}),
        ("L4", 12, {"product": "wind"}),
        ("L5", 13, {"product": "wind"}),
    ]
    first = None
    for number, (name, hour, fields) in enumerate(leads, start=1):
        answer = await post_lead(
            client, auth, name, received_at=at(hour), phone=f"+55 11 99123-000{number}", **fields
        )
        first = first or answer
    await post_lead(client, auth, "L6", received_at=at(9, day=6), phone="+55 11 99123-0009")
    assert first is not None
    accepted = await client.post(
        f"/api/v1/offers/{first['offer']['id']}/accept", headers=await link_for(client, auth, ana)
    )
    assert accepted.status_code == 200, accepted.text
    return {"ana": ana, "bruno": bruno, "carla": carla}


def proposal_file(ids: dict[str, str], **agents: dict[str, Any]) -> str:
    rules = [
        {
            "name": "Rest",
            "priority": 20,
            "pool": {"agent_ids": [ids["carla"]]},
            "strategy": "least_loaded",
        },
        {
            "name": "Solar",
            "priority": 10,
            "conditions": {"product": ["solar"]},
            "pool": {"agent_ids": [ids["ana"], ids["bruno"]]},
        },
    ]
    changes = [{"id": ids[name], **change} for name, change in agents.items()]
    return json.dumps({"rules": rules, "agents": changes})


def by_agent(report: ReplayReport) -> dict[str, tuple[int, int, int, int]]:
    return {
        a.name: (a.proposed_offered, a.proposed_owned, a.actual_offered, a.actual_owned)
        for a in report.agents
    }


async def test_replay_counts_rules_agents_and_unassigned(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await stored_leads(client, auth)
    # Carla may hold one open lead: L4 takes it, so L5 finds nobody.
    proposal = parse_proposal(proposal_file(ids, carla={"capacity": 1}))

    async with sessions() as session:
        report = await replay(session, proposal, START, END)

    assert report.leads == 5
    assert [(r.name, r.leads) for r in report.rules] == [("Solar", 3), ("Rest", 1)]
    # Round robin: L1 Ana, L2 Bruno, L3 Ana. Really Ana was offered L1, L2, L4 and L5.
    assert by_agent(report) == {"Ana": (2, 2, 4, 1), "Bruno": (1, 1, 0, 0), "Carla": (1, 1, 0, 0)}
    assert (report.unassigned_proposed, report.unassigned_actual) == (1, 1)


async def test_replay_leaves_out_a_lead_merged_into_another(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await stored_leads(client, auth)
    kept = await post_lead(client, auth, "M1", received_at=at(14), phone="+55 11 99123-0021")
    gone = await post_lead(client, auth, "M2", received_at=at(15), phone="+55 11 99123-0022")
    merged = await client.post(
        f"/api/v1/leads/{kept['lead_id']}/merge",
        json={"from_lead_id": gone["lead_id"]},
        headers=auth,
    )

    async with sessions() as session:
        report = await replay(session, parse_proposal(proposal_file(ids)), START, END)

    assert merged.status_code == 200
    assert report.leads == 6


async def test_replay_with_an_agent_deactivated_gives_the_pool_to_the_rest(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await stored_leads(client, auth)
    proposal = parse_proposal(proposal_file(ids, bruno={"active": False}))

    async with sessions() as session:
        report = await replay(session, proposal, START, END)

    assert by_agent(report) == {"Ana": (3, 3, 4, 1), "Bruno": (0, 0, 0, 0), "Carla": (2, 2, 0, 0)}
    assert report.unassigned_proposed == 0


async def test_replay_changes_nothing_stored(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await stored_leads(client, auth)
    proposal = parse_proposal(proposal_file(ids, carla={"capacity": 1}, bruno={"active": False}))

    async def snapshot() -> dict[str, Any]:
        async with sessions() as session:
            counts = {
                t.name: await session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables
            }
            agents = await session.execute(select(Agent.id, Agent.capacity, Agent.active))
            return {"counts": counts, "agents": sorted(agents.tuples().all())}

    before = await snapshot()
    async with sessions() as session:
        await replay(session, proposal, START, END)
    after = await snapshot()

    assert after == before
    assert before["counts"]["leads"] == 6


async def test_replay_gives_a_returning_prospect_to_the_same_agent(
    client: Client, auth: dict[str, str], sessions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a coalescing window the return is a lead of its own, as after a closed lead.
    monkeypatch.setenv("PURSUIT_COALESCE_WINDOW_DAYS", "0")
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    for name, hour in (("R1", 9), ("R2", 10)):
        await post_lead(client, auth, name, received_at=at(hour), email="same@example.org")
    rule = {"name": "All", "pool": {"agent_ids": [ana, bruno]}}

    async with sessions() as session:
        report = await replay(session, parse_proposal(json.dumps([rule])), START, END)

    assert by_agent(report) == {"Ana": (2, 2, 0, 0), "Bruno": (0, 0, 0, 0)}


def agent(name: str, **fields: Any) -> Agent:
    values = {"capacity": 1, "timezone": "UTC", "active": True, "tier": 1, "weight": 1}
    return Agent(id=name, name=name, created_at=START, **{**values, **fields})


def routed(facts: ReplayFacts, who: Agent, closed_at: datetime | None = None) -> None:
    """Record one lead given to ``who`` at the replay's clock, closing at ``closed_at``."""
    lead = Lead(id=f"lead-{facts.now:%H%M}", closed_at=closed_at, email=None, phone=None)
    facts.record(lead, Choice(Rule(id="rule", strategy="round_robin"), [who]))


async def test_replay_facts_free_capacity_when_the_real_lead_closed() -> None:
    ana = agent("ana")
    facts = ReplayFacts([ana], {})
    facts.advance(START)
    routed(facts, ana, closed_at=START + timedelta(hours=2))

    facts.advance(START + timedelta(hours=1))
    busy = await facts.standing([ana], facts.now)
    facts.advance(START + timedelta(hours=2))
    free = await facts.standing([ana], facts.now)

    assert (busy.loads, free.loads) == ({"ana": 1}, {"ana": 0})


async def test_replay_facts_count_todays_offers_in_the_agents_zone() -> None:
    # 23:30 UTC on 5 January is already 6 January in Tokyo, so the earlier offer is yesterday's.
    ana = agent("ana", daily_cap=3, timezone="Asia/Tokyo")
    facts = ReplayFacts([ana], {})
    for hour in (10, 16):
        facts.advance(START + timedelta(hours=hour))
        routed(facts, ana)

    standing = await facts.standing([ana], START + timedelta(hours=23, minutes=30))

    assert standing.offered_today == {"ana": 1}


RULE = '{"name": "x", "pool": {"agent_ids": ["a"]}}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "The file is not JSON: Expecting property name enclosed in double quotes"),
        ("[]", "The file proposes no rules."),
        ('{"rules": [], "roster": []}', "Unknown section roster; use rules and agents."),
        ('[{"priority": 1}]', "Rule 1: Object missing required field `name`."),
        ('[{"name": "x", "strategy": "coin"}]', "Rule 1: Strategy 'coin' is not one of"),
        ('[{"name": "x", "conditions": {"colour": ["red"]}}]', "Rule 1: Unknown rule condition"),
        ('[{"name": "x"}]', "Rule 1: A rule's pool needs at least one of agent_ids"),
        (f'{{"rules": [{RULE}], "agents": [{{"capacity": 3}}]}}', "Agent change 1 needs"),
        (
            f'{{"rules": [{RULE}], "agents": [{{"id": "a", "capacity": -1}}]}}',
            "Agent change 1: capacity must be a whole number from 0 to 1,000,000.",
        ),
        (
            f'{{"rules": [{RULE}], "agents": [{{"id": "a", "email": "b@c.d"}}]}}',
            "Agent change 1: cannot change email; use active, capacity",
        ),
    ],
)
def test_parse_proposal_refuses_a_bad_file(text: str, message: str) -> None:
    with pytest.raises(BadProposal) as caught:
        parse_proposal(text)

    assert caught.value.message.startswith(message)


def test_parse_proposal_orders_rules_by_priority_then_file_order() -> None:
    pool = {"agent_ids": ["a"]}
    named = [("b", {"priority": 5}), ("a", {}), ("c", {"priority": 5})]
    text = json.dumps([{"name": name, "pool": pool, **more} for name, more in named])

    proposal = parse_proposal(text)

    assert isinstance(proposal, Proposal)
    assert [(r.id, r.name) for r in proposal.rules] == [
        ("proposed-1", "b"),
        ("proposed-3", "c"),
        ("proposed-2", "a"),
    ]


async def test_replay_refuses_a_pool_naming_an_unknown_agent(sessions: Any) -> None:
    proposal = parse_proposal(json.dumps([{"name": "x", "pool": {"agent_ids": ["nobody"]}}]))

    async with sessions() as session:
        with pytest.raises(BadProposal) as caught:
            await replay(session, proposal, START, END)

    assert caught.value.message == ("Rule 'x': the pool names agent nobody, which does not exist.")


async def test_replay_of_a_score_rule_draws_the_same_twice(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await stored_leads(client, auth)
    scored = json.loads(proposal_file(ids))
    for rule in scored["rules"]:
        rule["strategy"] = "score"
    proposal = parse_proposal(json.dumps(scored))

    async with sessions() as session:
        first = await replay(session, proposal, START, END)
    async with sessions() as session:
        second = await replay(session, proposal, START, END)

    assert by_agent(first) == by_agent(second)
    assert sum(a.proposed_offered for a in first.agents) == 5
