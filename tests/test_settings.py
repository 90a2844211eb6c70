"""Settings read from PURSUIT_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.cli import _served_at
from backend.settings import Settings, parse_rates


def test_exchange_rates_read_as_codes_and_positive_numbers() -> None:
    assert parse_rates("usd=5.25, EUR=5.6,") == {"USD": 5.25, "EUR": 5.6}
    assert parse_rates("") == {}


@pytest.mark.parametrize("text", ["USD", "USD=0", "USD=-1", "DOLLAR=5", "USD=five"])
def test_bad_exchange_rate_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"write rates as USD=5\.1,EUR=5\.6"):
        parse_rates(text)


def test_links_follow_the_port_served_unless_a_base_url_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x")
    monkeypatch.delenv("PURSUIT_BASE_URL", raising=False)

    served = _served_at(settings, "0.0.0.0", 8011).base_url  # noqa: S104
    monkeypatch.setenv("PURSUIT_BASE_URL", "https://leads.example.com")

    assert served == "http://127.0.0.1:8011"
    assert _served_at(settings, "127.0.0.1", 8011).base_url == settings.base_url
