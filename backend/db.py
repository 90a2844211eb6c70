"""One declarative base, the engine with its SQLite pragmas, and migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import MetaData, String, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Between background checkpoints. Short, so each copies a few commits' pages and slows the
# decisions running beside it little. Not nil: under a steady stream of commits only the
# backstop below starts the log over, and it needs the checkpoint lock free when it comes.
CHECKPOINT_PAUSE_S = 0.02
# SQLite's own checkpoint inside a commit stays as a backstop at ten times its default. It
# copies what the thread has not yet, and the log starts over after it.
BACKSTOP_PAGES = 10_000
BUSY_TIMEOUT_MS = 30_000
BEGIN = "BEGIN IMMEDIATE"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time without an offset is read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTimeUTC(timezone=True), dict[str, Any]: JsonB}


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def create_engine(url: str) -> AsyncEngine:
    """An engine; on SQLite: WAL, one pooled connection and write-ahead locking.

    SQLite allows one writer at a time. Queueing transactions on a single pooled
    connection hands it over without delay, where SQLite's own busy handler would sleep
    and retry. Transactions start with ``BEGIN IMMEDIATE`` so that other processes (the
    CLI beside a running server) queue on the busy timeout instead of failing when a read
    lock cannot be upgraded.
    """
    json = {"json_serializer": _json_text, "json_deserializer": msgspec.json.decode}
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=True, **json)

    engine = create_async_engine(
        url,
        async_creator=_sqlite_connector(url),
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        **json,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if not (isinstance(driver, _SQLiteConnection) and driver.begin_at_once()):
            conn.exec_driver_sql(BEGIN)

    return engine


class _SQLiteConnection(aiosqlite.Connection):
    """An aiosqlite connection that calls SQLite directly whenever that cannot wait.

    aiosqlite hands every call to its worker thread and back, which costs more than most
    statements routing sends. Every transaction here begins ``IMMEDIATE`` and so holds the
    write lock: nothing it runs can wait for another connection, so its statements and
    its ``COMMIT`` are made in the caller's thread. ``COMMIT`` in WAL mode appends to the
    log without syncing; the copy into the database file is the checkpointer's work, in
    its own thread. Opening a cursor, or ending a transaction that is not open, never
    waits either. ``BEGIN`` is first tried at once without waiting; only when another
    process holds the write lock does it go through the worker thread, which waits up to
    the busy timeout. Connecting goes through the thread too. The hazard: a slow
    statement inside a transaction holds up the event loop meanwhile.
    """

    checkpoints: _Checkpointer | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        if not self._running or connection is None:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if connection.in_transaction:
            done = fn(*args, **kwargs)
            if fn == connection.commit and self.checkpoints is not None:
                self.checkpoints.nudge()
            return done
        if fn in (connection.cursor, connection.rollback, connection.commit):
            return fn(*args, **kwargs)  # outside a transaction these never wait
        if args[:1] == (BEGIN,):
            try:
                return _without_waiting(connection, fn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes too
                    raise
                logger.debug("sqlite write lock held elsewhere; waiting in the worker thread")
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def begin_at_once(self) -> bool:
        """Begin a transaction in the caller's thread if no other process holds the write
        lock. False otherwise (lock held, connection not open, any error): the caller then
        begins through SQLAlchemy and ``_execute``, which waits for a held lock and reports
        any other error as SQLAlchemy does."""
        connection = self._connection
        if not self._running or connection is None or connection.in_transaction:
            return False
        try:
            _without_waiting(connection, connection.execute, BEGIN)
        except sqlite3.Error:
            return False
        return True

    async def close(self) -> None:
        # Closed last, this connection checkpoints the whole log into the database file.
        if self.checkpoints is not None:
            await asyncio.to_thread(self.checkpoints.stop)
        await super().close()


def _without_waiting(
    connection: sqlite3.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Call ``fn`` with SQLite's busy timeout off, so a held lock fails it at once."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return fn(*args, **kwargs)
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class _Checkpointer:
    """Copies the write-ahead log into the database from its own thread and connection.

    SQLite otherwise checkpoints inside the commit that fills the log past a threshold,
    and that commit then takes several milliseconds longer. Commits only wake this
    thread; a passive checkpoint never waits for or blocks a writer.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Close the thread's connection and wait for it."""
        self._stopped.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, timeout=30, check_same_thread=False)
        try:
            while self._wake.wait() and not self._stopped.is_set():
                self._wake.clear()
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self._stopped.wait(CHECKPOINT_PAUSE_S)
        except sqlite3.Error:
            logger.warning("sqlite checkpoints stopped database=%s", self._database, exc_info=True)
        finally:
            connection.close()


def _sqlite_connector(url: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    database = make_url(url).database or ":memory:"

    async def connect() -> aiosqlite.Connection:
        # The connection is used from two threads, never from both at once.
        opened = partial(sqlite3.connect, database, timeout=30, check_same_thread=False)
        connection = _SQLiteConnection(opened, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does: never hold up interpreter exit
        await connection
        if database != ":memory:":
            backstop = await connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            await backstop.close()
            connection.checkpoints = _Checkpointer(database)
        return connection

    return connect


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply pending Alembic migrations; call from synchronous code or a worker thread."""
    from alembic import command
    from alembic.config import Config

    ensure_sqlite_dir(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)
