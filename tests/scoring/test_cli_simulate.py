"""`pursuit simulate` as an operator runs it: a table or JSON, bad files refused with status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli import main

SCENARIO = Path(__file__).parent / "data" / "two_partners.json"
FIGURE_KEYS = {
    "lrl",
    "lost_revenue",
    "pursuit_rate",
    "accept_time_p50_s",
    "contact_time_p50_s",
    "won_revenue",
    "partner_share",
}


def _simulate(*args: str) -> list[str]:
    return ["simulate", "--agents-model", str(SCENARIO), "--seed", "3", *args]


def test_simulate_prints_one_row_per_strategy() -> None:
    result = CliRunner().invoke(main, _simulate())

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Scenario 'two-partners': 60 leads, seed 3, through each strategy; nothing was saved.",
        "",
        "Strategy         LRL  Lost revenue  Pursued  Accept p50  Contact p50  Won revenue"
        "  Partner share / fair",
        "round_robin   525.17        31,510    46.7%     6.5 min        2.2 h        7,412"
        "  north 1.18, south 0.45",
        "least_loaded  642.74        38,565    38.3%     7.5 min        2.2 h        7,141"
        "  north 1.16, south 0.49",
        "score         463.07        27,784    53.3%     6.5 min        2.1 h        6,446"
        "  north 1.16, south 0.49",
    ]


def test_simulate_prints_json_keyed_by_strategy() -> None:
    result = CliRunner().invoke(main, _simulate("--json"))

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert list(figures) == ["round_robin", "least_loaded", "score"]
    assert all(set(row) == FIGURE_KEYS for row in figures.values())
    assert figures["round_robin"] == {
        "lrl": 525.17,
        "lost_revenue": 31510.04,
        "pursuit_rate": 0.4667,
        "accept_time_p50_s": 387.7,
        "contact_time_p50_s": 7782.6,
        "won_revenue": 7411.8,
        "partner_share": {"north": 1.175, "south": 0.45},
    }
    assert figures["score"]["lrl"] == 463.07
    assert figures["score"]["partner_share"] == {"north": 1.16, "south": 0.494}


def test_simulate_same_seed_prints_the_same_figures() -> None:
    first = CliRunner().invoke(main, _simulate("--json")).output

    again = CliRunner().invoke(main, _simulate("--json")).output
    other = CliRunner().invoke(main, [*_simulate("--json")[:-2], "--seed", "4"]).output

    assert first == again
    assert first != other


def test_simulate_defaults_to_the_bundled_scenario() -> None:
    result = CliRunner().invoke(main, ["simulate", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["round_robin"]["lrl"] == 1088.98


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not a readable JSON agents model"),
        ("[]", "must hold one JSON object"),
        ('{"agents": []}', "the agents model lists no agents"),
        ('{"agents": [{"id": "a", "accept": 2}]}', "accept must be between 0 and 1"),
        ('{"agents": [{"id": "a"}], "leads": {"per_hour": 0}}', "per_hour must be a number"),
        ('{"agents": [{"id": "a"}], "leads": {"count": 1e12}}', "count must be a number"),
        (
            '{"agents": [{"id": "a", "partner": "p"}], "partners": [{"id": "p", "fair_share": 0}]}',
            "fair_share must be a number",
        ),
        (
            '{"agents": [{"id": "a", "response_sigma": -1}]}',
            "agent a: response_sigma must not be negative",
        ),
        ('{"a":' + "[" * 5000 + "]" * 5000 + "}", "is not a readable JSON agents model"),
    ],
)
def test_simulate_bad_file_is_refused_in_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "agents.json"
    path.write_text(content)

    result = CliRunner().invoke(main, ["simulate", "--agents-model", str(path)])

    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_simulate_missing_file_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--agents-model", str(tmp_path / "no.json")])

    assert result.exit_code == 2
    assert "is not a readable JSON agents model" in result.output


def test_simulate_olist_takes_no_agents_model() -> None:
    result = CliRunner().invoke(main, [*_simulate(), "--olist"])

    assert result.exit_code == 2
    assert "--olist" in result.output


def test_simulate_olist_replays_the_sample() -> None:
    result = CliRunner().invoke(main, ["simulate", "--olist", "--json"])

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["round_robin"]["lrl"] == 1568.75
    assert figures["score"]["lrl"] == 840.0
    assert figures["score"]["partner_share"] == {}
