"""`pursuit replay` as an operator runs it: a table or JSON, and bad files refused with status 2."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli import main
from backend.db import create_engine, session_factory, upgrade_database
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry
from backend.roster.service import create_agent
from backend.routing.service import create_rule


async def _history(url: str) -> dict[str, str]:
    """Ana really got both March leads; a proposal splits them with Bruno."""
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        ana = await create_agent(session, {"name": "Ana", "capacity": 10})
        bruno = await create_agent(session, {"name": "Bruno", "capacity": 10})
        await create_rule(session, {"name": "all", "pool": {"agent_ids": [ana.id]}})
        for number, day in ((1, 2), (2, 3), (3, 9)):
            lead = LeadIn(
                source="web",
                email=f"p{number}@example.org",
                received_at=datetime(2026, 3, day, 12, tzinfo=UTC),
            )
            await submit_inquiry(session, lead)
    await engine.dispose()
    return {"ana": ana.id, "bruno": bruno.id}


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}"
    monkeypatch.setenv("PURSUIT_DATABASE_URL", url)
    monkeypatch.setenv("PURSUIT_VAR_DIR", str(tmp_path))
    upgrade_database(url)
    return asyncio.run(_history(url))


def _rules_file(tmp_path: Path, ids: dict[str, str]) -> Path:
    path = tmp_path / "proposal.json"
    rule = {"name": "Split", "priority": 5, "pool": {"agent_ids": [ids["ana"], ids["bruno"]]}}
    path.write_text(json.dumps({"rules": [rule]}))
    return path


def _replay(*args: str) -> list[str]:
    return ["replay", "--since", "2026-03-01", "--until", "2026-03-03", *args]


def test_replay_prints_tables(tmp_path: Path, history: dict[str, str]) -> None:
    proposal = _rules_file(tmp_path, history)

    result = CliRunner().invoke(main, _replay("--rules", str(proposal)))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2 leads received 2026-03-01 to 2026-03-03 (UTC) replayed; nothing was saved.",
        "",
        "Rule   Priority  Strategy     Leads",
        "Split         5  round_robin      2",
        "",
        "Agent  Proposed offered  Proposed owned  Actual offered  Actual owned",
        "Ana                   1               1               2             0",
        "Bruno                 1               1               0             0",
        "",
        "            Proposed  Actual",
        "Unassigned         0       0",
    ]


def test_replay_prints_json(tmp_path: Path, history: dict[str, str]) -> None:
    proposal = _rules_file(tmp_path, history)

    result = CliRunner().invoke(main, _replay("--rules", str(proposal), "--json"))

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["since"], report["until"]) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-04T00:00:00+00:00",
    )
    assert report["rules"] == [
        {
            "rule_id": "proposed-1",
            "name": "Split",
            "priority": 5,
            "strategy": "round_robin",
            "leads": 2,
        }
    ]
    assert report["agents"][0] == {
        "agent_id": history["ana"],
        "name": "Ana",
        "proposed": {"offered": 1, "owned": 1},
        "actual": {"offered": 2, "owned": 0},
    }
    assert report["unassigned"] == {"proposed": 0, "actual": 0}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('[{"name": "x", "priority": -1}]', "Error: bad.json: Rule 1: priority must be between 0"),
        ("not json", "Error: bad.json: The file is not JSON: Expecting value"),
        (
            '[{"name": "x", "pool": {"team_ids": ["t9"]}}]',
            "Error: Rule 'x': the pool names team t9, which has no agent.",
        ),
    ],
)
def test_replay_refuses_a_bad_file_with_status_2(
    tmp_path: Path, history: dict[str, str], content: str, error: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)

    result = CliRunner().invoke(main, _replay("--rules", str(bad)))

    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1
    assert result.output.startswith(error)


def test_replay_until_the_end_of_the_calendar_is_refused_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text("[]")

    result = CliRunner().invoke(
        main, ["replay", "--since", "0001-01-01", "--until", "9999-12-31", "--rules", str(rules)]
    )

    assert result.exit_code == 2
    assert "--until must be before 9999." in result.output
