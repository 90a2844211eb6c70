"""How the console writes durations, instants, amounts and event data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.console.formatting import actor, amount, data_pairs, duration, percent, when


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.4, "0 s"),
        (59.9, "59 s"),
        (600.7, "10 min"),
        (3600, "1 h"),
        (3600 + 25 * 60, "1 h 25 min"),
        (86400, "1 d"),
        (86400 * 2 + 3 * 3600 + 59, "2 d 3 h"),
    ],
)
def test_duration_uses_whole_coarse_units(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_when_writes_utc_to_the_second() -> None:
    brasilia = timezone(timedelta(hours=-3))

    assert when(datetime(2026, 12, 3, 11, 5, 9, 999, tzinfo=brasilia)) == "2026-12-03 14:05:09 UTC"
    assert when(None) == "—"


def test_amount_and_percent() -> None:
    assert (amount(72500), amount(None), percent(0.2857)) == ("72,500.00", "—", "28.6%")


def test_agent_ids_show_as_names() -> None:
    agents = {"a1": "Ana Souza"}

    assert data_pairs({"offer_id": "o1", "agent_id": "a1", "note": None}, agents) == [
        ("offer_id", "o1"),
        ("agent", "Ana Souza"),
        ("note", "—"),
    ]
    assert (actor("agent:a1", agents), actor("agent:zz", agents), actor("router", agents)) == (
        "Ana Souza",
        "agent:zz",
        "router",
    )


def test_stored_values_read_as_words_not_as_python() -> None:
    data = {
        "keys": ["email", "phone"],
        "scores": {"name": 0.97, "company": 1.0},
        "expires_at": "2026-12-04T10:15:00+01:00",
        "broadcast": True,
        "note": "2026-12-04 was a Friday",
        "nothing": [],
    }

    assert data_pairs(data) == [
        ("keys", "email, phone"),
        ("scores", "name: 0.97; company: 1.0"),
        ("expires_at", "2026-12-04 09:15:00 UTC"),
        ("broadcast", "yes"),
        ("note", "2026-12-04 was a Friday"),
        ("nothing", "—"),
    ]


def test_when_keeps_utc_input() -> None:
    assert when(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05 UTC"
