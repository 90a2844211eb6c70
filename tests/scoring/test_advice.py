"""What the score says in plain words: estimates, and what would raise a rep's score."""

from __future__ import annotations

import pytest

from backend.scoring import advice, model
from backend.scoring.model import ScoringConfig, Stats

CONFIG = ScoringConfig()
DAY = 86400.0
PRIOR = model.team_prior(None, 0.0, CONFIG)


def _late_contacts(stats: Stats, missed: int, kept: int) -> None:
    """Accepted leads, ``missed`` of them with no contact by the deadline."""
    for n in range(missed + kept):
        at = n * 600.0
        model.observe_offer(stats, "accepted", at - 60.0, at, CONFIG)
        if n < missed:
            model.observe_missed_contact(stats, at + 1.0, CONFIG)
        else:
            model.observe_contact(stats, at, at + 1800.0, at + DAY, CONFIG)


def test_tips_name_the_costliest_part_with_counts() -> None:
    stats = Stats()
    _late_contacts(stats, missed=3, kept=5)
    now = 8 * 600.0
    score = model.explain(stats, PRIOR, now, CONFIG)

    said = advice.tips(score, stats.as_of(now, CONFIG), CONFIG)

    assert said[0] == (
        "Log a first contact before the deadline: about 3 of your 8 accepted leads "
        "had none in time."
    )


def test_tips_say_slow_answers_against_the_team() -> None:
    stats = Stats()
    for n in range(6):
        at = n * DAY
        model.observe_offer(stats, "accepted", at - 3 * 3600.0, at, CONFIG)
    score = model.explain(stats, PRIOR, 6 * DAY, CONFIG)

    said = advice.tips(score, stats, CONFIG)

    assert said[0].startswith("Answer offers sooner: you typically answer after ")
    assert said[0].endswith(", your team after 15 min.")


def test_tips_are_empty_without_history_or_when_nothing_costs() -> None:
    newcomer = model.explain(None, PRIOR, 0.0, CONFIG)
    stats = Stats()
    _late_contacts(stats, missed=0, kept=8)
    keen = model.explain(stats, PRIOR, 8 * 600.0, CONFIG)

    assert advice.tips(newcomer, None, CONFIG) == []
    assert all("contact" not in tip for tip in advice.tips(keen, stats, CONFIG))


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(30, "30 s"), (600, "10 min"), (4 * 3600, "4 h"), (3 * DAY, "3 days"), (0.2, "1 s")],
)
def test_spoken_duration_rounds_to_one_unit(seconds: float, said: str) -> None:
    assert advice.spoken_duration(seconds) == said


def test_estimate_text_gives_the_interval() -> None:
    score = model.explain(None, PRIOR, 0.0, CONFIG)
    parts = {p.name: p for p in score.parts}

    assert advice.estimate_text(parts["acceptance"]) == "80% (51% to 100%)"
    assert advice.estimate_text(parts["accept_time"]).startswith("15 min (")
