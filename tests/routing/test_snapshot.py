"""The roster snapshot's pools, worked out without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.roster.models import Agent
from backend.routing.records import RosterAgent
from backend.routing.snapshot import Snapshot

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def agent(name: str, minute: int, team: str | None, partner: str | None) -> RosterAgent:
    at = T0 + timedelta(minutes=minute)
    return RosterAgent.of(
        Agent(id=name, name=name, team_id=team, partner_id=partner, created_at=at, timezone="UTC")
    )


def test_snapshot_pool_names_agents_teams_and_partners_oldest_first() -> None:
    roster = [
        agent("ana", 3, "north", None),
        agent("bea", 1, "south", None),
        agent("cai", 2, None, "acme"),
        agent("dan", 0, "north", "acme"),
        agent("eve", 4, None, None),
    ]
    kept = Snapshot("v1", {a.id: a for a in roster}, {}, {})
    pool = {"agent_ids": ["eve", "ana", "gone"], "team_ids": ["north"], "partner_ids": ["acme"]}

    members = kept.pool(pool)

    assert [a.id for a in members] == ["dan", "cai", "ana", "eve"]
    assert kept.pool({"team_ids": ["south"]}) == [roster[1]]
    assert kept.pool({"partner_ids": ["nobody"]}) == []
