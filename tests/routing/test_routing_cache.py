"""The in-process roster snapshot, the roster version that guards it, and rotation rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.pursuit import service
from backend.roster.models import Agent
from backend.roster.service import create_partner, create_team, update_agent
from backend.routing.eligibility import Clock
from backend.routing.facts import DatabaseFacts
from backend.routing.models import Rotation
from backend.routing.records import RosterAgent
from backend.routing.service import record_turn
from backend.routing.snapshot import version_query
from backend.routing.strategies import Turn
from tests.factories import add_agent, add_rule, submit

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday
Sessions = async_sessionmaker[AsyncSession]


async def snapshot_of(sessions: Sessions) -> object:
    async with sessions() as session:
        return await DatabaseFacts(session).snapshot()


async def version_of(session: AsyncSession) -> str | None:
    version: str | None = await session.scalar(version_query())
    return version


async def test_snapshot_is_reused_while_the_roster_is_unchanged(sessions: Sessions) -> None:
    async with sessions() as session:
        await add_rule(session, "All", [await add_agent(session, "Ana")])

    first, second = await snapshot_of(sessions), await snapshot_of(sessions)

    assert first is second


async def test_snapshot_is_read_again_after_any_roster_write(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
    before = await snapshot_of(sessions)

    async with sessions() as session:
        await create_team(session, "North")
        await create_partner(session, "Acme")
        await update_agent(session, ana, {"capacity": 3})
    after = await snapshot_of(sessions)

    assert after is not before
    assert after.agents[ana].capacity == 3  # type: ignore[attr-defined]


async def test_routing_notices_an_agent_deactivated_through_the_service(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana, bea = await add_agent(session, "Ana"), await add_agent(session, "Bea")
        await add_rule(session, "All", [ana, bea], strategy="least_loaded")
        first = await submit(session, "L1", T0)
        assert first.offer is not None
        await update_agent(session, first.offer.agent_id, {"active": False})

        second = await submit(session, "L2", T0 + timedelta(minutes=1))
        third = await submit(session, "L3", T0 + timedelta(minutes=2))

    assert second.offer is not None and third.offer is not None
    assert {second.offer.agent_id, third.offer.agent_id} == {ana, bea} - {first.offer.agent_id}


async def test_routing_notices_roster_and_rule_changes_made_in_plain_sql(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana, bea = await add_agent(session, "Ana"), await add_agent(session, "Bea")
        first_rule = await add_rule(session, "Ana only", [ana], priority=1)
        await add_rule(session, "Bea only", [bea], priority=2)
        assert (await submit(session, "L1", T0)).offer.agent_id == ana  # type: ignore[union-attr]

        await session.execute(
            text("UPDATE rules SET active = :off WHERE id = :id"), {"off": False, "id": first_rule}
        )
        await session.commit()
        second = await submit(session, "L2", T0 + timedelta(minutes=1))

    assert second.offer is not None and second.offer.agent_id == bea


async def test_snapshot_read_inside_a_rolled_back_change_is_not_kept(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
        committed = await version_of(session)
        await session.commit()

        await session.execute(text("UPDATE agents SET capacity = 0 WHERE id = :id"), {"id": ana})
        inside = await DatabaseFacts(session).snapshot()
        await session.rollback()

        after = await DatabaseFacts(session).snapshot()
        assert await version_of(session) == committed

    assert inside.agents[ana].capacity == 0
    assert after is not inside and after.agents[ana].capacity == 25


async def test_snapshot_copies_are_untouched_by_a_session_editing_the_agent(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana")
        kept = await DatabaseFacts(session).snapshot()

        await update_agent(session, ana, {"name": "Ana Maria"})

    assert kept.agents[ana].name == "Ana"


async def test_snapshot_parses_each_agent_once_and_again_after_a_roster_write(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", working_hours={"mon": [["09:00", "10:00"]]})
        parsed = (await DatabaseFacts(session).snapshot()).agents[ana].profile
        assert (await DatabaseFacts(session).snapshot()).agents[ana].profile is parsed

        await update_agent(session, ana, {"working_hours": {"mon": [["11:00", "13:00"]]}})
        after = await DatabaseFacts(session).snapshot()

    assert after.agents[ana].profile is not parsed
    assert after.agents[ana].profile.unavailability(Clock(T0), 0, 0) == []


async def test_changed_working_hours_reach_the_next_decision(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", working_hours={"mon": [["09:00", "10:00"]]})
        await add_rule(session, "All", [ana])
        closed = await submit(session, "L1", T0)

        await update_agent(session, ana, {"working_hours": {"mon": [["11:00", "13:00"]]}})
        opened = await submit(session, "L2", T0 + timedelta(minutes=1))

    assert closed.offer is None
    assert opened.offer is not None and opened.offer.agent_id == ana


async def test_delegate_outside_the_pool_comes_from_the_snapshot(sessions: Sessions) -> None:
    async with sessions() as session:
        stand_in = await add_agent(session, "Cai")
        ana = await add_agent(
            session, "Ana", delegate_id=stand_in, out_of_office_until=T0 + timedelta(days=1)
        )
        await add_rule(session, "Ana", [ana])

        result = await submit(session, "L1", T0)

    assert result.offer is not None and result.offer.agent_id == stand_in


async def load_of(session: AsyncSession, agent_id: str) -> int:
    agent = await session.get(Agent, agent_id)
    assert agent is not None
    standing = await DatabaseFacts(session).standing([RosterAgent.of(agent)], T0)
    return standing.loads[agent_id]


async def test_load_counts_pending_and_open_owned_leads_through_each_transition(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", capacity=10)
        await add_rule(session, "Ana", [ana], accept_timeout_s=60)
        leads = [await submit(session, f"L{i}", T0) for i in range(4)]
        offers = [r.offer.id for r in leads if r.offer is not None]
        won = leads[0].offer.lead_id if leads[0].offer else ""
        counted = [await load_of(session, ana)]

        await service.accept_offer(session, offers[0], agent_id=ana, now=T0)
        counted.append(await load_of(session, ana))
        await service.decline_offer(session, offers[1], agent_id=ana, reason="spam", now=T0)
        counted.append(await load_of(session, ana))
        await service.expire_due_offers(session, now=T0 + timedelta(minutes=5))
        counted.append(await load_of(session, ana))
        await service.log_activity(session, won, agent_id=ana, kind="call", now=T0)
        counted.append(await load_of(session, ana))
        await service.log_activity(session, won, agent_id=ana, kind="note", outcome="won", now=T0)
        counted.append(await load_of(session, ana))

    assert counted == [4, 4, 3, 1, 1, 0]


async def test_record_turn_moves_the_agent_to_the_back_and_keeps_its_pass(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana, bea = await add_agent(session, "Ana"), await add_agent(session, "Bea")
        rule = await add_rule(session, "All", [ana, bea])

        await record_turn(session, rule, ana, T0, pass_value=0.5)
        await record_turn(session, rule, bea, T0)
        await record_turn(session, rule, ana, T0 + timedelta(minutes=1))
        await session.commit()
        rows = await session.execute(
            select(Rotation.agent_id, Rotation.sequence, Rotation.pass_value).where(
                Rotation.rule_id == rule
            )
        )

    assert {agent: (seq, pass_) for agent, seq, pass_ in rows.tuples().all()} == {
        ana: (3, 0.5),
        bea: (2, 0.0),
    }


async def test_turns_of_named_agents_leave_the_rest_of_the_rotation_unread(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana, bea, cai = [await add_agent(session, name) for name in ("Ana", "Bea", "Cai")]
        rule = await add_rule(session, "All", [ana, bea, cai])
        for agent in (ana, bea, cai):
            await record_turn(session, rule, agent, T0, pass_value=1.5)
        facts = DatabaseFacts(session)

        every = await facts.turns(rule, lock=True)
        named = await facts.turns(rule, lock=True, agent_ids=[cai, ana, "nobody"])

    assert {agent: turn.sequence for agent, turn in every.items()} == {ana: 1, bea: 2, cai: 3}
    assert named == {ana: Turn(1, 1.5), cai: Turn(3, 1.5)}
