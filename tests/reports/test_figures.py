"""Percentiles as the metrics endpoint computes them."""

from __future__ import annotations

import pytest

from backend.reports.service import percentile


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
