"""Pursuit scores: an agent's decayed evidence, shrunk toward the team, scored 0 to 100.

Pure arithmetic, no I/O; times are seconds since the epoch, so that live routing and
the simulation learn exactly alike.

Decay. An observation weighs 1 when it happens and loses half its weight every
half-life. Statistics remember the instant their weights are relative to (``at``);
an update first multiplies everything by 2^(-Δt / half-life), so nothing is rescanned.
An observation older than ``at`` enters with weight 2^(-(at - t) / half-life).

Rates (acceptance, contact before the deadline, outcome recorded, conversion, reach)
are Beta posteriors. With the team's mean m and the prior strength k, an agent with
decayed hits h and misses f has Beta(k·m + h, k·(1 - m) + f). The team's own mean is
its pooled evidence shrunk toward a configured default the same way.

Times (offer to accept, accept to first contact) are log-normal. Each time is clamped
to [1 s, 30 days], then the decayed mean x̄ and variance s² of log-seconds are kept. The
posterior of the log-median is Normal: mean (k·μ₀ + W·x̄) / (k + W) and variance
σ² / (k + W), with σ² = (k·v₀ + W·s²) / (k + W), where μ₀ and v₀ are the team's and W
the agent's decayed weight. Working in logs and clamping bound the pull of any single
very long wait. A median time t scores ref / (ref + t): 1/2 at the reference time.

The score is 100 · Σ wᵢ·gᵢ / Σ wᵢ, where gᵢ is a rate's posterior mean or a time's
score at its posterior median. ``sample`` draws every gᵢ from its posterior instead
(Thompson sampling) and combines the draws the same way; ``sample_many`` does so
for a whole pool at once, as the ``score`` strategy needs on every lead.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

RATES = ("acceptance", "contact_on_time", "feedback", "conversion", "reach")
TIMES = ("accept_time", "contact_time")
PARTS = (*RATES, *TIMES)
OFFER_OUTCOMES = ("accepted", "declined", "expired")
DAY_S = 86400.0
SHORTEST_S = 1.0
LONGEST_S = 30 * DAY_S

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "acceptance": 2.0,
    "accept_time": 1.0,
    "contact_time": 1.0,
    "contact_on_time": 3.0,
    "feedback": 0.5,
    "conversion": 1.5,
    "reach": 1.0,
}
# What the first agent of a team with no history is expected to do.
DEFAULT_RATES: Mapping[str, float] = {
    "acceptance": 0.8,
    "contact_on_time": 0.8,
    "feedback": 0.7,
    "conversion": 0.2,
    "reach": 0.9,
}
DEFAULT_MEDIANS_S: Mapping[str, float] = {"accept_time": 900.0, "contact_time": 4 * 3600.0}
REFERENCES_S: Mapping[str, float] = {"accept_time": 900.0, "contact_time": 4 * 3600.0}
DEFAULT_LOG_SD = 1.0


@dataclass(frozen=True)
class ScoringConfig:
    """How fast evidence fades, how strongly the team prior holds, and what counts.

    ``references_s`` is the median time that scores one half for each time part;
    ``interval_z`` sets the reported credible intervals (1.645: about 90%).
    """

    half_life_s: float = 30 * DAY_S
    prior_strength: float = 4.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    default_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    default_medians_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MEDIANS_S))
    default_log_sd: float = DEFAULT_LOG_SD
    references_s: Mapping[str, float] = field(default_factory=lambda: dict(REFERENCES_S))
    unreachable_after_misses: int = 3
    interval_z: float = 1.645

    def __post_init__(self) -> None:
        if not self.half_life_s > 0 or not self.prior_strength > 0:
            raise ValueError("half_life_s and prior_strength must be greater than zero")
        unknown = set(self.weights) - set(PARTS)
        if unknown or any(w < 0 for w in self.weights.values()):
            raise ValueError(f"weights take parts {', '.join(PARTS)} with values of at least 0")
        if not sum(self.weights.values()) > 0:
            raise ValueError("at least one weight must be greater than zero")
        if any(not 0 < self.default_rates[p] < 1 for p in RATES):
            raise ValueError("every default rate must lie strictly between 0 and 1")
        if self.unreachable_after_misses < 1:
            raise ValueError("unreachable_after_misses must be at least 1")

    def weight(self, part: str) -> float:
        return self.shares.get(part, 0.0)

    @cached_property
    def shares(self) -> dict[str, float]:
        """Each part's weight as a share of all weights."""
        total = sum(self.weights.values())
        return {part: self.weights.get(part, 0.0) / total for part in PARTS}

    def decay(self, elapsed_s: float) -> float:
        return float(2.0 ** (-elapsed_s / self.half_life_s))


@dataclass
class Rate:
    """Decayed hits and misses of one rate, and how many raw observations made them."""

    hits: float = 0.0
    misses: float = 0.0
    count: int = 0

    @property
    def weight(self) -> float:
        return self.hits + self.misses


@dataclass
class Time:
    """Decayed weight, Σ w·log t and Σ w·(log t)² of one time, and the raw count."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0
    count: int = 0

    @property
    def mean(self) -> float:
        return self.total / self.weight

    @property
    def variance(self) -> float:
        return max(self.squares / self.weight - self.mean**2, 0.0)


def _rates() -> dict[str, Rate]:
    return {part: Rate() for part in RATES}


def _times() -> dict[str, Time]:
    return {part: Time() for part in TIMES}


@dataclass
class Stats:
    """Sufficient statistics of one agent (or a whole team), relative to instant ``at``."""

    at: float | None = None
    rates: dict[str, Rate] = field(default_factory=_rates)
    times: dict[str, Time] = field(default_factory=_times)

    def _weigh(self, at: float, config: ScoringConfig) -> float:
        """Bring the statistics forward to ``at``; answer the weight a new observation gets."""
        if self.at is None:
            self.at = at
        if at < self.at:
            return config.decay(self.at - at)
        factor = config.decay(at - self.at)
        for rate in self.rates.values():
            rate.hits, rate.misses = rate.hits * factor, rate.misses * factor
        for time in self.times.values():
            time.weight, time.total = time.weight * factor, time.total * factor
            time.squares *= factor
        self.at = at
        return 1.0

    def observe_rate(self, part: str, hit: bool, at: float, config: ScoringConfig) -> None:
        weight = self._weigh(at, config)
        rate = self.rates[part]
        if hit:
            rate.hits += weight
        else:
            rate.misses += weight
        rate.count += 1

    def observe_time(self, part: str, seconds: float, at: float, config: ScoringConfig) -> None:
        weight = self._weigh(at, config)
        value = math.log(min(max(seconds, SHORTEST_S), LONGEST_S))
        time = self.times[part]
        time.weight += weight
        time.total += weight * value
        time.squares += weight * value * value
        time.count += 1

    def as_of(self, now: float, config: ScoringConfig) -> Stats:
        """A decayed copy as seen at ``now``; never decays past evidence backwards."""
        copy = Stats(
            self.at,
            {p: Rate(r.hits, r.misses, r.count) for p, r in self.rates.items()},
            {p: Time(t.weight, t.total, t.squares, t.count) for p, t in self.times.items()},
        )
        if copy.at is not None:
            copy._weigh(max(now, copy.at), config)
        return copy

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "rates": {p: [r.hits, r.misses, r.count] for p, r in self.rates.items()},
            "times": {p: [t.weight, t.total, t.squares, t.count] for p, t in self.times.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stats:
        stats = cls(at=data.get("at"))
        for part, (hits, misses, count) in (data.get("rates") or {}).items():
            if part in stats.rates:
                stats.rates[part] = Rate(float(hits), float(misses), int(count))
        for part, (weight, total, squares, count) in (data.get("times") or {}).items():
            if part in stats.times:
                stats.times[part] = Time(float(weight), float(total), float(squares), int(count))
        return stats


# What each event of a lead's life tells about the agent: the lifecycle and the
# simulation both learn through these, so they cannot drift apart.


def observe_offer(
    stats: Stats, outcome: str, offered_at: float, at: float, config: ScoringConfig
) -> None:
    """An offer accepted, declined or expired at ``at``; any answer shows the agent is reachable."""
    if outcome not in OFFER_OUTCOMES:
        raise ValueError(f"offer outcome {outcome!r} is not one of {', '.join(OFFER_OUTCOMES)}")
    stats.observe_rate("acceptance", outcome == "accepted", at, config)
    stats.observe_rate("reach", outcome != "expired", at, config)
    if outcome == "accepted":
        stats.observe_time("accept_time", at - offered_at, at, config)


def observe_contact(
    stats: Stats, accepted_at: float, at: float, due_at: float, config: ScoringConfig
) -> None:
    """The first contact on an accepted lead.

    Only a contact by ``due_at`` counts for follow-through; a missed deadline is told
    by ``observe_missed_contact`` when it passes, so each lead counts once either way.
    """
    stats.observe_time("contact_time", at - accepted_at, at, config)
    if at <= due_at:
        stats.observe_rate("contact_on_time", True, at, config)


def observe_missed_contact(stats: Stats, at: float, config: ScoringConfig) -> None:
    stats.observe_rate("contact_on_time", False, at, config)


def observe_outcome(stats: Stats, won: bool, at: float, config: ScoringConfig) -> None:
    stats.observe_rate("feedback", True, at, config)
    stats.observe_rate("conversion", won, at, config)


def observe_missing_outcome(stats: Stats, at: float, config: ScoringConfig) -> None:
    """An accepted lead's time for an outcome ran out and none was recorded."""
    stats.observe_rate("feedback", False, at, config)


def observe_notification_failure(stats: Stats, at: float, config: ScoringConfig) -> None:
    """A notification bounced or expired unopened."""
    stats.observe_rate("reach", False, at, config)


@dataclass(frozen=True)
class Prior:
    """The team's expectation for a newcomer: rate means, log-time means and variances."""

    rates: Mapping[str, float]
    log_means: Mapping[str, float]
    log_variances: Mapping[str, float]


def team_prior(team: Stats | None, now: float, config: ScoringConfig) -> Prior:
    """The team's pooled evidence at ``now``, shrunk toward the configured defaults."""
    pooled = team.as_of(now, config) if team is not None else Stats()
    k = config.prior_strength
    rates = {
        p: (r.hits + k * config.default_rates[p]) / (r.weight + k) for p, r in pooled.rates.items()
    }
    means, variances = {}, {}
    for part, time in pooled.times.items():
        means[part], variances[part] = _shrunk_log_time(
            time, math.log(config.default_medians_s[part]), config.default_log_sd**2, k
        )
    return Prior(rates, means, variances)


def _shrunk_log_time(time: Time, mean: float, variance: float, k: float) -> tuple[float, float]:
    """Posterior mean of the log-median, and the spread of a single log-time."""
    if time.weight <= 0:
        return mean, variance
    total = k + time.weight
    return (k * mean + time.total) / total, (k * variance + time.weight * time.variance) / total


@dataclass(frozen=True)
class Part:
    """One ingredient of a score, against the team prior it was shrunk toward.

    ``estimate`` is a rate or a median in seconds, ``low`` to ``high`` its credible
    interval; ``value`` (0 to 1) is what enters the score; ``evidence`` is the decayed
    weight of the ``observations`` it rests on.
    """

    name: str
    estimate: float
    low: float
    high: float
    value: float
    prior_value: float
    weight: float
    observations: int
    evidence: float

    @property
    def contribution(self) -> float:
        """Score points this part adds (positive) or takes away against the team prior."""
        return 100.0 * self.weight * (self.value - self.prior_value)

    def as_json(self) -> dict[str, Any]:
        change = self.contribution
        return {
            "part": self.name,
            "estimate": self.estimate,
            "interval": [self.low, self.high],
            "value": self.value,
            "prior_value": self.prior_value,
            "weight": self.weight,
            "contribution": change,
            "effect": "raises" if change > 0 else "lowers" if change < 0 else "neutral",
            "observations": self.observations,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class AgentScore:
    score: float
    prior_score: float
    parts: tuple[Part, ...]

    @property
    def observations(self) -> int:
        return sum(p.observations for p in self.parts)

    def explain(self) -> list[dict[str, Any]]:
        """Every part, the ones that move the score most first."""
        ordered = sorted(self.parts, key=lambda p: (-abs(p.contribution), p.name))
        return [p.as_json() for p in ordered]


def _beta(part: str, rate: Rate, prior: Prior, k: float) -> tuple[float, float]:
    mean = prior.rates[part]
    return k * mean + rate.hits, k * (1.0 - mean) + rate.misses


def _log_median(part: str, time: Time, prior: Prior, k: float) -> tuple[float, float]:
    """Posterior mean and standard deviation of an agent's log-median time."""
    mean, variance = _shrunk_log_time(time, prior.log_means[part], prior.log_variances[part], k)
    return mean, math.sqrt(variance / (k + time.weight))


def _time_value(part: str, seconds: float, config: ScoringConfig) -> float:
    reference = config.references_s[part]
    return reference / (reference + seconds)


def _rate_part(part: str, rate: Rate, prior: Prior, config: ScoringConfig) -> Part:
    alpha, beta = _beta(part, rate, prior, config.prior_strength)
    total = alpha + beta
    mean = alpha / total
    spread = config.interval_z * math.sqrt(alpha * beta / (total * total * (total + 1.0)))
    return Part(
        name=part,
        estimate=mean,
        low=max(mean - spread, 0.0),
        high=min(mean + spread, 1.0),
        value=mean,
        prior_value=prior.rates[part],
        weight=config.weight(part),
        observations=rate.count,
        evidence=rate.weight,
    )


def _time_part(part: str, time: Time, prior: Prior, config: ScoringConfig) -> Part:
    mean, sd = _log_median(part, time, prior, config.prior_strength)
    median = math.exp(mean)
    return Part(
        name=part,
        estimate=median,
        low=math.exp(mean - config.interval_z * sd),
        high=math.exp(mean + config.interval_z * sd),
        value=_time_value(part, median, config),
        prior_value=_time_value(part, math.exp(prior.log_means[part]), config),
        weight=config.weight(part),
        observations=time.count,
        evidence=time.weight,
    )


def explain(stats: Stats | None, prior: Prior, now: float, config: ScoringConfig) -> AgentScore:
    """The agent's score at ``now`` with every part; no history gives the team prior."""
    seen = stats.as_of(now, config) if stats is not None else Stats()
    parts = [_rate_part(p, seen.rates[p], prior, config) for p in RATES]
    parts += [_time_part(p, seen.times[p], prior, config) for p in TIMES]
    return AgentScore(
        score=100.0 * sum(p.weight * p.value for p in parts),
        prior_score=100.0 * sum(p.weight * p.prior_value for p in parts),
        parts=tuple(parts),
    )


def score(stats: Stats | None, prior: Prior, now: float, config: ScoringConfig) -> float:
    return explain(stats, prior, now, config).score


def sample(
    stats: Stats | None,
    prior: Prior,
    now: float,
    config: ScoringConfig,
    rng: random.Random,
) -> float:
    """One Thompson draw of the score: every part from its posterior, in a fixed order."""
    seen = stats.as_of(now, config) if stats is not None else Stats()
    k = config.prior_strength
    total = 0.0
    for part in RATES:
        alpha, beta = _beta(part, seen.rates[part], prior, k)
        total += config.weight(part) * rng.betavariate(alpha, beta)
    for part in TIMES:
        mean, sd = _log_median(part, seen.times[part], prior, k)
        drawn = math.exp(min(rng.gauss(mean, sd), math.log(LONGEST_S)))
        total += config.weight(part) * _time_value(part, drawn, config)
    return 100.0 * total


def sample_many(
    evidence: Sequence[Mapping[str, Any] | None],
    priors: Sequence[Prior],
    now: float,
    config: ScoringConfig,
    rng: random.Random,
) -> list[float]:
    """One Thompson draw of the score per agent, from the same posteriors as ``sample``,
    all drawn at once.

    ``evidence`` holds each agent's statistics as ``Stats.as_json`` stores them (None:
    no history) and ``priors`` the prior of each agent's team. A score strategy draws
    for every eligible agent of a pool on each lead; drawn one by one, a pool of a few
    hundred costs milliseconds. The draws come from a generator seeded from ``rng``, so
    a seeded ``rng`` gives the same scores again.
    """
    return sample_rows([evidence_row(data, now) for data in evidence], priors, now, config, rng)


EvidenceRow = tuple[float, ...]
_NO_RATE = (0.0, 0.0, 0)
_NO_TIME = (0.0, 0.0, 0.0, 0)
_ROW_LENGTH = 1 + 2 * len(RATES) + 3 * len(TIMES)
_NOTHING_SINCE_AT = (0.0,) * (_ROW_LENGTH - 1)


def evidence_row(data: Mapping[str, Any] | None, now: float) -> EvidenceRow:
    """Statistics as ``Stats.as_json`` stores them, flat: at, then hits and misses of each
    rate, then weight, total and squares of each time, undecayed; no history reads as
    none at ``now``."""
    if data is None:
        return (now, *_NOTHING_SINCE_AT)
    at = data.get("at")
    rates, times = data.get("rates") or {}, data.get("times") or {}
    row = [now if at is None else float(at)]
    for part in RATES:
        hits, misses, _ = rates.get(part, _NO_RATE)
        row += hits, misses
    for part in TIMES:
        weight, total, squares, _ = times.get(part, _NO_TIME)
        row += weight, total, squares
    return tuple(row)


def sample_rows(
    rows: Sequence[EvidenceRow],
    priors: Sequence[Prior],
    now: float,
    config: ScoringConfig,
    rng: random.Random,
) -> list[float]:
    """What ``sample_many`` draws, from each agent's ``evidence_row``."""
    if not rows:
        return []
    k = config.prior_strength
    flat = np.fromiter(itertools.chain.from_iterable(rows), float, len(rows) * _ROW_LENGTH)
    table = flat.reshape(len(rows), _ROW_LENGTH)
    rates_end = 1 + 2 * len(RATES)
    at, rates, times = table[:, 0], table[:, 1:rates_end], table[:, rates_end:]
    factor = np.exp2(-(np.maximum(now, at) - at) / config.half_life_s)[:, None]
    prior = _prior_table(priors)
    mean_rate = prior[:, : len(RATES)]
    alpha = k * mean_rate + rates[:, 0::2] * factor
    beta = k * (1.0 - mean_rate) + rates[:, 1::2] * factor

    # A time's log mean and variance are ratios of sums that decay alike; only weight fades.
    weight, total, squares = times[:, 0::3], times[:, 1::3], times[:, 2::3]
    seen = weight > 0
    mean = np.divide(total, weight, out=np.zeros_like(total), where=seen)
    spread = np.divide(squares, weight, out=np.zeros_like(total), where=seen) - mean**2
    weight = weight * factor
    prior_mean, prior_variance = prior[:, len(RATES) :: 2], prior[:, len(RATES) + 1 :: 2]
    shrunk_mean = np.where(seen, (k * prior_mean + weight * mean) / (k + weight), prior_mean)
    variance = (k * prior_variance + weight * np.maximum(spread, 0.0)) / (k + weight)
    variance = np.where(seen, variance, prior_variance)

    draws = np.random.default_rng(rng.getrandbits(64))
    rate_draws = draws.beta(alpha, beta)
    log_times = np.minimum(draws.normal(shrunk_mean, np.sqrt(variance / (k + weight))), _LONGEST)
    references = np.array([config.references_s[p] for p in TIMES])
    time_values = references / (references + np.exp(log_times))
    rate_weights = np.array([config.weight(p) for p in RATES])
    time_weights = np.array([config.weight(p) for p in TIMES])
    scores = 100.0 * (rate_draws @ rate_weights + time_values @ time_weights)
    drawn: list[float] = scores.tolist()
    return drawn


_LONGEST = math.log(LONGEST_S)


def _prior_table(priors: Sequence[Prior]) -> np.ndarray:
    """Each agent's prior as a row; agents of one team share their team's Prior object."""
    distinct = dict(zip(map(id, priors), priors, strict=True))
    position = {key: n for n, key in enumerate(distinct)}
    table = np.array([_prior_row(p) for p in distinct.values()])
    return table[np.fromiter(map(position.__getitem__, map(id, priors)), np.intp, len(priors))]


def _prior_row(prior: Prior) -> list[float]:
    """[each rate's mean, then each time's log mean and log variance]."""
    row = [prior.rates[p] for p in RATES]
    for part in TIMES:
        row += (prior.log_means[part], prior.log_variances[part])
    return row


@dataclass(frozen=True)
class Reach:
    """Misses in a row (expired offers, bounced notifications) and since when unreachable."""

    misses: int = 0
    unreachable_since: float | None = None

    @property
    def reachable(self) -> bool:
        return self.unreachable_since is None

    def missed(self, at: float, config: ScoringConfig) -> Reach:
        misses = self.misses + 1
        if self.reachable and misses >= config.unreachable_after_misses:
            return Reach(misses, at)
        return replace(self, misses=misses)

    def answered(self) -> Reach:
        """The agent answered: the run of misses ends; being unreachable is undone by a manager."""
        return replace(self, misses=0)
