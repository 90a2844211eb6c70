"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.access.service import create_api_key
from backend.app import create_app
from backend.db import create_engine, session_factory, upgrade_database
from backend.models import Base
from backend.notify.service import Notifier
from backend.settings import Settings
from tests.mail import Inbox, free_port

POSTGRES_URL = os.environ.get("PURSUIT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "pursuit.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this run, migrated once and dropped at the end."""
    assert POSTGRES_URL is not None
    name = f"pursuit_test_{uuid.uuid4().hex[:10]}"
    admin = _asyncpg_dsn(POSTGRES_URL)

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"

    def create() -> None:
        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
        upgrade_database(url)

    # First requested from inside a running event loop, so the set-up runs in a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(create).result()
    yield url
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, execute(f'DROP DATABASE "{name}" WITH (FORCE)')).result()


async def _truncate(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "pursuit.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    await _truncate(url)
    yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env(
        var_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-key-0123456789abcdef",
        base_url="http://testserver.local",
        sweep_interval_s=0,
        smtp_url=None,
        push_allowed_hosts=("127.0.0.1",),
    )


def check_all_returned(engine: AsyncEngine) -> None:
    """Fail the test that still holds a connection as its engine is disposed.

    Returned later, it would land in the disposed pool and never be closed; the warning
    would surface at some later garbage collection, in whichever test runs then.
    """
    held = engine.pool.checkedout()  # type: ignore[attr-defined]
    assert held == 0, f"{held} database connection(s) still checked out at the end of the test"


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Any]:
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
    try:
        check_all_returned(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the test's own event loop, with the app's startup and shutdown."""
    started, stopping = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        # Entered and left in one task: the lifespan's task group must not change tasks.
        async with app.lifespan():
            started.set()
            await stopping.wait()

    running = asyncio.create_task(lifespan())
    await started.wait()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local"
    ) as test_client:
        yield test_client
    await app.state.notifier.drain()
    try:
        check_all_returned(app.state.sessions.kw["bind"])
    finally:
        stopping.set()
        await running


@pytest.fixture
async def api_key(sessions: Any) -> str:
    async with sessions() as session:
        return await create_api_key(session, "tests")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
async def mailing_notifier(
    settings: Settings, sessions: Any, inbox: tuple[Inbox, str]
) -> AsyncIterator[Notifier]:
    notifier = Notifier(dataclasses.replace(settings, smtp_url=inbox[1]), sessions)
    await notifier.start()
    yield notifier
    await notifier.close()
