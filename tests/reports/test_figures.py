"""Percentiles and money as the metrics endpoint computes them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backend.reports.service import Money, add_up, percentile, reporting_currency


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([10.0, 20.0], 0.5, 15.0),
        ([30.0, 10.0, 20.0], 0.5, 20.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9, 9.1),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], share: float, expected: float | None
) -> None:
    result = percentile(values, share)

    assert result == (None if expected is None else pytest.approx(expected))


@dataclass
class Row:
    value: float | None
    currency: str | None


def test_reporting_currency_is_the_configured_one_else_the_most_used() -> None:
    rows = [Row(1, "EUR"), Row(2, "BRL"), Row(3, "BRL"), Row(None, "USD")]

    assert reporting_currency(rows, Money()) == "BRL"
    assert reporting_currency(rows, Money("USD")) == "USD"
    assert reporting_currency([Row(1, "EUR"), Row(1, "BRL")], Money()) == "BRL"
    assert reporting_currency([Row(None, None)], Money()) is None


def test_add_up_converts_at_the_given_rates_and_keeps_the_rest_apart() -> None:
    lost = [Row(100, "BRL"), Row(10, "USD"), Row(7, "EUR"), Row(5, None), Row(None, "BRL")]

    total, unconverted = add_up(lost, "BRL", Money("BRL", {"USD": 5.25}))

    assert total == 157.5  # 100 + 10 x 5.25 + 5, a lead without currency being in BRL
    assert unconverted == {"EUR": 7.0}
