"""The bundled Olist funnel replayed through the simulation, with SDRs drawn from real deals.

The lead stream is the sample's 2,000 MQLs at their arrival times, valued at their
declared monthly revenue (capped as the demo caps it) or else the demo's expected
value for their origin. Each of the 32 SDRs named by the closed deals is an agent.

Olist records who qualified each won deal and when it closed, not who dropped the
leads that were lost, so each SDR's behaviour is derived with stated assumptions:

- conversion: won deals over opportunities, where an SDR is taken to share each
  day's MQLs equally with the other SDRs active that day (from the first contact of
  their first deal to their last win) and every not-won MQL of the sample stands for
  7,158 / 1,158 of the original's; shrunk toward all SDRs' rate by 20 opportunities,
  so an SDR with one lucky deal is not taken for a star;
- contact: the SDR's median days from first contact to win, against the median SDR's,
  sets their median time to first contact (4 hours for the median SDR); the share of
  their deals won within 30 days sets their contact probability (55% to 95%);
- capacity: in proportion to their deals, 3 to 12 open leads;
- an SDR whose last deal began more than 60 days before the sample ends stops
  answering then;
- acceptance and answer times, which the data does not show, are the simulation's
  defaults for everyone.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from backend.demo.replay import MAX_STATED_VALUE
from backend.demo.roster import ACCEPT_TIMEOUT_S, CONTACT_TIMEOUT_S, EXPECTED_VALUES
from backend.intake.olist import Deal, OlistLead, load_deals, load_sample
from backend.scoring.simulation import HOUR, AgentSpec, LeadIn, Scenario

NOT_WON_IN_ORIGINAL = 7158
NOT_WON_IN_SAMPLE = 1158
MEDIAN_CONTACT_S = 4 * HOUR
QUICK_WIN = timedelta(days=30)
STOPPED_AFTER = timedelta(days=60)
TEAM = "olist-sdrs"
SHRINK_OPPORTUNITIES = 20.0


def _value(lead: OlistLead) -> float:
    stated = lead.body.get("value")
    if stated:
        return float(min(stated, MAX_STATED_VALUE))
    return EXPECTED_VALUES.get(lead.body["source"], EXPECTED_VALUES[None])


def _opportunities(
    leads: list[OlistLead], spans: dict[str, tuple[datetime, datetime]]
) -> dict[str, float]:
    """MQLs each SDR had a fair chance at: each day's, split among the SDRs active then."""
    weight = NOT_WON_IN_ORIGINAL / NOT_WON_IN_SAMPLE
    chances: dict[str, float] = defaultdict(float)
    for lead in leads:
        active = [s for s, (start, end) in spans.items() if start <= lead.received_at <= end]
        for sdr in active:
            chances[sdr] += (1.0 if lead.won else weight) / len(active)
    return chances


def _sdr(
    sdr: str,
    deals: list[Deal],
    arrivals: dict[str, datetime],
    chances: float,
    overall: float,
    typical_cycle_s: float,
    busiest: int,
    end: datetime,
    start: datetime,
) -> AgentSpec:
    cycles = [(d.won_date - arrivals[d.mql_id]).total_seconds() for d in deals]
    cycle = max(statistics.median(cycles), HOUR)
    quick = sum(1 for c in cycles if c <= QUICK_WIN.total_seconds()) / len(cycles)
    last_start = max(arrivals[d.mql_id] for d in deals)
    k = SHRINK_OPPORTUNITIES
    stops = end - last_start > STOPPED_AFTER
    return AgentSpec(
        id=f"sdr-{sdr[:8]}",
        team=TEAM,
        capacity=max(3, round(12 * len(deals) / busiest)),
        contact=round(0.55 + 0.4 * quick, 3),
        contact_median_s=min(max(MEDIAN_CONTACT_S * cycle / typical_cycle_s, 1800.0), 30 * 86400),
        convert=round((len(deals) + k * overall) / (chances + k), 4),
        stop_at_h=(last_start - start).total_seconds() / HOUR if stops else None,
    )


def olist_scenario(directory: Path | None = None) -> Scenario:
    """The replay scenario: real arrivals and values, SDRs as derived above."""
    leads = load_sample(directory)
    deals = list(load_deals(directory).values())
    arrivals = {lead.mql_id: lead.received_at for lead in leads}
    deals = [d for d in deals if d.mql_id in arrivals]
    by_sdr: dict[str, list[Deal]] = defaultdict(list)
    for deal in deals:
        by_sdr[deal.sdr_id].append(deal)

    spans = {
        sdr: (min(arrivals[d.mql_id] for d in own), max(d.won_date for d in own))
        for sdr, own in by_sdr.items()
    }
    chances = _opportunities(leads, spans)
    overall = len(deals) / sum(chances.values())
    cycles = [
        statistics.median((d.won_date - arrivals[d.mql_id]).total_seconds() for d in own)
        for own in by_sdr.values()
    ]
    typical = max(statistics.median(cycles), HOUR)
    volumes = Counter(d.sdr_id for d in deals)
    start, end = leads[0].received_at, leads[-1].received_at
    agents = tuple(
        _sdr(
            sdr,
            by_sdr[sdr],
            arrivals,
            chances[sdr],
            overall,
            typical,
            max(volumes.values()),
            end,
            start,
        )
        for sdr in sorted(by_sdr, key=lambda s: (-volumes[s], s))
    )

    stream = tuple(
        LeadIn((lead.received_at - start).total_seconds(), _value(lead)) for lead in leads
    )
    return Scenario(
        name="olist",
        agents=agents,
        leads=stream,
        accept_timeout_s=float(ACCEPT_TIMEOUT_S),
        contact_timeout_s=float(CONTACT_TIMEOUT_S),
    )
