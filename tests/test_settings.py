"""Settings read from PURSUIT_* variables."""

from __future__ import annotations

import pytest

from backend.settings import parse_rates


def test_exchange_rates_read_as_codes_and_positive_numbers() -> None:
    assert parse_rates("usd=5.25, EUR=5.6,") == {"USD": 5.25, "EUR": 5.6}
    assert parse_rates("") == {}


@pytest.mark.parametrize("text", ["USD", "USD=0", "USD=-1", "DOLLAR=5", "USD=five"])
def test_bad_exchange_rate_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"write rates as USD=5\.1,EUR=5\.6"):
        parse_rates(text)
