"""`pursuit leads import` as a person runs it: rows stored, routed and announced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.cli import main
from backend.db import create_engine, session_factory, upgrade_database
from backend.notify.models import Notification
from backend.pursuit.models import Lead
from backend.roster.service import create_agent
from backend.routing.service import create_rule

SAMPLE = Path(__file__).parent / "data" / "leads.csv"


async def _roster(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        agent = await create_agent(session, {"name": "Ana", "capacity": 10})
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [agent.id]}})
    await engine.dispose()


async def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        leads = await session.scalar(select(func.count()).select_from(Lead))
        kept = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "kept")
        )
    await engine.dispose()
    return leads or 0, kept or 0


def test_import_stores_routes_and_announces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("PURSUIT_DATABASE_URL", url)
    monkeypatch.setenv("PURSUIT_VAR_DIR", str(tmp_path))
    upgrade_database(url)
    asyncio.run(_roster(url))

    result = CliRunner().invoke(main, ["leads", "import", str(SAMPLE)])

    assert result.exit_code == 0, result.output
    # f-1 and f-2 are leads; f-3 has an unreadable value and f-4 no way to reach anyone.
    assert result.output.splitlines()[-1] == (
        "2 leads created, 0 joined an open lead, 0 already known, 2 rejected"
    )
    assert asyncio.run(_counts(url)) == (2, 2)


def test_import_of_an_empty_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")

    result = CliRunner().invoke(main, ["leads", "import", str(empty), "--dry-run"])

    assert result.exit_code == 1
    assert result.output.strip() == "Error: empty.csv has no header row."
