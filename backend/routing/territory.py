"""Whether an agent's territories cover a lead's place, and if not, why not.

A territory is a dict naming any of ``TERRITORY_KEYS``; every key it names must
hold for the lead. An agent's territories are alternatives: one is enough.
Postal codes are text, so leading zeros count. A radius runs from the agent's
base location to the lead's coordinates, which intake finds from the postal
code or city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from backend.geo.service import distance_km

TERRITORY_KEYS = ("country", "postal_prefix", "region", "postal_range", "radius_km")


class PlaceFacts(Protocol):
    country: str | None
    region: str | None
    city: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None


def normalize_postal(code: str | None) -> str:
    """Upper case without spaces or hyphens: "01310-100" equals "01310 100"."""
    return "".join((code or "").replace("-", " ").split()).upper()


def postal_in_range(code: str | None, low: str, high: str) -> bool:
    """Codes compare as text of one length: "501" is not in "00100"-"00999"."""
    return _in_range(normalize_postal(code), normalize_postal(low), normalize_postal(high))


def _in_range(code: str, low: str, high: str) -> bool:
    return bool(code) and len(code) == len(low) == len(high) and low <= code <= high


def territory_covers(
    territory: dict[str, Any],
    lead: PlaceFacts,
    agent_latitude: float | None = None,
    agent_longitude: float | None = None,
) -> bool:
    """Every key the territory names must hold; missing data never matches."""
    return Area.of(territory).covers(Place.of(lead), agent_latitude, agent_longitude)


@dataclass(frozen=True, slots=True)
class Place:
    """A lead's place with its text normalized once, for checking many territories."""

    country: str | None
    region: str | None
    postal: str
    latitude: float | None
    longitude: float | None
    described: str

    @classmethod
    def of(cls, lead: PlaceFacts) -> Place:
        return cls(
            _text_key(lead.country),
            _text_key(lead.region),
            normalize_postal(lead.postal_code),
            lead.latitude,
            lead.longitude,
            describe_place(lead),
        )

    def distance_from(self, latitude: float | None, longitude: float | None) -> float | None:
        """Kilometres from a base to this place; None when either is unknown."""
        if latitude is None or longitude is None:
            return None
        if self.latitude is None or self.longitude is None:
            return None
        return distance_km(latitude, longitude, self.latitude, self.longitude)


@dataclass(frozen=True, slots=True)
class Area:
    """One territory with its text normalized once; None or "" where it names nothing."""

    country: str | None
    region: str | None
    prefix: str
    postal_range: tuple[str, str] | None
    radius_km: float | None

    @classmethod
    def of(cls, territory: dict[str, Any]) -> Area:
        bounds = territory.get("postal_range")
        return cls(
            _text_key(territory.get("country") or None),
            _text_key(territory.get("region") or None),
            normalize_postal(territory.get("postal_prefix")),
            (normalize_postal(bounds[0]), normalize_postal(bounds[1])) if bounds else None,
            territory.get("radius_km"),
        )

    def covers(self, place: Place, latitude: float | None, longitude: float | None) -> bool:
        if not self.holds_without_radius(place):
            return False
        if self.radius_km is None:
            return True
        distance = place.distance_from(latitude, longitude)
        return distance is not None and distance <= self.radius_km

    def holds_without_radius(self, place: Place) -> bool:
        if self.country is not None and self.country != place.country:
            return False
        if self.region is not None and self.region != place.region:
            return False
        code = place.postal
        if self.prefix and not code.startswith(self.prefix):
            return False
        if self.postal_range is None:
            return True
        return _in_range(code, *self.postal_range)


@dataclass(frozen=True, slots=True)
class Coverage:
    """An agent's territories compiled once: alternatives, one is enough."""

    areas: tuple[Area, ...]
    latitude: float | None
    longitude: float | None
    widest_radius: float | None

    @classmethod
    def of(
        cls,
        territories: Sequence[dict[str, Any]],
        latitude: float | None,
        longitude: float | None,
    ) -> Coverage:
        radii = [t["radius_km"] for t in territories if t.get("radius_km") is not None]
        areas = tuple(Area.of(t) for t in territories)
        return cls(areas, latitude, longitude, max(radii) if radii else None)

    def miss(self, place: Place) -> str | None:
        """Why no territory covers the place; None when one does or there are none."""
        if not self.areas:
            return None
        distance: float | None = None
        measured = False
        for area in self.areas:
            if not area.holds_without_radius(place):
                continue
            if area.radius_km is None:
                return None
            if not measured:
                distance, measured = place.distance_from(self.latitude, self.longitude), True
            if distance is not None and distance <= area.radius_km:
                return None
        reason = f"territory does not cover {place.described}"
        if self.widest_radius is None:
            return reason
        return f"{reason} ({self._radius_detail(place, self.widest_radius)})"

    def _radius_detail(self, place: Place, radius: float) -> str:
        if self.latitude is None or self.longitude is None:
            return f"radius {radius:g} km, but the agent has no base location"
        distance = place.distance_from(self.latitude, self.longitude)
        if distance is None:
            return f"radius {radius:g} km, but the lead's location is unknown"
        return f"{distance:,.1f} km from base, radius {radius:g} km"


def _text_key(value: str | None) -> str | None:
    return None if value is None else value.strip().lower()


def describe_place(lead: PlaceFacts) -> str:
    parts = [lead.country, lead.region, lead.postal_code or lead.city]
    if any(parts):
        return "/".join(p for p in parts if p)
    if lead.latitude is not None and lead.longitude is not None:
        return f"{lead.latitude:.3f},{lead.longitude:.3f}"
    return "an unknown place"


def territory_miss(
    territories: Sequence[dict[str, Any]],
    lead: PlaceFacts,
    agent_latitude: float | None,
    agent_longitude: float | None,
) -> str | None:
    """Why no territory covers the lead; None when one does or there are none.

    With radius territories the sentence adds the distance and the widest radius.
    """
    return Coverage.of(territories, agent_latitude, agent_longitude).miss(Place.of(lead))
