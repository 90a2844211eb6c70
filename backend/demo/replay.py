"""The sample replayed through the real router, with reps who answer like people.

Every step runs through the services live traffic uses, at simulated times: a
heap holds the rep answers, offer deadlines, contacts and closings to come, and
whatever is due happens before the next inquiry arrives. Each rep behaves by a
seeded profile, so one seed gives one history, and some reps are clearly worse
than others, which is what LRL is there to show.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.demo.roster import DemoAgent
from backend.intake.olist import OlistLead
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry
from backend.pursuit.models import Lead, Offer
from backend.pursuit.service import (
    accept_offer,
    chase_overdue_contacts,
    decline_offer,
    expire_due_offers,
    log_activity,
    note_missing_outcomes,
)
from backend.roster.service import list_agents
from backend.routing.service import list_rules
from backend.scoring import service as scoring

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500
# Two sellers declared 8 and 50 million BRL a month, 16 and 100 times the next
# largest figure; as lead values they would drown everything else the demo shows.
MAX_STATED_VALUE = 500_000.0
HOUR = 3600.0
CONTACTS = (("call", 6), ("email", 3), ("message", 2))
FIRST_OUTCOMES = (("connected", 5), ("no_answer", 3), ("left_message", 2))
# Of the accepted leads a rep never contacts, the share later closed as lost.
DROPPED_SHARE = 0.6
# Of the contacted leads Olist did not win, the share closed lost within a month.
CLOSED_SHARE = 0.85
MANAGER_REVIEW = timedelta(days=1)


def inquiry_for(lead: OlistLead, **changes: Any) -> LeadIn:
    """The sample lead as an inquiry; a stated value is capped at MAX_STATED_VALUE."""
    body = {**lead.body, **changes}
    if body["value"] is not None:
        body["value"] = min(body["value"], MAX_STATED_VALUE)
    return msgspec.convert(body, LeadIn)


@dataclass(frozen=True)
class Behaviour:
    """How one rep treats offers; medians in seconds, shares from 0 to 1."""

    ignore: float
    accept: float
    answer_median_s: float
    contact: float
    contact_median_s: float
    reasons: tuple[tuple[str, int], ...]


CAREFUL_REASONS = (("not_a_fit", 4), ("duplicate", 3), ("wrong_territory", 2))
USUAL_REASONS = (("not_a_fit", 4), ("wrong_product", 2), ("spam", 1), ("other", 1))
BUSY_REASONS = (("no_capacity", 3), ("not_a_fit", 2), ("unreachable", 2))
EVASIVE_REASONS = (("no_capacity", 4), ("other", 3), ("not_a_fit", 1))

# Shares ignored, accepted when answered, and contacted when accepted; medians.
ARCHETYPES = {
    "diligent": Behaviour(0.02, 0.95, 0.3 * HOUR, 0.97, 2 * HOUR, CAREFUL_REASONS),
    "steady": Behaviour(0.04, 0.9, 1 * HOUR, 0.88, 8 * HOUR, USUAL_REASONS),
    "slow": Behaviour(0.1, 0.82, 1.5 * HOUR, 0.65, 30 * HOUR, BUSY_REASONS),
    "neglectful": Behaviour(0.25, 0.72, 2.5 * HOUR, 0.3, 60 * HOUR, EVASIVE_REASONS),
}
EMPLOYEE_MIX = (("diligent", 10), ("steady", 12), ("slow", 6), ("neglectful", 4))
PARTNER_MIX = (("diligent", 2), ("steady", 3), ("slow", 3), ("neglectful", 2))


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[weight for _, weight in weighted])[0]


def behaviour_for(agent: DemoAgent, seed: int) -> tuple[str, Behaviour, random.Random]:
    """A rep's archetype with a personal spread, and the generator of their choices.

    Seeded by the rep's own id, so one rep's history shifts nobody else's.
    """
    rng = random.Random(f"{seed}:{agent.olist_id}")
    mix = EMPLOYEE_MIX if agent.kind == "employee" else PARTNER_MIX
    archetype = "diligent" if agent.is_lead else pick(rng, mix)
    base = ARCHETYPES[archetype]
    spread = rng.uniform(0.7, 1.4)
    own = Behaviour(
        ignore=min(0.9, base.ignore * spread),
        accept=min(0.98, base.accept / spread**0.25),
        answer_median_s=base.answer_median_s * spread,
        contact=min(0.99, base.contact / spread**0.5),
        contact_median_s=base.contact_median_s * spread,
        reasons=base.reasons,
    )
    return archetype, own, rng


def delay(rng: random.Random, median_s: float) -> timedelta:
    """A right-skewed wait: mostly near the median, now and then much later."""
    return timedelta(seconds=rng.lognormvariate(math.log(median_s), 0.9))


@dataclass
class Rep:
    agent: DemoAgent
    archetype: str
    behaviour: Behaviour
    rng: random.Random


class OfferFacts(Protocol):
    id: str
    agent_id: str
    offered_at: datetime
    expires_at: datetime


@dataclass(order=True)
class Event:
    """What a rep or the clock does at ``at``; ``target``: an offer or lead id."""

    at: datetime
    seq: int
    kind: str = field(compare=False)
    target: str = field(compare=False)
    agent_id: str = field(compare=False)
    outcome: str = field(default="", compare=False)


@dataclass
class Replay:
    """One replay of the sample; ``lead_ids`` maps each ``mql_id`` to its lead."""

    session: AsyncSession
    reps: dict[str, Rep]
    events: list[Event] = field(default_factory=list)
    won_at: dict[str, datetime] = field(default_factory=dict)
    lead_ids: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # Rows held so that the session's identity map answers for them: no repeated
    # selects by id, no rebuilding every agent and rule whenever a lead is routed.
    kept: list[object] = field(default_factory=list)
    sequence: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def for_roster(cls, session: AsyncSession, agents: list[DemoAgent], seed: int) -> Replay:
        reps = {a.id: Rep(a, *behaviour_for(a, seed)) for a in agents}
        for rep in reps.values():
            logger.debug("demo rep agent_id=%s archetype=%s", rep.agent.id, rep.archetype)
        return cls(session, reps)

    async def run(self, sample: list[OlistLead]) -> None:
        """Every lead in time order, then what is due until nothing is pending."""
        self.kept += await list_agents(self.session)
        self.kept += await list_rules(self.session)
        for number, lead in enumerate(sample, start=1):
            await self.run_until(lead.received_at)
            await self.intake(lead)
            if number % PROGRESS_EVERY == 0:
                logger.info("demo replay progress leads=%d of=%d", number, len(sample))

        await self.run_until(None)
        # Leads contacted long ago without won or lost count as missing feedback now,
        # rather than all at once on the server's first sweep.
        while await note_missing_outcomes(self.session, now=utcnow()):
            pass
        counted = ("offer", "accept", "decline", "deadline", "contact")
        logger.info(
            "demo replay done leads=%d offers=%d accepted=%d declined=%d ignored=%d contacted=%d",
            len(self.lead_ids),
            *(self.counts.get(kind, 0) for kind in counted),
        )

    async def intake(self, lead: OlistLead) -> None:
        data, at = inquiry_for(lead), lead.received_at
        result = await submit_inquiry(self.session, data, inlet="csv", now=at)
        if result.lead is None:
            return
        self.lead_ids[lead.mql_id] = result.lead.id
        self.kept.append(result.lead)
        if lead.deal is not None:
            self.won_at[result.lead.id] = lead.deal.won_date
        self.offered(result.offer)

    async def run_until(self, until: datetime | None) -> None:
        while self.events and (until is None or self.events[0].at <= until):
            event = heapq.heappop(self.events)
            self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
            await getattr(self, f"_on_{event.kind}")(event)

    def schedule(
        self, at: datetime, kind: str, target: str, agent_id: str, outcome: str = ""
    ) -> None:
        event = Event(at, next(self.sequence), kind, target, agent_id, outcome)
        heapq.heappush(self.events, event)

    def offered(self, offer: OfferFacts | None) -> None:
        """Decide now, with the rep's own generator, what they do and when."""
        if offer is None:
            return
        rep, agent_id = self.reps[offer.agent_id], offer.agent_id
        self.counts["offer"] = self.counts.get("offer", 0) + 1
        answer_at = offer.offered_at + delay(rep.rng, rep.behaviour.answer_median_s)

        if rep.rng.random() < rep.behaviour.ignore or answer_at >= offer.expires_at:
            self.schedule(offer.expires_at, "deadline", offer.id, agent_id)
        elif rep.rng.random() < rep.behaviour.accept:
            self.schedule(answer_at, "accept", offer.id, agent_id)
        else:
            reason = pick(rep.rng, rep.behaviour.reasons)
            self.schedule(answer_at, "decline", offer.id, agent_id, reason)

    async def _on_accept(self, event: Event) -> None:
        lead = await accept_offer(self.session, event.target, agent_id=event.agent_id, now=event.at)
        self._chase_at_deadline(await self.session.get(Offer, event.target), event.agent_id)
        rep = self.reps[event.agent_id]
        if rep.rng.random() < rep.behaviour.contact:
            at = event.at + delay(rep.rng, rep.behaviour.contact_median_s)
            self.schedule(at, "contact", lead.id, event.agent_id)
        elif rep.rng.random() < DROPPED_SHARE:
            at = event.at + timedelta(days=rep.rng.uniform(10, 40))
            self.schedule(at, "close", lead.id, event.agent_id, "lost")

    async def _on_decline(self, event: Event) -> None:
        agent_id, reason = event.agent_id, event.outcome
        _, next_offer = await decline_offer(
            self.session, event.target, agent_id=agent_id, reason=reason, now=event.at
        )
        self.offered(next_offer)

    async def _on_deadline(self, event: Event) -> None:
        for offer in await expire_due_offers(self.session, now=event.at):
            self.offered(offer)
        reach = await scoring.reachability(self.session, [event.agent_id])
        if reach[event.agent_id].unreachable_since is not None:
            # The demo's manager reads the alert the next day and restores the rep.
            self.schedule(event.at + MANAGER_REVIEW, "restore", event.agent_id, event.agent_id)

    async def _on_restore(self, event: Event) -> None:
        reach = await scoring.reachability(self.session, [event.agent_id])
        if reach[event.agent_id].unreachable_since is not None:
            await scoring.restore_agent(self.session, event.agent_id, event.at, by="demo manager")

    def _chase_at_deadline(self, offer: Offer | None, agent_id: str) -> None:
        if offer is not None and offer.status == "accepted" and offer.contact_due_at:
            self.schedule(offer.contact_due_at, "chase", offer.id, agent_id)

    async def _on_chase(self, event: Event) -> None:
        """The sweeper's contact check at a deadline: a reminder first, then the lead moves on."""
        for offer in await chase_overdue_contacts(self.session, now=event.at):
            self.offered(offer)
        # A reminded owner has until the new deadline; check again then.
        held = await self.session.get(Offer, event.target)
        reminded = held is not None and held.reminded_at is not None
        if reminded and held and held.contact_due_at and held.contact_due_at > event.at:
            self._chase_at_deadline(held, event.agent_id)

    async def _still_owns(self, event: Event) -> bool:
        """Whether the rep still holds the lead: one who waited too long lost it."""
        lead = await self.session.get(Lead, event.target)
        return lead is not None and lead.owner_id == event.agent_id

    async def _on_contact(self, event: Event) -> None:
        """A first contact; the lead closes won on its real date if Olist won."""
        if not await self._still_owns(event):
            return
        rng = self.reps[event.agent_id].rng
        await self._log(event, pick(rng, CONTACTS), pick(rng, FIRST_OUTCOMES))

        won_at = self.won_at.get(event.target)
        if won_at is not None:
            at = max(won_at, event.at + timedelta(hours=1))
            self.schedule(at, "close", event.target, event.agent_id, "won")
        elif rng.random() < CLOSED_SHARE:
            at = event.at + timedelta(days=rng.uniform(3, 30))
            self.schedule(at, "close", event.target, event.agent_id, "lost")

    async def _on_close(self, event: Event) -> None:
        if await self._still_owns(event):
            await self._log(event, "note", event.outcome)

    async def _log(self, event: Event, kind: str, outcome: str) -> None:
        agent_id, at = event.agent_id, event.at
        await log_activity(
            self.session, event.target, agent_id=agent_id, kind=kind, outcome=outcome, now=at
        )
