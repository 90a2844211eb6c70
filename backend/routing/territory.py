"""Whether an agent's territories cover a lead's place, and if not, why not.

A territory is a dict naming any of ``TERRITORY_KEYS``; every key it names must
hold for the lead. An agent's territories are alternatives: one is enough.
Postal codes are text, so leading zeros count. A radius runs from the agent's
base location to the lead's coordinates, which intake finds from the postal
code or city.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _same_text(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return a.strip().lower() == b.strip().lower()


def postal_in_range(code: str | None, low: str, high: str) -> bool:
    """Codes compare as text of one length: "501" is not in "00100"-"00999"."""
    code, low, high = (normalize_postal(c) for c in (code, low, high))
    return bool(code) and len(code) == len(low) == len(high) and low <= code <= high


def distance_from_base(
    lead: PlaceFacts, agent_latitude: float | None, agent_longitude: float | None
) -> float | None:
    """Kilometres from the agent's base to the lead; None when either is unknown."""
    if agent_latitude is None or agent_longitude is None:
        return None
    if lead.latitude is None or lead.longitude is None:
        return None
    return distance_km(agent_latitude, agent_longitude, lead.latitude, lead.longitude)


def _place_matches(territory: dict[str, Any], lead: PlaceFacts) -> bool:
    country, region = territory.get("country"), territory.get("region")
    if country and not _same_text(country, lead.country):
        return False
    return not region or _same_text(region, lead.region)


def _postal_matches(territory: dict[str, Any], postal_code: str | None) -> bool:
    prefix = normalize_postal(territory.get("postal_prefix"))
    if prefix and not normalize_postal(postal_code).startswith(prefix):
        return False
    bounds = territory.get("postal_range")
    return not bounds or postal_in_range(postal_code, bounds[0], bounds[1])


def territory_covers(
    territory: dict[str, Any],
    lead: PlaceFacts,
    agent_latitude: float | None = None,
    agent_longitude: float | None = None,
) -> bool:
    """Every key the territory names must hold; missing data never matches."""
    if not _place_matches(territory, lead):
        return False
    if not _postal_matches(territory, lead.postal_code):
        return False
    radius = territory.get("radius_km")
    if radius is None:
        return True
    distance = distance_from_base(lead, agent_latitude, agent_longitude)
    return distance is not None and distance <= radius


def describe_place(lead: PlaceFacts) -> str:
    parts = [lead.country, lead.region, lead.postal_code or lead.city]
    if any(parts):
        return "/".join(p for p in parts if p)
    if lead.latitude is not None and lead.longitude is not None:
        return f"{lead.latitude:.3f},{lead.longitude:.3f}"
    return "an unknown place"


def _radius_detail(
    lead: PlaceFacts,
    agent_latitude: float | None,
    agent_longitude: float | None,
    radius: float,
) -> str:
    if agent_latitude is None or agent_longitude is None:
        return f"radius {radius:g} km, but the agent has no base location"
    distance = distance_from_base(lead, agent_latitude, agent_longitude)
    if distance is None:
        return f"radius {radius:g} km, but the lead's location is unknown"
    return f"{distance:,.1f} km from base, radius {radius:g} km"


def territory_miss(
    territories: Sequence[dict[str, Any]],
    lead: PlaceFacts,
    agent_latitude: float | None,
    agent_longitude: float | None,
) -> str | None:
    """Why no territory covers the lead; None when one does or there are none.

    With radius territories the sentence adds the distance and the widest radius.
    """
    base = (agent_latitude, agent_longitude)
    if not territories or any(territory_covers(t, lead, *base) for t in territories):
        return None
    reason = f"territory does not cover {describe_place(lead)}"
    radii = [t["radius_km"] for t in territories if t.get("radius_km") is not None]
    if not radii:
        return reason
    return f"{reason} ({_radius_detail(lead, *base, max(radii))})"
