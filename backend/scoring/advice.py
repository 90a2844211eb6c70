"""A score's parts in plain words: what each measures, and what would raise it.

Counts are read from decayed statistics, so "about 3 of your 8" weighs recent leads
most; a part is only advised on when it takes points away against the team.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.scoring.model import RATES, AgentScore, Part, ScoringConfig, Stats

LABELS = {
    "acceptance": "Offers accepted",
    "accept_time": "Time to answer an offer",
    "contact_time": "Time to first contact",
    "contact_on_time": "First contact before the deadline",
    "feedback": "Outcomes recorded",
    "conversion": "Leads won",
    "reach": "Offers and notifications answered",
}
REASONS = {
    "offers_expired": "Recent offers all expired",
    "notifications_bounced": "Notifications bounced",
    "manager": "Marked by a manager",
}
SMALLEST_POINTS = 0.5
"""A part costing fewer score points than this is not worth a sentence."""


@dataclass(frozen=True)
class RateAdvice:
    action: str
    noun: str
    miss: str


RATE_ADVICE = {
    "acceptance": RateAdvice(
        "Accept more of the leads you are offered", "offers", "were declined or left to expire"
    ),
    "reach": RateAdvice(
        "Answer offers before they expire, and keep notifications on",
        "offers and notifications",
        "got no answer",
    ),
    "contact_on_time": RateAdvice(
        "Log a first contact before the deadline", "accepted leads", "had none in time"
    ),
    "feedback": RateAdvice(
        "Record won or lost once a lead closes", "closed leads", "have no outcome recorded"
    ),
    "conversion": RateAdvice("Win more of the leads you work", "recorded outcomes", "were lost"),
}
TIME_ADVICE = {
    "accept_time": ("Answer offers sooner", "you typically answer after"),
    "contact_time": ("Get in touch sooner after accepting", "your first contact typically comes"),
}


def reason_text(reason: str | None) -> str:
    """Why an agent is not reachable, as a manager reads it."""
    return REASONS.get(reason or "", "Not reachable")


def spoken_duration(seconds: float) -> str:
    """A typical time as people say it: ``40 min``, ``3 h``, ``2 days``."""
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def estimate_text(part: Part) -> str:
    """A part's estimate with its interval: ``72% (61% to 82%)``, ``12 min (8 min to 20 min)``."""
    if part.name in RATES:
        return f"{part.estimate:.0%} ({part.low:.0%} to {part.high:.0%})"
    low, high = spoken_duration(part.low), spoken_duration(part.high)
    return f"{spoken_duration(part.estimate)} ({low} to {high})"


def _typical_s(value: float, reference_s: float) -> float:
    """The median time whose score is ``value``: the inverse of ref / (ref + t)."""
    return reference_s * (1.0 - value) / value


def _rate_tip(part: Part, stats: Stats | None) -> str:
    advice = RATE_ADVICE[part.name]
    rate = stats.rates[part.name] if stats is not None else None
    if rate is None or rate.count == 0 or rate.weight <= 0:
        return f"{advice.action}."
    missed = round(rate.count * rate.misses / rate.weight)
    if missed == 0:
        return f"{advice.action}."
    return f"{advice.action}: about {missed} of your {rate.count} {advice.noun} {advice.miss}."


def _time_tip(part: Part, config: ScoringConfig) -> str:
    action, yours = TIME_ADVICE[part.name]
    reference = config.references_s[part.name]
    team = spoken_duration(_typical_s(part.prior_value, reference))
    return f"{action}: {yours} {spoken_duration(part.estimate)}, your team after {team}."


def tips(
    score: AgentScore, stats: Stats | None, config: ScoringConfig, limit: int = 3
) -> list[str]:
    """Sentences for the parts taking the most points away, the costliest first."""
    costly = sorted(
        (p for p in score.parts if p.contribution <= -SMALLEST_POINTS and p.observations),
        key=lambda p: (p.contribution, p.name),
    )
    return [
        _rate_tip(p, stats) if p.name in RATES else _time_tip(p, config) for p in costly[:limit]
    ]
