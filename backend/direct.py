"""Statements handed straight to SQLite's driver inside a transaction already open.

Routing sends a dozen statements for every lead, and through SQLAlchemy's execution
layer each one costs several times what SQLite spends on it. On SQLite every transaction
here holds the write lock from its first statement (``BEGIN IMMEDIATE``), and the driver
runs in-transaction calls in the caller's thread (see ``backend.db``), so a statement
compiled once by SQLAlchemy can go to the ``sqlite3`` connection directly. Values pass
through the same bind and result processors SQLAlchemy uses, so rows read and written
here are the rows SQLAlchemy would read and write.

Other databases, and a connection with no transaction open, go through SQLAlchemy as
usual; ``run``, ``Read`` and ``sqlite_of`` choose. The engine's cursor events do not see these
statements; whoever measures them registers in ``observers``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import msgspec
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Connection,
    Dialect,
    Select,
    String,
    bindparam,
    exc,
    func,
    literal,
    select,
)
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None
# Told of every statement run here: its text, its (first row's) values, nanoseconds taken.
Observer = Callable[[str, Sequence[Any], int], None]
observers: list[Observer] = []


@dataclass(frozen=True)
class Read:
    """A read in two forms: with expanding ``IN`` lists for SQLAlchemy, and for SQLite's
    driver with each list passed as one JSON text (``lists`` names them)."""

    general: Query
    sqlite: Query
    lists: tuple[str, ...] = ()

    @classmethod
    def of(cls, build: Callable[[IdList], Query], *lists: str) -> Read:
        """Both forms of the query ``build`` makes with the given way to name a list."""
        return cls(build(_expanding), build(_json_members), lists)

    def rows(
        self, connection: Connection, values: Mapping[str, Any], each: Each | None = None
    ) -> list[Any]:
        if sqlite_of(connection) is None:
            return run(connection, self.general, values, each)
        texts = {name: msgspec.json.encode(values[name]).decode() for name in self.lists}
        return run(connection, self.sqlite, {**values, **texts}, each)


IdList = Callable[[str], Any]
Each = Callable[[Any], Any]
Query = Select[Any] | CompoundSelect[Any]


def _expanding(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


def _json_members(name: str) -> Select[Any]:
    """The members of a JSON array given as one parameter: one statement text for any
    length, so SQLite keeps it prepared."""
    members = func.json_each(bindparam(name, type_=String())).table_valued("value")
    return select(members.c.value)


def constants(values: Iterable[str]) -> list[Any]:
    """A fixed list for ``IN``, one parameter per value, so a statement can run directly."""
    return [literal(value) for value in values]


def sqlite_of(connection: Connection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under ``connection`` while it holds a transaction."""
    if connection.dialect.name != "sqlite":
        return None
    raw = getattr(connection.connection.driver_connection, "_connection", None)
    if isinstance(raw, sqlite3.Connection) and raw.in_transaction:
        return raw
    return None


def run(
    connection: Connection,
    statement: Executable,
    values: Mapping[str, Any],
    each: Each | None = None,
) -> list[Any]:
    """The rows ``statement`` answers (none for a write): straight through SQLite's driver
    inside a transaction, through SQLAlchemy otherwise.

    ``each`` turns every row into what the caller keeps as soon as the row is read, so a
    read of many decoded JSON values never holds them all at once.
    """
    raw = sqlite_of(connection)
    if raw is None:
        result = connection.execute(statement, values)
        if not result.returns_rows:
            return []
        return list(result.tuples()) if each is None else [each(row) for row in result.tuples()]
    assert isinstance(statement, ClauseElement)
    return prepare(statement, connection.dialect).rows(raw, values, each)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One statement as SQLite's driver takes it: text, parameter order, processors."""

    sql: str
    names: tuple[str, ...]
    # The positions whose values go through a bind processor, with the processor.
    binds: tuple[tuple[int, Callable[[Any], Any]], ...]
    results: tuple[Processor, ...]
    # Values written into the statement itself, such as a status compared with a constant.
    fixed: Mapping[str, Any]

    def rows(
        self, raw: sqlite3.Connection, values: Mapping[str, Any], each: Each | None = None
    ) -> list[Any]:
        started = time.perf_counter_ns() if observers else 0
        parameters = self.parameters(values)
        with _as_sqlalchemy_error(self.sql, parameters):
            found = raw.execute(self.sql, parameters).fetchall()
        if observers:
            _tell(self.sql, parameters, started)
        if any(self.results):
            processed = self._processed
            return [processed(row) if each is None else each(processed(row)) for row in found]
        return found if each is None else [each(row) for row in found]

    def write(self, raw: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        started = time.perf_counter_ns() if observers else 0
        parameters = [self.parameters(values) for values in rows]
        with _as_sqlalchemy_error(self.sql, parameters):
            raw.executemany(self.sql, parameters)
        if observers:
            _tell(self.sql, parameters[0], started)

    def insert(self, raw: sqlite3.Connection, values: Mapping[str, Any]) -> int:
        """One row written; answers the key SQLite generated for it."""
        started = time.perf_counter_ns() if observers else 0
        parameters = self.parameters(values)
        with _as_sqlalchemy_error(self.sql, parameters):
            key = raw.execute(self.sql, parameters).lastrowid
        if observers:
            _tell(self.sql, parameters, started)
        assert key is not None, "an INSERT always sets the last row id"
        return key

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        if self.fixed:
            values = {**self.fixed, **values}
        given = [values[name] for name in self.names]
        for at, bind in self.binds:
            given[at] = bind(given[at])
        return given

    def _processed(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            value if result is None else result(value)
            for result, value in zip(self.results, row, strict=True)
        )


@contextmanager
def _as_sqlalchemy_error(sql: str, parameters: Any) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy raises them, so that callers catch the same
    ``IntegrityError`` on every database."""
    try:
        yield
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


def _tell(sql: str, parameters: Sequence[Any], started: int) -> None:
    spent = time.perf_counter_ns() - started
    for observer in observers:
        observer(sql, parameters, spent)


_prepared: WeakKeyDictionary[ClauseElement, dict[tuple[Dialect, tuple[str, ...]], Prepared]] = (
    WeakKeyDictionary()
)


def prepare(
    statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] = ()
) -> Prepared:
    """``statement`` compiled for SQLite once; an INSERT names the columns it is given.

    Expanding ``IN`` parameters are not supported: pass a list as one JSON text and read
    it with ``json_each``, or a fixed list as one literal per value.
    """
    kept = _prepared.setdefault(statement, {})
    key = (dialect, tuple(column_keys))
    found = kept.get(key)
    if found is None:
        found = kept[key] = _compile(statement, dialect, list(column_keys) or None)
    return found


def _compile(statement: ClauseElement, dialect: Dialect, column_keys: list[str] | None) -> Prepared:
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
    if any(bind.expanding for bind in compiled.binds.values()):
        raise ValueError("a statement run directly cannot expand IN lists")
    names = tuple(compiled.positiontup)
    processors = [_bind_processor(compiled, name, dialect) for name in names]
    binds = tuple((at, bind) for at, bind in enumerate(processors) if bind is not None)
    fixed = {name: bind.effective_value for name, bind in compiled.binds.items()
             if bind.value is not None}  # fmt: skip
    if column_keys is not None and (unnamed := set(names) - fixed.keys() - set(column_keys)):
        # SQLAlchemy would fill these defaults in at execution; rows written here name all.
        raise ValueError(f"columns left to their defaults: {', '.join(sorted(unnamed))}")
    selected = getattr(statement, "selected_columns", ())
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in selected)  # fmt: skip
    return Prepared(compiled.string, names, binds, results, fixed)


def _bind_processor(compiled: SQLCompiler, name: str, dialect: Dialect) -> Processor:
    bind = compiled.binds[name]
    return bind.type.dialect_impl(dialect).bind_processor(dialect)
