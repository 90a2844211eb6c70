"""The score's arithmetic: decay, shrinkage toward the team, the 0-100 mix and sampling."""

from __future__ import annotations

import math
import random

import pytest

from backend.scoring import model
from backend.scoring.model import Reach, ScoringConfig, Stats

DAY = 86400.0
# Only acceptance and conversion count, two pseudo-observations of prior, one-day half-life.
SIMPLE = ScoringConfig(
    half_life_s=DAY, prior_strength=2.0, weights={"acceptance": 1.0, "conversion": 1.0}
)


def _history() -> Stats:
    """Accepted after 10 minutes on day 0; a decline and a won deal one day later."""
    stats = Stats()
    model.observe_offer(stats, "accepted", -600.0, 0.0, SIMPLE)
    model.observe_offer(stats, "declined", DAY - 60, DAY, SIMPLE)
    model.observe_outcome(stats, True, DAY, SIMPLE)
    return stats


def test_score_hand_computed_history_matches() -> None:
    prior = model.team_prior(None, DAY, SIMPLE)

    result = model.explain(_history(), prior, DAY, SIMPLE)

    # acceptance: Beta(2*0.8 + 0.5, 2*0.2 + 1) = Beta(2.1, 1.4), mean 0.6
    # conversion: Beta(2*0.2 + 1, 2*0.8 + 0) = Beta(1.4, 1.6), mean 0.46667
    # score: 100 * (0.6 + 0.46667) / 2
    assert round(result.score, 4) == 53.3333
    parts = {p.name: p for p in result.parts}
    assert round(parts["acceptance"].estimate, 6) == 0.6
    assert round(parts["conversion"].estimate, 6) == round(1.4 / 3.0, 6)
    assert parts["acceptance"].observations == 2
    assert parts["acceptance"].evidence == pytest.approx(1.5)
    assert round(result.prior_score, 4) == 50.0


def test_score_hand_computed_time_shrinks_toward_team_median() -> None:
    config = ScoringConfig(half_life_s=DAY, prior_strength=2.0, weights={"accept_time": 1.0})
    stats = Stats()
    model.observe_offer(stats, "accepted", -600.0, 0.0, config)

    result = model.explain(stats, model.team_prior(None, DAY, config), DAY, config)

    # log-median: (2 * log 900 + 0.5 * log 600) / 2.5, i.e. 900^0.8 * 600^0.2 seconds
    median = 900**0.8 * 600**0.2
    assert result.parts[-2].estimate == pytest.approx(median, rel=1e-12)
    assert round(result.score, 6) == round(100 * 900 / (900 + median), 6)


def test_explain_contributions_add_up_to_the_difference_from_the_prior() -> None:
    result = model.explain(_history(), model.team_prior(None, DAY, SIMPLE), DAY, SIMPLE)

    total = sum(part["contribution"] for part in result.explain())

    assert total == pytest.approx(result.score - result.prior_score)
    assert result.explain()[0]["part"] == "conversion"
    assert result.explain()[0]["effect"] == "raises"


def test_newcomer_without_history_gets_the_team_prior() -> None:
    team = _history()
    prior = model.team_prior(team, DAY, SIMPLE)

    newcomer = model.explain(None, prior, DAY, SIMPLE)

    assert newcomer.score == newcomer.prior_score
    assert all(p.value == p.prior_value and p.observations == 0 for p in newcomer.parts)
    # The team's own mean is its evidence shrunk toward the default: (0.5 + 2*0.8) / 3.5
    assert prior.rates["acceptance"] == pytest.approx(2.1 / 3.5)


def test_team_without_history_gets_the_configured_defaults() -> None:
    prior = model.team_prior(Stats(), 0.0, SIMPLE)

    assert prior.rates == SIMPLE.default_rates
    assert prior.log_means["contact_time"] == pytest.approx(math.log(4 * 3600))


def test_decay_halves_an_old_observation_after_one_half_life() -> None:
    stats = Stats()
    model.observe_outcome(stats, True, 0.0, SIMPLE)

    seen = stats.as_of(DAY, SIMPLE)

    assert seen.rates["conversion"].hits == 0.5
    assert seen.rates["conversion"].count == 1
    assert stats.rates["conversion"].hits == 1.0


def test_decay_weighs_an_observation_arriving_late_by_its_own_age() -> None:
    stats = Stats()
    model.observe_outcome(stats, True, 2 * DAY, SIMPLE)

    model.observe_outcome(stats, False, DAY, SIMPLE)

    assert stats.at == 2 * DAY
    assert stats.rates["conversion"].misses == 0.5


def test_decay_is_lazy_and_exact_over_many_updates() -> None:
    stepwise, once = Stats(), Stats()
    for hour in range(48):
        model.observe_offer(stepwise, "declined", hour * 3600.0, hour * 3600.0, SIMPLE)
    model.observe_offer(once, "declined", 0.0, 0.0, SIMPLE)

    expected = sum(0.5 ** ((47 - hour) / 24) for hour in range(48))

    assert stepwise.rates["acceptance"].misses == pytest.approx(expected, rel=1e-12)


def test_stats_json_round_trip_keeps_everything() -> None:
    stats = _history()
    model.observe_contact(stats, 0.0, 3600.0, DAY, SIMPLE)

    again = Stats.from_json(stats.as_json())

    assert again == stats


def test_contact_after_deadline_counts_only_its_time() -> None:
    stats = Stats()

    model.observe_contact(stats, 0.0, 2 * DAY, DAY, SIMPLE)

    assert stats.rates["contact_on_time"].count == 0
    assert stats.times["contact_time"].count == 1


def test_times_are_clamped_so_one_absurd_wait_is_bounded() -> None:
    stats = Stats()

    model.observe_offer(stats, "accepted", 0.0, 10**9, SIMPLE)

    assert stats.times["accept_time"].total == pytest.approx(math.log(model.LONGEST_S))


def test_sample_with_fixed_seed_is_reproducible() -> None:
    prior = model.team_prior(None, DAY, ScoringConfig())

    first = [model.sample(_history(), prior, DAY, ScoringConfig(), random.Random(7))]
    first += [model.sample(None, prior, DAY, ScoringConfig(), random.Random(7))]
    again = [model.sample(_history(), prior, DAY, ScoringConfig(), random.Random(7))]
    again += [model.sample(None, prior, DAY, ScoringConfig(), random.Random(7))]
    other = model.sample(_history(), prior, DAY, ScoringConfig(), random.Random(8))

    assert first == again
    assert other != first[0]
    assert all(0.0 <= value <= 100.0 for value in first)


def test_sample_concentrates_around_the_score_with_evidence() -> None:
    config = ScoringConfig()
    stats = Stats()
    for n in range(200):
        model.observe_offer(stats, "accepted" if n % 10 else "declined", n, n + 300.0, config)
    prior = model.team_prior(None, 200.0, config)
    rng = random.Random(3)

    draws = [model.sample(stats, prior, 300.0, config, rng) for _ in range(400)]
    newcomer = [model.sample(None, prior, 300.0, config, rng) for _ in range(400)]

    assert sum(draws) / 400 == pytest.approx(model.score(stats, prior, 300.0, config), abs=1.5)
    assert _spread(draws) < _spread(newcomer)


def test_sample_many_draws_from_the_same_posteriors_as_sample() -> None:
    """Decayed evidence a week later and a newcomer: 4,000 draws each way agree."""
    config = ScoringConfig()
    stats = _history()
    model.observe_contact(stats, 0.0, 1800.0, 3600.0, config)
    prior = model.team_prior(None, DAY, config)
    week = 8 * DAY
    one_by_one, many = random.Random(5), random.Random(6)

    for evidence in (stats, None):
        singles = [model.sample(evidence, prior, week, config, one_by_one) for _ in range(4000)]
        stored = None if evidence is None else evidence.as_json()
        batch = model.sample_many([stored] * 4000, [prior] * 4000, week, config, many)

        assert sum(batch) / 4000 == pytest.approx(sum(singles) / 4000, abs=0.5)
        assert _spread(batch) == pytest.approx(_spread(singles), rel=0.1)
        assert all(0.0 <= value <= 100.0 for value in batch)


def test_sample_many_with_fixed_seed_is_reproducible_and_keeps_the_order() -> None:
    config = ScoringConfig()
    prior = model.team_prior(None, DAY, config)
    stored = [_history().as_json(), None, _history().as_json()]

    first = model.sample_many(stored, [prior] * 3, DAY, config, random.Random(7))
    again = model.sample_many(stored, [prior] * 3, DAY, config, random.Random(7))
    other = model.sample_many(stored, [prior] * 3, DAY, config, random.Random(8))

    assert first == again
    assert len(set(first)) == 3
    assert other != first
    assert model.sample_many([], [], DAY, config, random.Random(7)) == []


def test_sample_many_with_fixed_seed_draws_known_scores() -> None:
    """A fixed seed's scores, pinned: reading a pool some other way must not move them."""
    config = ScoringConfig()
    fast = _history()
    model.observe_contact(fast, 0.0, 1800.0, 3600.0, config)
    newcomers, team = model.team_prior(None, DAY, config), model.team_prior(_history(), DAY, config)
    stored = [fast.as_json(), None, _history().as_json(), {}]

    drawn = model.sample_many(
        stored, [team, newcomers, newcomers, team], 8 * DAY, config, random.Random(7)
    )

    expected = [72.02028956721779, 62.43476320122887, 51.91058222014482, 54.90661060924478]
    assert drawn == pytest.approx(expected, rel=1e-12, abs=0.0)


@pytest.mark.parametrize(
    ("stored", "row"),
    [
        (None, (9.0,) + (0.0,) * 16),
        ({}, (9.0,) + (0.0,) * 16),
        ({"at": None, "rates": None, "times": None}, (9.0,) + (0.0,) * 16),
        (
            {
                "at": 5,
                "rates": {"acceptance": [1.5, 0.5, 2], "reach": [1, 0, 1], "retired": [7, 7, 7]},
                "times": {"contact_time": [2.0, 3.0, 4.5, 2]},
            },
            (5.0, 1.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, 0, 0.0, 0.0, 0.0, 2.0, 3.0, 4.5),
        ),
    ],
)
def test_evidence_row_reads_stored_statistics_in_a_fixed_order(
    stored: dict[str, object] | None, row: tuple[float, ...]
) -> None:
    assert model.evidence_row(stored, 9.0) == row


def _spread(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def test_reach_marks_unreachable_at_the_limit_and_an_answer_ends_the_run() -> None:
    config = ScoringConfig(unreachable_after_misses=3)
    reach = Reach().missed(1.0, config).missed(2.0, config)

    assert reach.reachable
    assert Reach(reach.misses).answered().missed(3.0, config).misses == 1

    reach = reach.missed(3.0, config).missed(4.0, config)
    assert reach.unreachable_since == 3.0
    assert reach.answered().unreachable_since == 3.0


@pytest.mark.parametrize(
    "changes",
    [
        {"half_life_s": 0.0},
        {"prior_strength": -1.0},
        {"weights": {"speed": 1.0}},
        {"weights": {"acceptance": 0.0}},
        {"default_rates": {**model.DEFAULT_RATES, "reach": 1.0}},
        {"unreachable_after_misses": 0},
    ],
)
def test_config_refuses_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ScoringConfig(**changes)  # type: ignore[arg-type]


def test_observe_offer_refuses_an_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="withdrawn"):
        model.observe_offer(Stats(), "withdrawn", 0.0, 1.0, SIMPLE)
