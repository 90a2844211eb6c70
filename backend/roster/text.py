"""The roster's fields written as short text, as people type them in forms and CSV files.

Territories read ``BR/SP/01`` (country, region, postal prefix; later parts optional), one
per line or separated by ``;``. Lists are comma or semicolon separated. Working hours read
``09:00-12:00, 13:00-18:00`` for one day; a whole week ``mon=09:00-18:00; tue=…``.
"""

from __future__ import annotations

import re
from typing import Any

from backend.errors import BadInput
from backend.routing.eligibility import WEEKDAYS

SEPARATORS = re.compile(r"[;\n]")
LIST_SEPARATORS = re.compile(r"[,;\n]")
INTERVAL = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


def parse_list(text: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(text or "") if part.strip()]


def list_text(values: list[str] | None) -> str:
    return ", ".join(values or [])


def parse_territories(text: str) -> list[dict[str, Any]]:
    territories: list[dict[str, Any]] = []
    for line in (part.strip() for part in SEPARATORS.split(text or "")):
        if not line:
            continue
        parts = [p.strip() for p in line.split("/")]
        if len(parts) > 3 or not all(parts):
            raise BadInput(
                f"Territory {line!r} should read country/region/postal prefix, such as BR/SP/01.",
                field="territories",
            )
        territory = dict(zip(("country", "region", "postal_prefix"), parts, strict=False))
        territories.append(territory)
    return territories


def territories_text(territories: list[dict[str, Any]] | None, joiner: str = "\n") -> str:
    lines = []
    for territory in territories or []:
        parts = [territory.get(key) for key in ("country", "region", "postal_prefix")]
        if set(territory) - {"country", "region", "postal_prefix"}:
            continue  # ranges and radii are kept as they are; the API edits them
        lines.append("/".join(p for p in parts if p))
    return joiner.join(lines)


def parse_day(day: str, text: str) -> list[list[str]]:
    intervals = []
    for part in (p for p in text.split(",") if p.strip()):
        match = INTERVAL.match(part)
        if match is None:
            raise BadInput(
                f"Working hours on {day} read {part.strip()!r}; write 09:00-18:00.",
                field=f"hours_{day}",
            )
        intervals.append([t.zfill(5) for t in match.groups()])
    return intervals


def day_text(hours: dict[str, Any] | None, day: str) -> str:
    return ", ".join(f"{a}-{b}" for a, b in (hours or {}).get(day, []))


def parse_week(text: str) -> dict[str, list[list[str]]] | None:
    """``mon=09:00-18:00; tue=…``; empty text means always available."""
    if not text.strip():
        return None
    hours: dict[str, list[list[str]]] = {}
    for item in (p.strip() for p in text.split(";") if p.strip()):
        day, sep, intervals = item.partition("=")
        day = day.strip().lower()
        if not sep or day not in WEEKDAYS:
            raise BadInput(
                f"Working hours {item!r} should read mon=09:00-18:00.", field="working_hours"
            )
        hours[day] = parse_day(day, intervals)
    return hours


def week_text(hours: dict[str, Any] | None) -> str:
    if hours is None:
        return ""
    return "; ".join(f"{day}={day_text(hours, day)}" for day in WEEKDAYS if day in hours)
