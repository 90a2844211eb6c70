"""Whether the score strategy learns: strategies compared on simulated and replayed leads.

Run from the repository root:  .venv/bin/python bench/learning.py [--json]

For each seed the same lead stream and the same agents' reactions go through
round_robin, least_loaded and score (``backend.scoring.simulation``), on the default
agents model (or ``--agents-model FILE``) and on the Olist replay. Printed: each
strategy's figures averaged over the seeds, then the goals on the agents model:

- LRL: score at least 30% below round_robin (the mean over seeds, and the worst seed);
- detection: a stopped agent marked unreachable within 10 offers after stopping;
- fairness: every partner's share of offered leads within 20% of its fair share
  under score, with performance weighting off.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from backend.scoring.olist import olist_scenario
from backend.scoring.simulation import (
    STRATEGIES,
    Scenario,
    StrategyResult,
    default_scenario,
    load_scenario,
    simulate,
)

FIGURES = (
    "lrl",
    "lost_revenue",
    "pursuit_rate",
    "accept_time_p50_s",
    "contact_time_p50_s",
    "won_revenue",
)
LRL_GOAL = 0.30
DETECTION_GOAL = 10
SHARE_GOAL = 0.20


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.mean(known), 2) if known else None


def _averages(runs: list[dict[str, StrategyResult]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for strategy in STRATEGIES:
        results = [run[strategy] for run in runs]
        row: dict[str, Any] = {f: _mean([getattr(r, f) for r in results]) for f in FIGURES}
        partners = sorted({p for r in results for p in r.partner_share})
        row["partner_share"] = {
            p: _mean([r.partner_share.get(p) for r in results]) for p in partners
        }
        row["false_alarms"] = _mean([float(r.false_alarms) for r in results])
        table[strategy] = row
    return table


def _goals(runs: list[dict[str, StrategyResult]]) -> dict[str, Any]:
    cuts = [1 - run["score"].lrl / run["round_robin"].lrl for run in runs]
    stops = [s for run in runs for s in run["score"].stopped_agents.values()]
    detected = [s["detected_after"] for s in stops if s["detected_after"] is not None]
    shares = [abs(v - 1) for run in runs for v in run["score"].partner_share.values()]
    return {
        "lrl_cut_mean": round(statistics.mean(cuts), 4),
        "lrl_cut_worst": round(min(cuts), 4),
        "lrl_goal_met": statistics.mean(cuts) >= LRL_GOAL,
        "stopped_agents": len(stops),
        "undetected": len(stops) - len(detected),
        "detected_after_max": max(detected) if detected else None,
        "detection_goal_met": bool(stops)
        and len(detected) == len(stops)
        and max(detected) <= DETECTION_GOAL,
        "partner_share_deviation_max": round(max(shares), 4) if shares else None,
        "fairness_goal_met": not shares or max(shares) <= SHARE_GOAL,
    }


def _run(scenario: Scenario, seeds: list[int]) -> dict[str, Any]:
    runs = [simulate(scenario, seed) for seed in seeds]
    return {
        "scenario": scenario.name,
        "seeds": seeds,
        "strategies": _averages(runs),
        "goals": _goals(runs),
    }


def _print(report: dict[str, Any]) -> None:
    print(f"\n{report['scenario']} (seeds {report['seeds'][0]}..{report['seeds'][-1]}, means)")
    header = ("strategy", "LRL", "lost rev", "pursued", "accept p50", "contact p50", "won rev")
    print("  " + "  ".join(f"{h:>12}" for h in header) + "  partner share / fair")
    for strategy, row in report["strategies"].items():
        cells = [strategy, *(row[f] for f in FIGURES)]
        shares = ", ".join(f"{p} {v:.2f}" for p, v in row["partner_share"].items()) or "-"
        print("  " + "  ".join(f"{c!s:>12}" for c in cells) + f"  {shares}")
    goals = report["goals"]
    print(
        f"  LRL cut by score vs round_robin: mean {goals['lrl_cut_mean']:.1%}, "
        f"worst seed {goals['lrl_cut_worst']:.1%} (goal >= {LRL_GOAL:.0%}: "
        f"{'met' if goals['lrl_goal_met'] else 'NOT met'})"
    )
    print(
        f"  stopped agents: {goals['stopped_agents']}, undetected {goals['undetected']}, "
        f"most offers before detection {goals['detected_after_max']} "
        f"(goal <= {DETECTION_GOAL}: {'met' if goals['detection_goal_met'] else 'NOT met'})"
    )
    print(
        f"  largest partner deviation from fair share {goals['partner_share_deviation_max']} "
        f"(goal <= {SHARE_GOAL}: {'met' if goals['fairness_goal_met'] else 'NOT met'})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents-model", type=Path, help="agents-model JSON file")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N (default 5)")
    parser.add_argument("--no-olist", action="store_true", help="skip the Olist replay")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.agents_model) if args.agents_model else default_scenario()
    seeds = list(range(1, args.seeds + 1))
    reports = [_run(scenario, seeds)]
    if not args.no_olist:
        reports.append(_run(olist_scenario(), seeds))

    if args.json:
        json.dump({r["scenario"]: r for r in reports}, sys.stdout, indent=2)
        print()
    else:
        for report in reports:
            _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
