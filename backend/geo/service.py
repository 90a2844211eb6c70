"""Coordinates for a lead's postal code or city, and great-circle distances.

The data ships under ``data/`` (its README names sources and licences) and is
read once, on first use. Nothing here reaches the network.
"""

from __future__ import annotations

import csv
import gzip
import logging
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
POSTAL_FILE = "postal_codes.csv.gz"
CITIES_FILE = "cities.csv.gz"
EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius

# Places with their own country code that use US ZIP codes.
US_ZIP_USERS = {"PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"}

Point = tuple[float, float]


@dataclass(frozen=True)
class _Place:
    region: str
    point: Point


def fold_name(name: str) -> str:
    """A place name as a lookup key: accents and case dropped, spaces collapsed."""
    if name.isascii():
        return " ".join(name.lower().split())
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _rows(name: str) -> Iterator[dict[str, str]]:
    with gzip.open(DATA_DIR / name, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


@cache
def _postal_index() -> tuple[dict[tuple[str, str], Point], dict[str, int]]:
    """Centroids by (country, code), and the code length each country keys on."""
    points: dict[tuple[str, str], Point] = {}
    lengths: dict[str, int] = {}
    for row in _rows(POSTAL_FILE):
        country, code = row["country"], row["code"]
        points[country, code] = (float(row["latitude"]), float(row["longitude"]))
        lengths[country] = len(code)
    logger.debug("geo postal codes loaded count=%d", len(points))
    return points, lengths


@cache
def _city_index() -> dict[tuple[str, str], list[_Place]]:
    """Places by (country, folded name), the most populous of a name first."""
    places: dict[tuple[str, str], list[_Place]] = defaultdict(list)
    for row in _rows(CITIES_FILE):
        point = (float(row["latitude"]), float(row["longitude"]))
        key = (row["country"], fold_name(row["name"]))
        places[key].append(_Place(row["region"], point))
    logger.debug("geo places loaded count=%d", len(places))
    return dict(places)


@cache
def _regions() -> dict[str, set[str]]:
    """The region codes the city data uses, per country."""
    known: dict[str, set[str]] = defaultdict(set)
    for (country, _), places in _city_index().items():
        known[country].update(place.region for place in places)
    return dict(known)


def postal_point(country: str, postal_code: str) -> Point | None:
    """The centroid of a postal code; ZIP+4 and full Canadian codes use their start.

    A code shorter than the country's keys (a ZIP that lost its leading zero)
    finds nothing.
    """
    country = country.strip().upper()
    country = "US" if country in US_ZIP_USERS else country
    points, lengths = _postal_index()
    if country not in lengths:
        return None
    code = "".join(c for c in postal_code.upper() if c.isalnum())
    if len(code) < lengths[country]:
        return None
    return points.get((country, code[: lengths[country]]))


def city_point(country: str, city: str, region: str | None = None) -> Point | None:
    """The most populous place of that name in the country, or in the region.

    A known region without such a place gives None rather than a namesake
    elsewhere; a region written in a form the data does not use is ignored.
    """
    country = country.strip().upper()
    places = _city_index().get((country, fold_name(city)))
    if not places:
        return None
    wanted = (region or "").strip().upper()
    if not wanted or wanted not in _regions().get(country, set()):
        return places[0].point
    return next((p.point for p in places if p.region.upper() == wanted), None)


def resolve(
    country: str | None,
    postal_code: str | None,
    city: str | None,
    region: str | None = None,
) -> Point | None:
    """(latitude, longitude) of a lead's postal code, or else of its city."""
    if not country:
        return None
    point = postal_point(country, postal_code) if postal_code else None
    if point is None and city:
        point = city_point(country, city, region)
    return point


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a spherical Earth (haversine), in kilometres.

    Longitudes enter only through the sine of half their difference, so points
    either side of the 180° meridian come out as close as they are.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    across = math.sin((phi2 - phi1) / 2) ** 2
    along = math.sin(math.radians(lon2 - lon1) / 2) ** 2
    h = across + math.cos(phi1) * math.cos(phi2) * along
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
