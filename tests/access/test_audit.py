"""The audit log's entries: only what changed, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.access.models import AuditEntry
from backend.access.service import create_user
from backend.roster.service import create_team, update_agent
from tests.factories import add_agent


async def test_user_changes_are_audited_with_their_teams(sessions: Any) -> None:
    async with sessions() as session:
        north = (await create_team(session, "North")).id
        user = await create_user(session, "m@example.com", "manager", actor="cli")
        await create_user(session, "m@example.com", "manager", team_ids=[north], actor="cli")

        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "user").order_by(AuditEntry.id)
            )
        ).all()

    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        ("cli", "create", user.id),
        ("cli", "update", user.id),
    ]
    assert entries[1].before == {"team_id": None, "team_ids": []}
    assert entries[1].after == {"team_id": north, "team_ids": [north]}


async def test_a_change_that_changes_nothing_leaves_no_entry(sessions: Any) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", capacity=5)
        await update_agent(session, ana, {"capacity": 5}, "user:x")
        await update_agent(session, ana, {"active": False}, "user:x")

        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == ana).order_by(AuditEntry.id)
            )
        ).all()

    assert [(e.actor, e.action) for e in entries] == [
        ("system", "create"),
        ("user:x", "deactivate"),
    ]
    assert (entries[1].before, entries[1].after) == ({"active": True}, {"active": False})
