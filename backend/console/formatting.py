"""How the console writes times, durations, amounts and figures for people to read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.db import as_utc
from backend.reports.service import Summary
from backend.routing.strategies import shown_records

MISSING = "—"


def when(value: datetime | None) -> str:
    """An instant in UTC, to the second: ``2026-12-03 14:05:09 UTC``."""
    if value is None:
        return MISSING
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """Whole units, coarser as the span grows, so a live figure does not flicker."""
    if seconds is None:
        return MISSING
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if whole < 3600:
        return f"{minutes} min"
    if whole < 86400:
        return f"{hours} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{days} d" + (f" {hours % 24} h" if hours % 24 else "")


def amount(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.2f}"


def headline_amount(value: float) -> str:
    """An amount for a dashboard card: cents only while they still say something."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def percent(share: float) -> str:
    return f"{share:.1%}"


def person(lead: Any) -> str:
    """The person's name, or an empty string when the inquiry gave none."""
    return " ".join(part for part in (lead.first_name, lead.last_name) if part)


def lead_title(lead: Any) -> str:
    return str(lead.company or person(lead) or lead.email or "Unnamed inquiry")


def data_pairs(
    data: dict[str, Any] | None, agents: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """An event's or payload's fields as text, in stored order; agent ids become names."""
    pairs = []
    for key, value in (data or {}).items():
        if key == "agent_id" and agents and value in agents:
            pairs.append(("agent", agents[value]))
        else:
            pairs.append((str(key), value_text(value)))
    return pairs


STORED_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def value_text(value: Any) -> str:
    """A stored value as people read it: lists joined, pairs spelled out, instants in UTC."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or MISSING
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items()) or MISSING
    if isinstance(value, str) and STORED_INSTANT.match(value):
        try:
            return when(as_utc(datetime.fromisoformat(value)))
        except ValueError:
            return value
    return str(value)


def actor(label: str, agents: dict[str, str]) -> str:
    """``agent:<id>`` as the agent's name; other actors (router, system, keys) as stored."""
    kind, _, ident = label.partition(":")
    if kind == "agent" and ident in agents:
        return agents[ident]
    if kind == "user":
        return "a manager"
    return label


CONSOLE_USER = re.compile(r"\(?user:[0-9a-f]{32}\)?")


def without_user_ids(text: str) -> str:
    """A stored sentence naming a console user by id, as people read it."""
    return CONSOLE_USER.sub("by a manager", text)


def score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str
    note: str = ""
    unit: str = ""


def figure_cards(figures: Summary, currency: str | None = None) -> list[Figure]:
    """The dashboard's cards; amounts carry ``currency`` when the period's leads share one."""
    unit = currency or ""
    return [
        Figure("leads", "Leads", str(figures.leads)),
        Figure("pursued", "Pursued", str(figures.pursued), "contact logged"),
        Figure("pursuit_rate", "Pursuit rate", percent(figures.pursuit_rate)),
        Figure("lost_leads", "Lost leads", str(figures.lost_leads), "never contacted"),
        Figure(
            "lost_revenue",
            "Lost revenue",
            headline_amount(figures.lost_revenue),
            _unconverted(figures.unconverted_lost_revenue),
            unit,
        ),
        Figure("lrl", "LRL", headline_amount(figures.lrl), "lost revenue per lead", unit),
        Figure("accept_p50", "Time to accept, median", duration(figures.accept_time_p50_s)),
        Figure("accept_p90", "Time to accept, p90", duration(figures.accept_time_p90_s)),
        Figure(
            "contact_p50", "Time to first contact, median", duration(figures.contact_time_p50_s)
        ),
        Figure("contact_p90", "Time to first contact, p90", duration(figures.contact_time_p90_s)),
        Figure(
            "sla_breaches",
            "SLA breaches",
            str(figures.sla_breaches),
            "an accept or contact deadline missed",
        ),
        Figure("unassigned", "Unassigned", str(figures.unassigned), "waiting for a manager"),
    ]


def _unconverted(amounts: dict[str, float]) -> str:
    """Lost value the total leaves out for want of an exchange rate."""
    if not amounts:
        return ""
    parts = ", ".join(f"{code} {amount(value)}" for code, value in amounts.items())
    return f"plus {parts} without an exchange rate"


HELPERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "duration": duration,
    "amount": amount,
    "person": person,
    "lead_title": lead_title,
    "data_pairs": data_pairs,
    "actor": actor,
    "score": score,
    "shown_candidates": shown_records,
}
