"""The SQLite engine: its write-ahead log is copied into the database file in the background."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import text

from backend.db import create_engine, session_factory


async def write_row(url: str, value: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT)"))
        await session.execute(text("INSERT INTO notes VALUES (:body)"), {"body": value})
        await session.commit()
    await engine.dispose()


def rows_in_file_alone(database: Path, tmp_path: Path) -> list[str]:
    """What the database file holds without its log, as a plain file copy would see it."""
    copy = tmp_path / "copy.db"
    shutil.copy(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return [row[0] for row in connection.execute("SELECT body FROM notes")]
    except sqlite3.OperationalError:  # the table itself is still only in the log
        return []
    finally:
        connection.close()


async def test_commit_reaches_the_database_file_while_the_engine_is_open(tmp_path: Path) -> None:
    database = tmp_path / "pursuit.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    async with session_factory(engine)() as session:
        await session.execute(text("CREATE TABLE notes (body TEXT)"))
        await session.execute(text("INSERT INTO notes VALUES ('kept')"))
        await session.commit()

    found: list[str] = []
    for _ in range(100):
        if found := rows_in_file_alone(database, tmp_path):
            break
        await asyncio.sleep(0.02)
    log_kept = (tmp_path / "pursuit.db-wal").exists()
    await engine.dispose()

    assert log_kept
    assert found == ["kept"]


async def test_disposed_engine_leaves_no_log_behind(tmp_path: Path) -> None:
    database = tmp_path / "pursuit.db"

    await write_row(f"sqlite+aiosqlite:///{database}", "first")
    await write_row(f"sqlite+aiosqlite:///{database}", "second")

    assert not (tmp_path / "pursuit.db-wal").exists()
    assert rows_in_file_alone(database, tmp_path) == ["first", "second"]


async def test_a_write_lock_held_by_another_process_is_waited_for_without_blocking(
    tmp_path: Path,
) -> None:
    database = tmp_path / "pursuit.db"
    await write_row(f"sqlite+aiosqlite:///{database}", "first")
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes VALUES ('other')")
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(tick())
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.execute, "COMMIT")
    async with session_factory(engine)() as session:
        await session.execute(text("INSERT INTO notes VALUES ('ours')"))
        await session.commit()
    ticking.cancel()
    await engine.dispose()
    other.close()

    # The event loop kept running while the other connection held the lock.
    assert ticks >= 10
    assert rows_in_file_alone(database, tmp_path) == ["first", "other", "ours"]
