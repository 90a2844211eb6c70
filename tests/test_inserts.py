"""New rows written without the unit of work: stored whole, kept in the session, seen by the
listeners that follow new rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from backend.console.models import LeadSearchTerm
from backend.inserts import insert_new
from backend.pursuit.models import Lead, LeadEvent
from backend.routing.models import Decision

AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _lead() -> Lead:
    return Lead(
        id="lead-1",
        source="web",
        first_name="José",
        last_name="Núñez",
        email="jose@example.org",
        phone="+5511991234567",
        received_at=AT,
    )


async def test_insert_new_stores_every_column_and_numbers_events_in_order(sessions: Any) -> None:
    lead = _lead()
    events = [
        LeadEvent(lead_id="lead-1", type="received", actor="system", at=AT),
        LeadEvent(lead_id="lead-1", type="offered", actor="router", at=AT, data={"n": 2}),
    ]
    decision = Decision(id="decision-1", lead_id="lead-1", at=AT, trigger="intake")

    async with sessions() as session:
        # Children first on purpose: parents are written first whatever the order given.
        await insert_new(session, [*events, decision, lead])
        await session.commit()

    async with sessions() as session:
        stored = await session.get(Lead, "lead-1")
        kept = (await session.scalars(select(LeadEvent).order_by(LeadEvent.id))).all()
        written = await session.get(Decision, "decision-1")
    assert stored is not None and written is not None
    assert (stored.status, stored.first_name, stored.received_at) == ("routing", "José", AT)
    assert stored.updated_at is not None
    assert [(e.id, e.type, e.data) for e in kept] == [
        (events[0].id, "received", {}),
        (events[1].id, "offered", {"n": 2}),
    ]
    assert events[1].id == events[0].id + 1
    assert (written.candidates, written.rules_tried, written.explanation) == ([], [], "")


async def test_insert_new_leaves_objects_loaded_so_changes_flush_as_updates(sessions: Any) -> None:
    lead = _lead()

    async with sessions() as session:
        await insert_new(session, [lead])
        assert lead in session and not session.new and not session.dirty
        assert lead.status == "routing"  # a default, filled in without a query
        lead.status = "offered"
        await session.commit()

    async with sessions() as session:
        stored = await session.get(Lead, "lead-1")
    assert stored is not None and stored.status == "offered"


async def test_insert_new_writes_a_new_leads_search_words(sessions: Any) -> None:
    async with sessions() as session:
        await insert_new(session, [_lead()])
        await session.commit()

    async with sessions() as session:
        terms = await session.scalars(
            select(LeadSearchTerm.term).where(LeadSearchTerm.lead_id == "lead-1")
        )
        found = sorted(terms.all())
    assert found == ["11991234567", "5511991234567", "example", "jose", "nunez", "org"]


async def test_insert_new_rolled_back_leaves_nothing(sessions: Any) -> None:
    async with sessions() as session:
        await insert_new(session, [_lead()])
        await session.rollback()

    async with sessions() as session:
        assert await session.get(Lead, "lead-1") is None
        assert (await session.scalars(select(LeadSearchTerm))).all() == []


async def test_insert_new_rolled_back_objects_leave_the_session_readable(sessions: Any) -> None:
    lead = _lead()

    async with sessions() as session:
        await insert_new(session, [lead])
        await session.rollback()

        assert lead not in session
        assert (lead.id, lead.first_name, lead.status) == ("lead-1", "José", "routing")
        await insert_new(session, [_lead()])  # the same key again: the first one is gone
        await session.commit()

    async with sessions() as session:
        assert await session.get(Lead, "lead-1") is not None
