"""New rows written with one INSERT per table instead of the unit of work.

The unit of work spends more time ordering and bookkeeping a handful of new objects than
SQLite spends storing them; routing writes a lead, its events, its decision and its offers
on every decision. ``insert_new`` writes such objects with Core statements and then keeps
them in the session as if they had been loaded, so later changes still flush as updates.

A rollback makes them transient again, as it does flushed objects; savepoints are not
handled. Flush listeners never see these objects: whatever reacts to new rows (search
words, CRM write-backs, live updates) registers with ``after_insert_new`` as well.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any

from sqlalchemy import Column, Connection, Insert, Table, insert, inspect
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, make_transient, make_transient_to_detached

from backend.db import Base
from backend.direct import prepare, sqlite_of

NewRowsHook = Callable[[Session, Sequence[Any]], None]
INSERTED = "inserted_without_flush"  # session.info: what this transaction wrote here
_hooks: list[NewRowsHook] = []


def after_insert_new(hook: NewRowsHook) -> NewRowsHook:
    """Call ``hook`` with the session and the objects each ``insert_new`` wrote."""
    _hooks.append(hook)
    return hook


async def insert_new(session: AsyncSession, objects: Sequence[Base]) -> None:
    """Insert new, never-added objects, parents first, and attach them to the session.

    Columns left unset get their Python defaults on the object itself; an autoincrement
    key comes back from ``RETURNING``. Relationships between the objects are not
    followed: foreign keys must be set as ids.
    """
    if objects:
        await session.run_sync(_insert_new, objects)


def _insert_new(session: Session, objects: Sequence[Base]) -> None:
    if session.new:
        session.flush()  # what was added before goes first, events' ids included
    by_table: dict[Table, list[Base]] = defaultdict(list)
    for obj in objects:
        by_table[obj.__table__].append(obj)  # type: ignore[index]
    for table in sorted(by_table, key=_table_order().__getitem__):
        _insert_rows(session.connection(), table, by_table[table])

    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)
    session.info.setdefault(INSERTED, []).extend(objects)
    for hook in _hooks:
        hook(session, objects)


def _insert_rows(connection: Connection, table: Table, group: list[Base]) -> None:
    rows = [_row(obj) for obj in group]
    generated = table.autoincrement_column
    if (raw := sqlite_of(connection)) is not None:
        numbered = _insert_directly(raw, connection, table, rows)
    elif generated is None:
        connection.execute(_insert(table), rows)
        return
    else:
        numbered = list(connection.execute(_insert(table), rows).scalars())
    if generated is not None:
        for obj, key in zip(group, numbered, strict=True):
            setattr(obj, _attribute_of(obj, generated), key)


def insert_rows(connection: Connection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Plain rows keyed by column name, every row naming the same columns, written to the
    model's table; on SQLite straight through the driver."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    if (raw := sqlite_of(connection)) is not None:
        _insert_directly(raw, connection, table, rows)
    else:
        connection.execute(insert(table), rows)


def _insert_directly(
    raw: sqlite3.Connection, connection: Connection, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Rows written through SQLite's driver; answers each row's generated key, if any."""
    prepared = prepare(_plain_insert(table), connection.dialect, tuple(rows[0]))
    if table.autoincrement_column is None:
        prepared.write(raw, rows)
        return []
    # One row at a time: SQLite names the key it generated for the last row only.
    return [prepared.insert(raw, row) for row in rows]


@listens_for(Session, "after_commit")
def _keep_inserted(session: Session) -> None:
    session.info.pop(INSERTED, None)


@listens_for(Session, "after_rollback")
def _forget_inserted(session: Session) -> None:
    """A flushed object is made transient again by a rollback; so is one written here,
    which the session otherwise keeps as if its row existed."""
    for obj in session.info.pop(INSERTED, ()):
        if obj in session:
            session.expunge(obj)
        make_transient(obj)


def _row(obj: Base) -> dict[str, Any]:
    """Every column's value, defaults filled in on the object so that nothing is unloaded.

    Defaults go into the instance's dict as loaded values, not through the attribute's
    events: ``make_transient_to_detached`` then takes the dict as the row's committed state.
    """
    row: dict[str, Any] = {}
    state = obj.__dict__
    for key, name, default in _plan(type(obj)):
        if key in state:
            row[name] = state[key]
        elif default is not None:
            row[name] = state[key] = default()
    return row


Default = Callable[[], Any]


@cache
def _plan(model: type[Base]) -> tuple[tuple[str, str, Default | None], ...]:
    """Per column: its attribute, its name and how to fill it in; the generated key is
    left to the database."""
    return tuple(
        (
            key,
            column.name,
            None if column is column.table.autoincrement_column else _default(column),
        )
        for key, column in _columns(model)
    )


def _default(column: Column[Any]) -> Default:
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return partial(default.arg, None)  # type: ignore[attr-defined]
    return partial(_same, default.arg)  # type: ignore[attr-defined]


def _same(value: Any) -> Any:
    return value


@cache
def _insert(table: Table) -> Insert:
    """Built once per table: a statement used again skips building its cache key."""
    generated = table.autoincrement_column
    if generated is None:
        return insert(table)
    return insert(table).returning(generated, sort_by_parameter_order=True)


@cache
def _plain_insert(table: Table) -> Insert:
    return insert(table)


@cache
def _columns(model: type[Base]) -> tuple[tuple[str, Column[Any]], ...]:
    mapper: Mapper[Any] = inspect(model)
    return tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs)  # type: ignore[misc]


def _attribute_of(obj: Base, column: Column[Any]) -> str:
    return next(key for key, c in _columns(type(obj)) if c is column)


@cache
def _table_order() -> dict[Table, int]:
    return {table: n for n, table in enumerate(Base.metadata.sorted_tables)}
