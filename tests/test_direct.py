"""Statements run straight through SQLite's driver store and read what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.direct import Read, constants, observers, prepare, sqlite_of
from backend.inserts import insert_rows
from backend.pursuit.models import LeadEvent
from backend.routing.models import Rule

AT = datetime(2026, 3, 29, 1, 30, 15, 250, tzinfo=UTC)


def _rule(number: int, **values: Any) -> dict[str, Any]:
    return {
        "id": f"rule-{number}",
        "name": f"Rule {number}",
        "priority": number,
        "conditions": {"country": ["DE"]},
        "pool": {"agent_ids": [], "team_ids": [], "partner_ids": []},
        "strategy": "round_robin",
        "accept_timeout_s": 900,
        "contact_timeout_s": 86400,
        "performance_weighting": False,
        "active": True,
        "created_at": AT,
        **values,
    }


def _write_two_rules(session: Session) -> None:
    """One rule through SQLAlchemy, one through the driver when the database allows it."""
    connection = session.connection()
    connection.execute(insert(Rule), [_rule(1)])
    insert_rows(connection, Rule, [_rule(2, active=False, pool={"agent_ids": ["a"]})])


def _stored_texts(session: Session) -> list[tuple[Any, ...]]:
    query = text("SELECT id, created_at, conditions, active FROM rules ORDER BY id")
    return list(session.connection().exec_driver_sql(str(query)).tuples())


async def test_a_row_written_directly_is_stored_as_sqlalchemy_stores_it(sessions: Any) -> None:
    async with sessions() as session:
        await session.run_sync(_write_two_rules)
        stored = await session.run_sync(_stored_texts)
        await session.commit()

    (_, at_1, conditions_1, _), (_, at_2, conditions_2, active_2) = stored
    assert (at_2, conditions_2) == (at_1, conditions_1)
    assert active_2 in (False, 0)
    async with sessions() as session:
        rules = (await session.scalars(select(Rule).order_by(Rule.id))).all()
    assert [(r.id, r.created_at, r.active, r.pool["agent_ids"]) for r in rules] == [
        ("rule-1", AT, True, []),
        ("rule-2", AT, False, ["a"]),
    ]


def _rules_in(ids: Any) -> Any:
    return select(Rule.id, Rule.created_at, Rule.active).where(
        Rule.id.in_(ids("ids")),
        Rule.strategy.in_(constants(("round_robin", "score"))),
        Rule.created_at <= bindparam("until", type_=Rule.created_at.type),
    )


RULES_IN = Read.of(_rules_in, "ids")


def _read_rules(session: Session) -> list[Any]:
    values = {"ids": ["rule-1", "rule-2", "rule-2", "no-such-rule"], "until": AT}
    return RULES_IN.rows(session.connection(), values)


async def test_a_read_with_a_list_answers_alike_on_every_database(sessions: Any) -> None:
    async with sessions() as session:
        await session.run_sync(_write_two_rules)
        rows = await session.run_sync(_read_rules)
        await session.rollback()

    assert sorted(rows) == [("rule-1", AT, True), ("rule-2", AT, False)]


def _insert_event(session: Session) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []

    def observe(sql: str, parameters: tuple[Any, ...], _spent: int) -> None:
        seen.append((sql.split(" (")[0], len(parameters)))

    observers.append(observe)
    try:
        insert_rows(session.connection(), Rule, [_rule(3)])
    finally:
        observers.remove(observe)
    return seen


async def test_observers_hear_of_statements_run_directly(sessions: Any) -> None:
    async with sessions() as session:
        seen = await session.run_sync(_insert_event)
        direct = await session.run_sync(lambda s: sqlite_of(s.connection()) is not None)
        await session.rollback()

    assert seen == ([("INSERT INTO rules", 11)] if direct else [])


async def test_the_driver_is_used_only_inside_a_transaction(sessions: Any) -> None:
    engine = sessions.kw["bind"]

    async with engine.connect() as connection:
        before = sqlite_of(connection.sync_connection)
        await connection.execute(select(1))
        inside = sqlite_of(connection.sync_connection)
        await connection.rollback()

    assert before is None
    assert (inside is not None) == (engine.dialect.name == "sqlite")


def test_prepare_refuses_a_list_it_would_have_to_expand() -> None:
    from sqlalchemy.dialects import sqlite

    query = select(LeadEvent.id).where(LeadEvent.type.in_(["offered", "accepted"]))

    with pytest.raises(ValueError, match="cannot expand IN lists"):
        prepare(query, sqlite.dialect())


def _rule_for_a_missing_escalation(session: Session) -> None:
    insert_rows(session.connection(), Rule, [_rule(4, escalate_to_rule_id="no-such-rule")])


async def test_a_refused_direct_write_raises_sqlalchemys_integrity_error(sessions: Any) -> None:
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await session.run_sync(_rule_for_a_missing_escalation)
        await session.rollback()

        assert (await session.scalars(select(Rule))).all() == []


def test_prepare_refuses_an_insert_that_leaves_defaults_to_sqlalchemy() -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match=r"left to their defaults: .*priority"):
        prepare(insert(Rule), sqlite.dialect(), ("id", "name"))
