"""Eligibility rules, each case worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.routing.eligibility import (
    WEEKDAYS,
    AgentProfile,
    Clock,
    History,
    Judgement,
    LeadView,
    WeeklyHours,
    ineligibility,
    rule_mismatch,
    territory_covers,
    within_working_hours,
)

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
WEEKDAYS_9_TO_6 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@dataclass
class FakeLead:
    country: str | None = "BR"
    region: str | None = "SP"
    city: str | None = "São Paulo"
    postal_code: str | None = "01310-100"
    latitude: float | None = None
    longitude: float | None = None
    product: str | None = "solar"
    language: str | None = "pt"
    source: str = "web"
    campaign: str | None = None
    value: float | None = None


@dataclass
class FakeAgent:
    active: bool = True
    out_of_office_until: datetime | None = None
    timezone: str = "America/Sao_Paulo"
    working_hours: dict[str, Any] | None = None
    capacity: int = 5
    daily_cap: int | None = None
    territories: list[dict[str, Any]] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    products: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    value_min: float | None = None
    value_max: float | None = None


@pytest.mark.parametrize(
    ("territory", "covered"),
    [
        ({"country": "BR"}, True),
        ({"country": "br", "region": "sp"}, True),
        ({"country": "BR", "region": "RJ"}, False),
        ({"postal_prefix": "01"}, True),
        ({"postal_prefix": "013"}, True),
        ({"postal_prefix": "1"}, False),
        ({"country": "US", "postal_prefix": "01"}, False),
    ],
)
def test_territory_covers_by_every_named_key(territory: dict[str, str], covered: bool) -> None:
    assert territory_covers(territory, FakeLead()) is covered


def test_territory_never_covers_a_lead_without_postal_code() -> None:
    assert territory_covers({"postal_prefix": "01"}, FakeLead(postal_code=None)) is False


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        # São Paulo is UTC-3 all year: 12:00 UTC is 09:00 local, the first minute.
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), True),
        (datetime(2026, 12, 2, 11, 59, tzinfo=UTC), False),
        (datetime(2026, 12, 2, 20, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 2, 21, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 5, 15, 0, tzinfo=UTC), False),  # Saturday
    ],
)
def test_working_hours_are_wall_clock_in_the_agents_zone(at: datetime, inside: bool) -> None:
    assert within_working_hours(WEEKDAYS_9_TO_6, "America/Sao_Paulo", at) is inside


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        # Berlin: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer (DST from 29 March 2026).
        (datetime(2026, 3, 27, 8, 0, tzinfo=UTC), True),
        (datetime(2026, 3, 27, 7, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), True),
        (datetime(2026, 3, 30, 6, 59, tzinfo=UTC), False),
    ],
)
def test_working_hours_follow_daylight_saving(at: datetime, inside: bool) -> None:
    assert within_working_hours(WEEKDAYS_9_TO_6, "Europe/Berlin", at) is inside


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (datetime(2026, 12, 2, 23, 30, tzinfo=UTC), True),  # Wednesday 23:30
        (datetime(2026, 12, 3, 5, 59, tzinfo=UTC), True),  # Thursday 05:59, Wednesday's shift
        (datetime(2026, 12, 3, 6, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 2, 21, 59, tzinfo=UTC), False),
    ],
)
def test_night_shift_runs_past_midnight(at: datetime, inside: bool) -> None:
    assert within_working_hours({"wed": [["22:00", "06:00"]]}, "UTC", at) is inside


@pytest.mark.parametrize(
    ("agent", "load", "history", "reasons"),
    [
        (FakeAgent(), 0, History(), []),
        (FakeAgent(active=False), 0, History(), ["inactive"]),
        (
            FakeAgent(out_of_office_until=datetime(2026, 12, 10, tzinfo=UTC)),
            0,
            History(),
            ["out of office until 2026-12-10T00:00:00+00:00"],
        ),
        (FakeAgent(out_of_office_until=datetime(2026, 12, 1, tzinfo=UTC)), 0, History(), []),
        (FakeAgent(capacity=2), 2, History(), ["at capacity (2 of 2 open leads)"]),
        (
            FakeAgent(working_hours={"mon": [["09:00", "18:00"]]}),
            0,
            History(),
            ["outside working hours (Wed 09:00 America/Sao_Paulo)"],
        ),
        (
            FakeAgent(territories=[{"country": "BR", "region": "RJ"}]),
            0,
            History(),
            ["territory does not cover BR/SP/01310-100"],
        ),
        (FakeAgent(products=["wind"]), 0, History(), ["does not handle product solar"]),
        (FakeAgent(languages=["en", "es"]), 0, History(), ["does not speak pt"]),
        (FakeAgent(), 0, History(declined=True), ["declined this lead before"]),
        (FakeAgent(), 0, History(expired=True), ["let this lead expire before"]),
        (
            FakeAgent(active=False, capacity=0),
            0,
            History(declined=True),
            ["inactive", "at capacity (0 of 0 open leads)", "declined this lead before"],
        ),
    ],
)
def test_ineligibility_names_every_reason(
    agent: FakeAgent, load: int, history: History, reasons: list[str]
) -> None:
    assert ineligibility(agent, FakeLead(), NOON, load, history) == reasons


def test_unknown_language_does_not_exclude_anyone() -> None:
    assert (
        ineligibility(FakeAgent(languages=["en"]), FakeLead(language=None), NOON, 0, History())
        == []
    )


@pytest.mark.parametrize(
    ("conditions", "mismatch"),
    [
        ({}, None),
        ({"country": ["BR", "PT"]}, None),
        ({"country": ["US"]}, "country BR is not one of US"),
        ({"postal_prefix": ["01", "02"]}, None),
        ({"postal_prefix": ["2"]}, "postal code 01310-100 matches no prefix"),
        ({"product": ["solar"], "language": ["es"]}, "language pt is not one of es"),
        ({"campaign": ["spring"]}, "campaign (none) is not one of spring"),
        ({"source": []}, None),
    ],
)
def test_rule_mismatch_explains_the_first_failing_condition(
    conditions: dict[str, list[str]], mismatch: str | None
) -> None:
    assert rule_mismatch(conditions, FakeLead()) == mismatch


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 4, 0, 0, tzinfo=UTC), False),
    ],
)
def test_working_day_can_end_at_midnight(at: datetime, inside: bool) -> None:
    assert within_working_hours({"thu": [["09:00", "24:00"]]}, "UTC", at) is inside


EVERY_DAY_9_TO_5 = {d: [["09:00", "17:00"]] for d in WEEKDAYS}


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        # New York springs forward on Sunday 9 March 2025: 09:00 is 14:00 UTC the day
        # before and 13:00 UTC that day; 17:00 is 22:00 UTC, then 21:00 UTC.
        (datetime(2025, 3, 8, 13, 30, tzinfo=UTC), False),
        (datetime(2025, 3, 8, 14, 0, tzinfo=UTC), True),
        (datetime(2025, 3, 8, 21, 30, tzinfo=UTC), True),
        (datetime(2025, 3, 9, 12, 59, tzinfo=UTC), False),
        (datetime(2025, 3, 9, 13, 0, tzinfo=UTC), True),
        (datetime(2025, 3, 9, 13, 30, tzinfo=UTC), True),
        (datetime(2025, 3, 9, 20, 59, tzinfo=UTC), True),
        (datetime(2025, 3, 9, 21, 30, tzinfo=UTC), False),
        # It falls back on Sunday 2 November 2025: 09:00 is 13:00 UTC, then 14:00 UTC.
        (datetime(2025, 11, 1, 13, 30, tzinfo=UTC), True),
        (datetime(2025, 11, 1, 21, 0, tzinfo=UTC), False),
        (datetime(2025, 11, 2, 13, 30, tzinfo=UTC), False),
        (datetime(2025, 11, 2, 14, 0, tzinfo=UTC), True),
        (datetime(2025, 11, 2, 21, 30, tzinfo=UTC), True),
        (datetime(2025, 11, 2, 22, 0, tzinfo=UTC), False),
    ],
)
def test_working_hours_in_new_york_across_the_2025_changes(at: datetime, inside: bool) -> None:
    assert within_working_hours(EVERY_DAY_9_TO_5, "America/New_York", at) is inside


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        # Berlin springs forward on Sunday 30 March 2025: 09:00 is 08:00 UTC the day
        # before and 07:00 UTC that day; 17:00 is 16:00 UTC, then 15:00 UTC.
        (datetime(2025, 3, 29, 7, 30, tzinfo=UTC), False),
        (datetime(2025, 3, 29, 8, 0, tzinfo=UTC), True),
        (datetime(2025, 3, 29, 15, 30, tzinfo=UTC), True),
        (datetime(2025, 3, 30, 6, 59, tzinfo=UTC), False),
        (datetime(2025, 3, 30, 7, 30, tzinfo=UTC), True),
        (datetime(2025, 3, 30, 14, 59, tzinfo=UTC), True),
        (datetime(2025, 3, 30, 15, 30, tzinfo=UTC), False),
        # It falls back on Sunday 26 October 2025: 09:00 is 07:00 UTC, then 08:00 UTC.
        (datetime(2025, 10, 25, 7, 30, tzinfo=UTC), True),
        (datetime(2025, 10, 25, 15, 0, tzinfo=UTC), False),
        (datetime(2025, 10, 26, 7, 30, tzinfo=UTC), False),
        (datetime(2025, 10, 26, 8, 0, tzinfo=UTC), True),
        (datetime(2025, 10, 26, 15, 30, tzinfo=UTC), True),
        (datetime(2025, 10, 26, 16, 0, tzinfo=UTC), False),
    ],
)
def test_working_hours_in_berlin_across_the_2025_changes(at: datetime, inside: bool) -> None:
    assert within_working_hours(EVERY_DAY_9_TO_5, "Europe/Berlin", at) is inside


@pytest.mark.parametrize(
    ("zone", "at", "reason"),
    [
        (
            "America/New_York",
            datetime(2025, 11, 2, 13, 30, tzinfo=UTC),
            "outside working hours (Sun 08:30 America/New_York)",
        ),
        (
            "Europe/Berlin",
            datetime(2025, 3, 30, 15, 30, tzinfo=UTC),
            "outside working hours (Sun 17:30 Europe/Berlin)",
        ),
    ],
)
def test_ineligibility_outside_hours_names_the_local_clock(
    zone: str, at: datetime, reason: str
) -> None:
    agent = FakeAgent(timezone=zone, working_hours=EVERY_DAY_9_TO_5)

    assert ineligibility(agent, FakeLead(), at, 0, History()) == [reason]


@pytest.mark.parametrize(
    ("prefixes", "mismatch"),
    [
        (["041"], None),
        (["04101"], None),
        (["41"], "postal code 04101 matches no prefix"),
        (["042", "0410"], None),
    ],
)
def test_rule_postal_prefix_keeps_leading_zeros(prefixes: list[str], mismatch: str | None) -> None:
    lead = FakeLead(country="US", region="ME", postal_code="04101")

    assert rule_mismatch({"postal_prefix": prefixes}, lead) == mismatch


@pytest.mark.parametrize(
    ("agent", "lead", "reasons"),
    [
        (FakeAgent(value_min=1000, value_max=5000), FakeLead(value=1000), []),
        (
            FakeAgent(value_min=1000, value_max=5000),
            FakeLead(value=5000),
            ["takes only leads worth under 5000 (this one 5000)"],
        ),
        (
            FakeAgent(value_min=1000),
            FakeLead(value=999.5),
            ["takes only leads worth at least 1000 (this one 999.5)"],
        ),
        (FakeAgent(value_max=5000), FakeLead(), ["takes only leads with a known value"]),
        (FakeAgent(sources=["Fair"]), FakeLead(source="fair"), []),
        (
            FakeAgent(sources=["fair"]),
            FakeLead(source="web"),
            ["does not take leads from source web"],
        ),
        (FakeAgent(campaigns=["spring"]), FakeLead(campaign="Spring "), []),
        (
            FakeAgent(campaigns=["spring"]),
            FakeLead(),
            ["does not take leads from campaign (none given)"],
        ),
    ],
)
def test_ineligibility_by_value_band_source_and_campaign(
    agent: FakeAgent, lead: FakeLead, reasons: list[str]
) -> None:
    assert ineligibility(agent, lead, NOON, 0, History()) == reasons


@pytest.mark.parametrize(
    ("conditions", "value", "mismatch"),
    [
        ({"value_min": 1000}, 1000.0, None),
        ({"value_min": 1000}, 999.0, "matches only leads worth at least 1000 (this one 999)"),
        ({"value_max": 1000}, 1000.0, "matches only leads worth under 1000 (this one 1000)"),
        ({"value_min": 10, "value_max": 20}, None, "matches only leads with a known value"),
    ],
)
def test_rule_value_band_is_half_open(
    conditions: dict[str, float], value: float | None, mismatch: str | None
) -> None:
    assert rule_mismatch(conditions, FakeLead(value=value)) == mismatch


HOURS_CASES = {
    "office": WEEKDAYS_9_TO_6,
    "split and saturday": {
        "mon": [["08:30", "12:00"], ["13:15", "17:45"]],
        "sat": [["10:00", "14:00"]],
    },
    "overnight desk": {d: [["22:00", "06:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
    "until midnight": {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:30"]]},
    "always on": {d: [["00:00", "24:00"]] for d in WEEKDAYS},
    "wraps the whole day": {"tue": [["00:00", "00:00"]]},
    "no hours at all": {},
}
# Weeks around daylight-saving changes in each zone, sampled every 7 min 13 s.
DST_WEEKS = [
    ("Europe/Berlin", datetime(2026, 3, 26, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 22, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 5, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 10, 29, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 4, 2, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2026, 6, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "start"), DST_WEEKS)
@pytest.mark.parametrize("case", sorted(HOURS_CASES))
def test_weekly_hours_answer_as_within_working_hours_across_dst(
    zone: str, start: datetime, case: str
) -> None:
    hours = HOURS_CASES[case]
    weekly = WeeklyHours.of(hours)
    instants = [start + timedelta(seconds=433 * n) for n in range(7 * 24 * 3600 // 433)]

    answers = [weekly.open_at(*Clock(at).local(ZoneInfo(zone))) for at in instants]

    assert answers == [within_working_hours(hours, zone, at) for at in instants]


def test_weekly_hours_close_at_the_exact_end_minute() -> None:
    weekly = WeeklyHours.of({"wed": [["09:00", "18:00"]]})
    berlin = ZoneInfo("Europe/Berlin")

    last = Clock(datetime(2026, 12, 2, 16, 59, 59, 999999, tzinfo=UTC)).local(berlin)
    end = Clock(datetime(2026, 12, 2, 17, 0, tzinfo=UTC)).local(berlin)

    assert weekly.open_at(*last) is True
    assert weekly.open_at(*end) is False


def test_clock_converts_each_zone_once_and_names_its_local_time() -> None:
    clock = Clock(datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # a Saturday

    first = clock.local(ZoneInfo("America/Sao_Paulo"))

    assert clock.local(ZoneInfo("America/Sao_Paulo")) is first
    assert first == (5, 12 * 3600 * 1_000_000)
    assert clock.closed("America/Sao_Paulo") == (
        "outside working hours (Sat 12:00 America/Sao_Paulo)"
    )


def test_agent_profile_without_hours_never_looks_up_its_zone() -> None:
    agent = FakeAgent(timezone="Nowhere/Unknown", working_hours=None)

    profile = AgentProfile.of(agent)

    assert profile.zone is None
    assert profile.unavailability(Clock(NOON), 0, 0) == []


def test_agent_profile_keeps_its_answers_when_the_agent_changes_later() -> None:
    agent = FakeAgent(products=["solar"], sources=[" Web "])
    profile = AgentProfile.of(agent)

    agent.products.append("wind")
    agent.sources.clear()

    assert profile.products == ("solar",)
    assert profile.sources == frozenset({"web"})


def test_judgement_judges_a_shared_fit_once_and_gives_each_agent_its_own_reasons() -> None:
    fit: dict[str, Any] = {"territories": [{"country": "BR"}], "products": ["solar"]}
    ana = AgentProfile.of(FakeAgent(**fit))
    bea = AgentProfile.of(FakeAgent(**fit, active=False, working_hours=WEEKDAYS_9_TO_6))
    cai = AgentProfile.of(FakeAgent(working_hours=WEEKDAYS_9_TO_6))
    lead = LeadView.of(FakeLead(country="US", region="CA", postal_code="94105", product="wind"))
    judgement = Judgement(lead, Clock(NOON), {"bea": History(declined=True)})

    first = judgement.ruled_out("ana", ana, ana)
    first.append("changed by the caller")
    again = judgement.ruled_out("ana", ana, ana)
    for_bea = judgement.ruled_out("bea", bea, bea)

    misfit = ["territory does not cover US/CA/94105", "does not handle product wind"]
    assert ana.fit is bea.fit and bea.schedule is cai.schedule
    assert again == misfit
    assert for_bea == ["inactive", *misfit, "declined this lead before"]


def test_judgement_of_many_seats_answers_each_seats_reasons_in_order() -> None:
    fit: dict[str, Any] = {"territories": [{"country": "BR"}], "products": ["solar"]}
    profiles = {
        "ana": AgentProfile.of(FakeAgent(**fit)),
        "bea": AgentProfile.of(FakeAgent(**fit, active=False)),
        "cai": AgentProfile.of(FakeAgent()),
    }
    pool = [(agent_id, profile, profile) for agent_id, profile in profiles.items()]
    lead = LeadView.of(FakeLead(country="US", region="CA", postal_code="94105", product="wind"))
    judgement = Judgement(lead, Clock(NOON), {"cai": History(expired=True)})

    judged = judgement.each(pool)
    judged[0].append("changed by the caller")

    misfit = ["territory does not cover US/CA/94105", "does not handle product wind"]
    assert judged[1:] == [["inactive", *misfit], ["let this lead expire before"]]
    assert judgement.each(pool[:1]) == [misfit]
