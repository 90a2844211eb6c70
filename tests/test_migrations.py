"""Migrations that change stored rows, checked on a database left by the revision before."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update

from backend.db import create_engine, session_factory, upgrade_database
from backend.pursuit import service
from backend.pursuit.models import Offer
from tests.factories import add_agent, add_rule, submit

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def test_0017_clears_met_contact_deadlines_and_the_chase_reads_only_open_ones(
    tmp_path: Path,
) -> None:
    database = tmp_path / "pursuit.db"
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade_database, url, "0016")
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        a = await add_agent(session, "A")
        await add_rule(session, "All", [a], contact_timeout_s=3600)
        met, closed, waiting = [await submit(session, f"l{i}", T0) for i in range(3)]
        for result in (met, closed, waiting):
            await service.accept_offer(session, result.offer.id, agent_id=a, now=minutes(1))
        await service.log_activity(session, met.lead.id, agent_id=a, kind="call", now=minutes(2))
        await service.log_activity(
            session, closed.lead.id, agent_id=a, kind="note", outcome="lost", now=minutes(2)
        )
        # Before 0017 a first contact, or a close without one, left the deadline in place.
        await session.execute(
            update(Offer)
            .where(Offer.id.in_([met.offer.id, closed.offer.id]))
            .values(contact_due_at=minutes(61))
        )
        await session.commit()
    await engine.dispose()

    await asyncio.to_thread(upgrade_database, url)

    engine = create_engine(url)
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "contact_due_at <=" in statement:
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    async with session_factory(engine)() as session:
        offer_ids = [met.offer.id, closed.offer.id, waiting.offer.id]
        offers = await session.scalars(select(Offer).where(Offer.id.in_(offer_ids)))
        deadlines = {offer.id: offer.contact_due_at for offer in offers}
        early = await service.chase_overdue_contacts(session, now=minutes(60))
    await engine.dispose()

    [(chase_sql, chase_parameters)] = statements
    with sqlite3.connect(database) as connection:
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%contact_due%'"
        ).fetchall()
        plan = connection.execute(f"EXPLAIN QUERY PLAN {chase_sql}", chase_parameters).fetchall()

    assert deadlines == {met.offer.id: None, closed.offer.id: None, waiting.offer.id: minutes(61)}
    assert early == []
    assert [(name, sql.split(" WHERE ")[1]) for name, sql in indexes] == [
        ("ix_offers_status_contact_due", "status = 'accepted' AND contact_due_at IS NOT NULL")
    ]
    assert (
        "SEARCH offers USING INDEX ix_offers_status_contact_due (status=? AND contact_due_at<?)"
        in [row[-1] for row in plan]
    )
