"""``pursuit crm``: connecting from the command line, as an operator scripting a set-up would."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli import main


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PURSUIT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PURSUIT_SECRET_KEY", "cli-secret-key")
    return tmp_path


def test_crm_connect_prints_the_id_and_list_shows_it(environment: Path) -> None:
    runner = CliRunner()

    made = runner.invoke(
        main,
        [
            "crm",
            "connect",
            "hubspot",
            "--token",
            "pat-9",
            "--base-url",
            "http://127.0.0.1:9/",
            "--name",
            "EU",
        ],
    )
    listed = runner.invoke(main, ["crm", "list"])

    assert made.exit_code == 0, made.output
    lines = made.output.strip().splitlines()
    assert lines[-2] == "EU (hubspot) connected at http://127.0.0.1:9:"
    connection_id = lines[-1]
    assert len(connection_id) == 32
    assert listed.output.strip().splitlines()[-1] == (
        f"{connection_id}  hubspot     EU  pending=0 parked=0 last_success=never"
    )


def test_crm_connect_salesforce_without_a_secret_or_key_is_refused(environment: Path) -> None:
    result = CliRunner().invoke(main, ["crm", "connect", "salesforce", "--client-id", "3MVG9"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: A salesforce connection needs client_id+client_secret or "
        "client_id+username+private_key."
    )


def test_crm_test_of_an_unreachable_crm_says_so(environment: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        main, ["crm", "connect", "hubspot", "--token", "pat-9", "--base-url", "http://127.0.0.1:9"]
    )

    result = runner.invoke(main, ["crm", "test", made.output.strip().splitlines()[-1]])

    assert result.exit_code == 1
    assert (
        result.output.strip().splitlines()[-1]
        == "Error: HubSpot could not be reached: ConnectError."
    )
