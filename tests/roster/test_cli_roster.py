"""`pursuit roster import` and `export` as a person runs them, and `user create` with scopes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from backend.access.service import user_by_email, user_scope
from backend.cli import main
from backend.db import create_engine, session_factory
from backend.roster.service import create_partner, create_team, list_agents
from backend.settings import Settings
from tests.factories import add_agent

ROSTER = (
    "name,email,phone,team,partner,territories,products,languages,tier,capacity,timezone,"
    "working_hours,active\n"
    'Ana Souza,ana@example.com,+55 11 99000-0001,North,,BR/SP;BR/RJ/20,solar,"pt, en",1,10,'
    'America/Sao_Paulo,"mon=09:00-18:00;tue=09:00-12:00,13:00-18:00",yes\n'
    "Bruno,bruno@example.com,,North,,,,,2,25,UTC,,yes\n"
    "Carla,carla@acme.example,,,Acme,,,,,,Europe/Lisbon,,yes\n"
)


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        north = (await create_team(session, "North")).id
        await create_partner(session, "Acme")
        await add_agent(session, "Bruno", team_id=north, tier=1)
    await engine.dispose()


async def _read(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"PURSUIT_DATABASE_URL": settings.database_url, "PURSUIT_VAR_DIR": str(settings.var_dir)}


def test_roster_import_dry_run_reports_exactly_and_stores_nothing(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    asyncio.run(_prepare(settings.database_url))
    file = tmp_path / "roster.csv"
    file.write_text(ROSTER)

    result = CliRunner().invoke(main, ["roster", "import", str(file), "--dry-run"], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "line 2: create Ana Souza",
        "line 4: create Carla",
        "line 3: update Bruno (tier)",
        "2 to create, 1 to update, 0 unchanged, 0 with errors: dry run, nothing was stored.",
    ]
    names = asyncio.run(_read(settings.database_url, list_agents))
    assert [a.name for a in names] == ["Bruno"]


def test_roster_import_stores_every_line_and_export_reads_back(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    asyncio.run(_prepare(settings.database_url))
    file = tmp_path / "roster.csv"
    file.write_text(ROSTER)

    imported = CliRunner().invoke(main, ["roster", "import", str(file)], env=env)
    exported = CliRunner().invoke(main, ["roster", "export"], env=env)
    again = CliRunner().invoke(main, ["roster", "import", str(file), "--dry-run"], env=env)

    assert imported.exit_code == 0, imported.output
    assert (
        imported.output.splitlines()[-1]
        == "2 create, 1 update, 0 unchanged, 0 with errors: imported."
    )
    agents = {a.name: a for a in asyncio.run(_read(settings.database_url, list_agents))}
    ana = agents["Ana Souza"]
    assert ana.territories == [
        {"country": "BR", "region": "SP"},
        {"country": "BR", "region": "RJ", "postal_prefix": "20"},
    ]
    assert ana.working_hours == {
        "mon": [["09:00", "18:00"]],
        "tue": [["09:00", "12:00"], ["13:00", "18:00"]],
    }
    assert (ana.phone, ana.languages, ana.capacity) == ("+5511990000001", ["pt", "en"], 10)
    assert agents["Carla"].kind == "partner"
    assert exported.output.splitlines()[1] == (
        'Ana Souza,ana@example.com,+5511990000001,North,,BR/SP; BR/RJ/20,solar,"pt, en",1,10,'
        'America/Sao_Paulo,"mon=09:00-18:00; tue=09:00-12:00, 13:00-18:00",yes'
    )
    assert again.output.splitlines()[-1] == (
        "0 to create, 0 to update, 3 unchanged, 0 with errors: dry run, nothing was stored."
    )


def test_roster_import_with_a_bad_line_keeps_the_whole_file_out(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    asyncio.run(_prepare(settings.database_url))
    file = tmp_path / "roster.csv"
    file.write_text(ROSTER + "Dora,dora@example.com,,Nowhere,,,,,,,,,yes\nEli,,,,,,,,x,,,,\n")

    result = CliRunner().invoke(main, ["roster", "import", str(file)], env=env)

    assert result.exit_code == 2
    assert result.output.splitlines()[:2] == [
        "line 5: there is no team named 'Nowhere'.",
        "line 6: tier 'x' is not a whole number.",
    ]
    assert "nothing was imported" in result.output
    names = asyncio.run(_read(settings.database_url, list_agents))
    assert [a.name for a in names] == ["Bruno"]


def test_user_create_takes_several_teams_and_partners(
    settings: Settings, env: dict[str, str]
) -> None:
    asyncio.run(_prepare(settings.database_url))

    async def north_and_south(session: Any) -> None:
        await create_team(session, "South")

    asyncio.run(_read(settings.database_url, north_and_south))
    args = ["user", "create", "--email", "m@example.com", "--role", "manager"]
    args += ["--team", "North", "--team", "South", "--partner", "Acme"]

    result = CliRunner().invoke(main, args, env=env)

    assert result.exit_code == 0, result.output
    assert "/console/sign-in/" in result.output.splitlines()[-1]

    async def scope(session: Any) -> tuple[int, int]:
        user = await user_by_email(session, "m@example.com")
        assert user is not None
        seen = await user_scope(session, user)
        return len(seen.team_ids or ()), len(seen.partner_ids or ())

    assert asyncio.run(_read(settings.database_url, scope)) == (2, 1)
