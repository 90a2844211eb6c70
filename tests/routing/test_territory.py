"""Territories over real geography: postal prefixes and ranges, radii, and the bundled places.

Expected distances were worked out independently of the code under test: as the angle
between the two points' unit vectors, atan2(|a x b|, a . b), times the mean Earth radius
of 6371.0088 km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from backend.geo.service import distance_km, resolve
from backend.routing.territory import (
    describe_place,
    postal_in_range,
    territory_covers,
    territory_miss,
)

SAO_PAULO = (-23.547, -46.636)  # the shipped centroid of the city
PORTLAND_ME_04101 = (43.661, -70.259)  # the shipped centroid of ZIP 04101


@dataclass
class Place:
    country: str | None = "US"
    region: str | None = "ME"
    city: str | None = None
    postal_code: str | None = "04101"
    latitude: float | None = None
    longitude: float | None = None


@pytest.mark.parametrize(
    ("prefix", "covered"),
    [("041", True), ("04101", True), ("0", True), ("4101", False), ("41", False), ("042", False)],
)
def test_postal_prefix_keeps_leading_zeros(prefix: str, covered: bool) -> None:
    assert territory_covers({"postal_prefix": prefix}, Place(postal_code="04101")) is covered


@pytest.mark.parametrize(
    ("code", "low", "high", "inside"),
    [
        ("04101", "04000", "04999", True),
        ("04000", "04000", "04999", True),
        ("04999", "04000", "04999", True),
        ("03999", "04000", "04999", False),
        ("05000", "04000", "04999", False),
        # A code that lost its leading zero sorts between the bounds as text, yet never matches.
        ("4101", "04000", "49999", False),
        ("041011234", "04000", "04999", False),
        ("01310-100", "01000-000", "01999-999", True),
        ("01310100", "01000-000", "01999-999", True),
        ("k1a 0b1", "K1A0A0", "K1A9Z9", True),
        (None, "04000", "04999", False),
    ],
)
def test_postal_range_compares_codes_of_one_length(
    code: str | None, low: str, high: str, inside: bool
) -> None:
    assert postal_in_range(code, low, high) is inside


def test_postal_range_territory_also_checks_the_country() -> None:
    territory = {"country": "US", "postal_range": ["04000", "04999"]}

    assert territory_covers(territory, Place()) is True
    assert territory_covers(territory, Place(country="BR")) is False


def test_distance_across_the_antimeridian_on_the_equator() -> None:
    # One degree of longitude apart, across 180°: R * pi / 180 km, not 359 degrees' worth.
    expected = 6371.0088 * math.pi / 180

    assert distance_km(0.0, 179.5, 0.0, -179.5) == pytest.approx(expected, abs=0.001)
    assert distance_km(0.0, -179.5, 0.0, 179.5) == pytest.approx(expected, abs=0.001)


def test_distance_across_the_antimeridian_from_suva() -> None:
    suva, east_of_the_line = (-18.1416, 178.4419), (-16.5, -179.9)

    assert distance_km(*suva, *east_of_the_line) == pytest.approx(253.569, abs=0.5)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((52.52, 13.405), (48.8566, 2.3522), 877.465),  # Berlin to Paris
        ((13.405, 52.52), (2.3522, 48.8566), 1293.354),  # the same figures swapped
        ((60.0, 0.0), (60.0, 10.0), 555.446),  # ten degrees of longitude at 60°N
        ((0.0, 0.0), (10.0, 0.0), 1111.951),  # ten degrees of latitude
        ((90.0, 0.0), (-90.0, 0.0), 20015.114),  # pole to pole
        ((-23.547, -46.636), (-23.547, -46.636), 0.0),
    ],
)
def test_distance_takes_latitude_first(
    a: tuple[float, float], b: tuple[float, float], expected: float
) -> None:
    assert distance_km(*a, *b) == pytest.approx(expected, abs=0.5)


def test_radius_covers_a_lead_within_it_and_not_beyond() -> None:
    territory = {"radius_km": 100}
    near = Place(latitude=43.0, longitude=-70.259)  # 73.5 km due south of the base
    far = Place(latitude=42.7, longitude=-70.259)  # 106.9 km due south

    assert territory_covers(territory, near, *PORTLAND_ME_04101) is True
    assert territory_covers(territory, far, *PORTLAND_ME_04101) is False


def test_radius_across_the_antimeridian_covers_the_near_side() -> None:
    lead = Place(country="FJ", region=None, postal_code=None, latitude=-16.5, longitude=-179.9)

    assert territory_covers({"radius_km": 260}, lead, -18.1416, 178.4419) is True
    assert territory_covers({"radius_km": 250}, lead, -18.1416, 178.4419) is False


def test_radius_never_covers_without_a_base_or_lead_coordinates() -> None:
    placed = Place(latitude=43.661, longitude=-70.259)

    assert territory_covers({"radius_km": 20_000}, placed, None, None) is False
    assert territory_covers({"radius_km": 20_000}, Place(), *PORTLAND_ME_04101) is False


@pytest.mark.parametrize(
    ("territories", "base", "lead", "reason"),
    [
        ([], None, Place(), None),
        ([{"country": "US"}], None, Place(), None),
        ([{"country": "CA"}], None, Place(), "territory does not cover US/ME/04101"),
        (
            [{"country": "CA"}, {"radius_km": 50}],
            PORTLAND_ME_04101,
            Place(postal_code="04401", latitude=44.8, longitude=-68.8),
            "territory does not cover US/ME/04401 (171.9 km from base, radius 50 km)",
        ),
        (
            [{"radius_km": 12.5}],
            None,
            Place(latitude=43.661, longitude=-70.259),
            "territory does not cover US/ME/04101 (radius 12.5 km, but the agent has no base"
            " location)",
        ),
        (
            [{"radius_km": 50}],
            SAO_PAULO,
            Place(country="BR", region="SP", city="Atlantis", postal_code=None),
            "territory does not cover BR/SP/Atlantis (radius 50 km, but the lead's location is"
            " unknown)",
        ),
    ],
)
def test_territory_miss_says_which_place_and_how_far(
    territories: list[dict[str, Any]],
    base: tuple[float, float] | None,
    lead: Place,
    reason: str | None,
) -> None:
    latitude, longitude = base or (None, None)

    assert territory_miss(territories, lead, latitude, longitude) == reason


def test_describe_place_falls_back_to_coordinates() -> None:
    lead = Place(country=None, region=None, postal_code=None, latitude=-16.5, longitude=-179.9)

    assert describe_place(lead) == "-16.500,-179.900"
    assert describe_place(Place(country=None, region=None, postal_code=None)) == "an unknown place"


@pytest.mark.parametrize(
    ("country", "postal_code", "city", "region", "point"),
    [
        ("US", "04101", None, None, PORTLAND_ME_04101),
        ("us", "04101-1234", "Nowhere", None, PORTLAND_ME_04101),
        ("US", "4101", None, None, None),  # a ZIP that lost its leading zero
        ("PR", "00901", None, None, (18.465, -66.104)),  # Puerto Rico uses US ZIP codes
        ("CA", "h2x 1y4", None, None, (45.515, -73.574)),  # by its first three characters
        ("BR", "01310-100", "São Paulo", "SP", SAO_PAULO),  # no CEP data: the city decides
        ("BR", None, "sao  paulo", None, SAO_PAULO),
        ("BR", None, "Campo Grande", None, (-20.443, -54.646)),  # the larger, in MS
        ("BR", None, "Campo Grande", "sp", (-23.675, -46.688)),
        ("BR", None, "Campo Grande", "RJ", None),  # a known state without one
        ("BR", None, "Campo Grande", "Mato Grosso do Sul", (-20.443, -54.646)),
        ("US", None, "New York", "NY", (40.757, -73.98)),
        (None, "04101", "Portland", None, None),
    ],
)
def test_resolve_from_the_shipped_data(
    country: str | None,
    postal_code: str | None,
    city: str | None,
    region: str | None,
    point: tuple[float, float] | None,
) -> None:
    assert resolve(country, postal_code, city, region) == point
