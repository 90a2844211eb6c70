"""The lifecycle of a lead: offered, accepted or declined or expired, contacted, closed.

Every function takes ``now`` so that the demo can replay history through the same code
that serves live traffic. A lead has at most one pending or accepted offer at a time;
offer transitions are conditional updates, so two racing answers get one winner.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.db import Base, as_utc, new_id, utcnow
from backend.errors import BadInput, Conflict, NotFound
from backend.inserts import insert_new
from backend.pursuit.models import Activity, Lead, LeadEvent, Offer
from backend.roster.models import Agent
from backend.routing import service as routing
from backend.routing.models import Decision, Rule
from backend.routing.records import RosterAgent, RoutingRule
from backend.routing.strategies import stored_records
from backend.scoring import service as scoring

logger = logging.getLogger(__name__)

DECLINE_REASONS = (
    "not_a_fit",
    "wrong_territory",
    "wrong_product",
    "duplicate",
    "spam",
    "unreachable",
    "no_capacity",
    "other",
)
ACTIVITY_KINDS = ("call", "email", "meeting", "message", "note")
NOTE_LIMIT = 4000
OUTCOME_HORIZON = timedelta(days=30)  # after first contact, time enough to say won or lost
CONTACT_KINDS = ("call", "email", "meeting", "message")
OUTCOMES = (
    "connected",
    "no_answer",
    "left_message",
    "busy",
    "wrong_number",
    "qualified",
    "meeting_booked",
    "won",
    "lost",
)
CLOSING_OUTCOMES = {"won": "won", "lost": "lost"}
DEFAULT_CONTACT_TIMEOUT_S = 86400  # for leads no rule routed, and manual offers


@dataclass
class Announcements:
    """Offers made and events worth telling someone about."""

    offer_ids: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


PENDING, COMMITTED = "announcements_pending", "announcements_committed"


def _pending(session: AsyncSession) -> Announcements:
    found = session.info.setdefault(PENDING, Announcements())
    assert isinstance(found, Announcements)
    return found


@listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    """Only what a commit made real is announced; a rollback forgets the rest."""
    said = session.info.pop(PENDING, None)
    if said is not None:
        kept = session.info.setdefault(COMMITTED, Announcements())
        kept.offer_ids += said.offer_ids
        kept.event_ids += said.event_ids


@listens_for(Session, "after_rollback")
def _forget_uncommitted(session: Session) -> None:
    session.info.pop(PENDING, None)


def take_announcements(session: AsyncSession) -> Announcements:
    """What committed work asks to announce, once; the caller hands it to the notifier."""
    found = session.info.pop(COMMITTED, None)
    return found if isinstance(found, Announcements) else Announcements()


def record_event(
    session: AsyncSession,
    *,
    lead_id: str,
    type: str,
    actor: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> LeadEvent:
    event = new_event(lead_id=lead_id, type=type, actor=actor, data=data, at=at)
    session.add(event)
    return event


def new_event(
    *,
    lead_id: str,
    type: str,
    actor: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> LeadEvent:
    """A journey event not yet in any session."""
    return LeadEvent(lead_id=lead_id, type=type, actor=actor, data=data or {}, at=at or utcnow())


async def _tell(session: AsyncSession, event: LeadEvent) -> None:
    """Queue an event for the notifier: it needs its id, so it is written now."""
    await session.flush()
    _pending(session).event_ids.append(event.id)


async def _rollback(session: AsyncSession) -> None:
    await session.rollback()


async def current_offer(session: AsyncSession, lead_id: str) -> Offer | None:
    """The lead's live offer: pending, or accepted and still owned."""
    offer: Offer | None = await session.scalar(
        select(Offer)
        .where(Offer.lead_id == lead_id, Offer.status.in_(("pending", "accepted")))
        .order_by(Offer.offered_at.desc())
        .limit(1)
    )
    return offer


@dataclass(frozen=True)
class ReturningProspect:
    """The closed lead a new inquiry's prospect is behind, and the evidence for it."""

    lead_id: str
    owner_id: str | None
    evidence: dict[str, Any]


async def open_lead(
    session: AsyncSession,
    fields: dict[str, Any],
    received_at: datetime,
    now: datetime,
    previous: ReturningProspect | None = None,
) -> tuple[Lead, Offer | None]:
    """Create the lead from normalized fields and route it; the caller commits.

    A returning prospect's lead goes to their previous owner first, when still eligible.
    """
    await session.flush()
    lead = Lead(id=new_id(), **fields, status="routing", received_at=received_at)
    unwritten: list[Base] = [
        lead,
        new_event(
            lead_id=lead.id,
            type="received",
            actor="system",
            at=received_at,
            data={"source": lead.source},
        ),
    ]
    if previous is not None:
        lead.previous_lead_id = previous.lead_id
        data = {"previous_lead_id": previous.lead_id, "previous_owner_id": previous.owner_id}
        returning = new_event(
            lead_id=lead.id,
            type="returning_prospect",
            actor="system",
            at=now,
            data={**data, "evidence": previous.evidence},
        )
        unwritten.append(returning)
    # A new lead has no offers or owner for routing's reads to see: it is written once,
    # already routed, together with its decision.
    with session.no_autoflush:
        owner = previous.owner_id if previous else None
        offer = await route_lead(
            session, lead, now, trigger="intake", previous_owner=owner, unwritten=unwritten
        )
    return lead, offer


async def note_repeat_inquiry(
    session: AsyncSession, lead: Lead, data: dict[str, Any], now: datetime
) -> Offer | None:
    """Put a coalesced inquiry on the lead's journey; the live offer's agent is told."""
    offer = await current_offer(session, lead.id)
    if offer is not None:
        data = {**data, "offer_id": offer.id, "agent_id": offer.agent_id}
    event = record_event(
        session, lead_id=lead.id, type="inquiry_coalesced", actor="system", at=now, data=data
    )
    if offer is not None:
        await _tell(session, event)
    else:
        await session.flush()
    return offer


async def route_lead(
    session: AsyncSession,
    lead: Lead,
    now: datetime,
    trigger: str,
    ladder: list[RoutingRule] | None = None,
    previous_owner: str | None = None,
    unwritten: list[Base] | None = None,
) -> Offer | None:
    """Record a routing decision and make its offers, or send the lead to the manager queue.

    ``ladder`` restricts routing to an escalation chain; an empty ladder is its end.
    ``unwritten`` holds new objects (a new lead and its first events) to be written with
    the decision. Answers the first offer made (a broadcast makes several, all announced).
    """
    if ladder == []:
        choice = routing.Choice(None, explanation="the escalation ladder ends here")
    else:
        choice = await routing.choose(
            session, lead, now, lead_id=lead.id, rules=ladder, previous_owner=previous_owner
        )
    decision = Decision(
        id=new_id(),
        lead_id=lead.id,
        at=now,
        trigger=trigger,
        rule_id=choice.rule.id if choice.rule else None,
        strategy=choice.rule.strategy if choice.rule else None,
        agent_id=choice.agent.id if choice.agent else None,
        candidates=stored_records(choice.candidates),
        rules_tried=choice.rules_tried,
        explanation=choice.explanation,
    )
    unwritten = [*(unwritten or []), decision]
    if choice.rule is None or not choice.agents:
        session.add_all(unwritten)
        await session.flush()
        await _to_manager_queue(session, lead, decision, choice, now)
        return None

    broadcast_id = decision.id if choice.broadcast else None
    offers = []
    for agent in choice.agents:
        offer, offered = _new_offer(
            session, lead, agent, choice.rule, decision, now, broadcast_id=broadcast_id
        )
        offers.append(offer)
        unwritten += [offer, offered]
    # The hottest write of all: the unit of work's bookkeeping outweighs storing the rows.
    await insert_new(session, unwritten)
    if not choice.broadcast:
        agent_id = choice.agents[0].id
        await routing.record_turn(
            session, choice.rule.id, agent_id, now, choice.next_pass.get(agent_id)
        )
    return offers[0]


async def _to_manager_queue(
    session: AsyncSession, lead: Lead, decision: Decision, choice: routing.Choice, now: datetime
) -> None:
    """Nobody can take the lead: it waits for a manager, and the managers are told."""
    lead.status, lead.owner_id = "unassigned", None
    if lead.contact_due_at is None:
        lead.contact_due_at = lead.received_at + timedelta(seconds=DEFAULT_CONTACT_TIMEOUT_S)
    data = {"decision_id": decision.id, "why": choice.explanation}
    record_event(session, lead_id=lead.id, type="unassigned", actor="router", at=now, data=data)
    # At the end of an escalation ladder no rule is tried: the rules that offered it count.
    offered_by = await session.scalars(
        select(Offer.rule_id).where(Offer.lead_id == lead.id, Offer.rule_id.is_not(None))
    )
    rule_ids = {t["rule_id"] for t in choice.rules_tried} | {r for r in offered_by.all() if r}
    team_ids = await _teams_of_rules(session, sorted(rule_ids))
    alert = record_event(
        session,
        lead_id=lead.id,
        type="alert",
        actor="router",
        at=now,
        data={**data, "team_ids": team_ids},
    )
    await _tell(session, alert)
    logger.warning("lead unassigned lead_id=%s trigger=%s", lead.id, decision.trigger)


async def _teams_of_rules(session: AsyncSession, rule_ids: list[str]) -> list[str]:
    """The teams a lead could have gone to: named in the rules' pools or their agents'."""
    if not rule_ids:
        return []
    rules = (await session.scalars(select(Rule).where(Rule.id.in_(rule_ids)))).all()
    teams = {t for rule in rules for t in rule.pool.get("team_ids") or []}
    agent_ids = {a for rule in rules for a in rule.pool.get("agent_ids") or []}
    if agent_ids:
        found = await session.scalars(select(Agent.team_id).where(Agent.id.in_(agent_ids)))
        teams.update(t for t in found.all() if t)
    return sorted(teams)


def _new_offer(
    session: AsyncSession,
    lead: Lead,
    agent: Agent | RosterAgent,
    rule: RoutingRule | None,
    decision: Decision,
    now: datetime,
    accept_timeout_s: int | None = None,
    broadcast_id: str | None = None,
) -> tuple[Offer, LeadEvent]:
    """An offer and its journey event, neither added to the session; the lead is marked
    offered."""
    timeout = accept_timeout_s or (rule.accept_timeout_s if rule else 900)
    contact_timeout = rule.contact_timeout_s if rule else DEFAULT_CONTACT_TIMEOUT_S
    offer = Offer(
        id=new_id(),
        lead_id=lead.id,
        agent_id=agent.id,
        rule_id=rule.id if rule else None,
        decision_id=decision.id,
        status="pending",
        offered_at=now,
        expires_at=now + timedelta(seconds=timeout),
        contact_timeout_s=contact_timeout,
        broadcast_id=broadcast_id,
    )
    _pending(session).offer_ids.append(offer.id)
    lead.status, lead.owner_id = "offered", None
    if lead.contact_due_at is None:
        lead.contact_due_at = lead.received_at + timedelta(seconds=contact_timeout)
    offered = new_event(
        lead_id=lead.id,
        type="offered",
        actor="router",
        at=now,
        data={
            "offer_id": offer.id,
            "agent_id": agent.id,
            "decision_id": decision.id,
            "expires_at": offer.expires_at.isoformat(),
            **({"broadcast_id": broadcast_id} if broadcast_id else {}),
        },
    )
    logger.info("lead offered lead_id=%s offer_id=%s agent_id=%s", lead.id, offer.id, agent.id)
    return offer, offered


async def _get_offer_for(session: AsyncSession, offer_id: str, agent_id: str | None) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or (agent_id is not None and offer.agent_id != agent_id):
        raise NotFound(f"Offer {offer_id} does not exist or is not yours.")
    return offer


async def _transition(
    session: AsyncSession, offer: Offer, status: str, now: datetime, **values: Any
) -> bool:
    """Move a pending offer on in one conditional update; False if it was no longer pending.

    What else the step records on the offer goes in the same statement: on PostgreSQL a
    second update of the row re-checks its foreign keys, and the key-share lock that takes
    on the rule deadlocks two such steps when both go on to route through that rule.
    """
    changes = {"status": status, "decided_at": now, **values}
    result = await session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.status == "pending")
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for key, value in changes.items():
        set_committed_value(offer, key, value)
    return True


async def _claim(
    session: AsyncSession, offer: Offer, status: str, now: datetime, **values: Any
) -> None:
    """A rep's answer to a pending offer, or Conflict if someone or something got there first."""
    if offer.status == "pending" and offer.expires_at <= now:
        await _rollback(session)
        raise Conflict(
            "This offer expired before it was answered; the lead has moved on.",
            offer_status="expired",
        )
    if not await _transition(session, offer, status, now, **values):
        await _rollback(session)
        await session.refresh(offer)
        if offer.status == "withdrawn":
            raise Conflict(
                "This lead is already taken: the offer was withdrawn.", offer_status="withdrawn"
            )
        raise Conflict(f"This offer is already {offer.status}.", offer_status=offer.status)


async def accept_offer(
    session: AsyncSession, offer_id: str, *, agent_id: str | None, now: datetime | None = None
) -> Lead:
    """The agent takes the lead; ``agent_id`` None means an API key acting for the offer's agent.

    The lead's row is locked first, so of two reps accepting a broadcast at the same
    instant one wins and the other's offer is already withdrawn when they get the lock.
    """
    now = now or utcnow()
    offer = await _get_offer_for(session, offer_id, agent_id)
    lead = await _locked_lead(session, offer.lead_id)
    # A lead contacted before it changed hands owes no first contact.
    contact_due_at = None
    if lead.first_contact_at is None:
        contact_due_at = now + timedelta(seconds=offer.contact_timeout_s)
    await _claim(session, offer, "accepted", now, contact_due_at=contact_due_at)
    if lead.owner_id is not None:
        await _rollback(session)
        raise Conflict("This lead is already taken by another rep.", offer_status="withdrawn")

    lead.status, lead.owner_id, lead.accepted_at = "accepted", offer.agent_id, now
    await scoring.record_offer_outcome(session, offer.agent_id, "accepted", offer.offered_at, now)
    record_event(
        session,
        lead_id=lead.id,
        type="accepted",
        actor=f"agent:{offer.agent_id}",
        at=now,
        data={"offer_id": offer.id},
    )
    await _withdraw_pending(session, lead, now, "taken", actor=f"agent:{offer.agent_id}")
    await session.commit()
    logger.info("offer accepted offer_id=%s lead_id=%s", offer.id, lead.id)
    return lead


async def _withdraw_pending(
    session: AsyncSession, lead: Lead, now: datetime, why: str, actor: str
) -> None:
    """Withdraw the lead's other pending offers and tell their agents why."""
    pending = await session.scalars(
        select(Offer).where(Offer.lead_id == lead.id, Offer.status == "pending")
    )
    for other in pending.all():
        other.status, other.decided_at, other.withdrawn_reason = "withdrawn", now, why
        event = record_event(
            session,
            lead_id=lead.id,
            type="withdrawn",
            actor=actor,
            at=now,
            data={"offer_id": other.id, "agent_id": other.agent_id, "why": why},
        )
        await _tell(session, event)


async def decline_offer(
    session: AsyncSession,
    offer_id: str,
    *,
    agent_id: str | None,
    reason: str,
    note: str | None = None,
    now: datetime | None = None,
) -> tuple[Lead, Offer | None]:
    """Record the refusal and route the lead to the next candidate; answers the new offer.

    A declined broadcast offer only moves the lead on once nobody in the group can still
    accept; a declined escalation offer stays on the escalation ladder.
    """
    now = now or utcnow()
    if reason not in DECLINE_REASONS:
        raise BadInput(
            f"Decline reason {reason!r} is not one of {', '.join(DECLINE_REASONS)}.", field="reason"
        )
    _check_note(note)
    offer = await _get_offer_for(session, offer_id, agent_id)
    lead = await _locked_lead(session, offer.lead_id)
    note = (note or "").strip() or None
    await _claim(session, offer, "declined", now, decline_reason=reason, decline_note=note)
    await scoring.record_offer_outcome(session, offer.agent_id, "declined", offer.offered_at, now)
    record_event(
        session,
        lead_id=lead.id,
        type="declined",
        actor=f"agent:{offer.agent_id}",
        at=now,
        data={"offer_id": offer.id, "reason": reason},
    )
    next_offer = None
    if not await _others_pending(session, lead.id):
        ladder = None
        if await _on_ladder(session, offer):
            ladder = await routing.escalation_chain(session, offer.rule_id)
        next_offer = await route_lead(session, lead, now, "declined", ladder)
    await session.commit()
    logger.info("offer declined offer_id=%s lead_id=%s reason=%s", offer.id, lead.id, reason)
    return lead, next_offer


async def _others_pending(session: AsyncSession, lead_id: str) -> bool:
    found = await session.scalar(
        select(Offer.id).where(Offer.lead_id == lead_id, Offer.status == "pending").limit(1)
    )
    return found is not None


async def _on_ladder(session: AsyncSession, offer: Offer) -> bool:
    """Whether the offer was made by an escalation step rather than ordinary routing."""
    if offer.decision_id is None:
        return False
    trigger = await session.scalar(select(Decision.trigger).where(Decision.id == offer.decision_id))
    return trigger == "escalation"


async def _next_step(
    session: AsyncSession, lead: Lead, offer: Offer, now: datetime, trigger: str
) -> Offer | None:
    """Where a lead goes after a timeout: up the rule's escalation ladder when it has one,
    onwards to the manager queue at the ladder's end, otherwise ordinary routing."""
    rule = await session.get(Rule, offer.rule_id) if offer.rule_id else None
    if rule is not None and rule.escalate_to_rule_id is not None:
        ladder = await routing.escalation_chain(session, rule.escalate_to_rule_id)
        return await route_lead(session, lead, now, "escalation", ladder)
    if await _on_ladder(session, offer):
        return await route_lead(session, lead, now, "escalation", [])
    return await route_lead(session, lead, now, trigger)


async def _sweep_each(
    session: AsyncSession,
    ids: list[str],
    settle: Callable[[AsyncSession, str, datetime], Awaitable[Offer | None]],
    now: datetime,
    what: str,
) -> list[Offer]:
    """Settle each offer in its own transaction; a failure is logged and retried next sweep."""
    new_offers: list[Offer] = []
    for offer_id in ids:
        try:
            next_offer = await settle(session, offer_id, now)
        except Exception:
            await _rollback(session)
            logger.exception("%s failed offer_id=%s", what, offer_id)
            continue
        if next_offer is not None:
            new_offers.append(next_offer)
    return new_offers


async def expire_due_offers(
    session: AsyncSession, now: datetime | None = None, limit: int = 200
) -> list[Offer]:
    """Expire pending offers past their deadline and move their leads on."""
    now = now or utcnow()
    due = await session.scalars(
        select(Offer.id)
        .where(Offer.status == "pending", Offer.expires_at <= now)
        .order_by(Offer.expires_at)
        .limit(limit)
    )
    return await _sweep_each(session, list(due.all()), _expire, now, "offer expiry")


async def _expire(session: AsyncSession, offer_id: str, now: datetime) -> Offer | None:
    offer = await get_offer(session, offer_id)
    lead = await _locked_lead(session, offer.lead_id)
    if not await _transition(session, offer, "expired", now):
        await _rollback(session)
        return None  # answered or expired by another process meanwhile
    record_event(
        session,
        lead_id=lead.id,
        type="expired",
        actor="system",
        at=now,
        data={"offer_id": offer.id, "agent_id": offer.agent_id},
    )
    logger.info("offer expired offer_id=%s lead_id=%s", offer.id, lead.id)
    reach = await scoring.record_offer_outcome(
        session, offer.agent_id, "expired", offer.offered_at, now
    )
    if reach.became_unreachable:
        await _alert_unreachable(session, lead, offer.agent_id, reach.misses, now)
    next_offer = None
    if not await _others_pending(session, lead.id) and lead.owner_id is None:
        next_offer = await _next_step(session, lead, offer, now, "expired")
    await session.commit()
    return next_offer


async def _alert_unreachable(
    session: AsyncSession, lead: Lead, agent_id: str, misses: int, now: datetime
) -> None:
    """The agent stops getting leads until a manager restores them; the managers are told."""
    agent = await session.get(Agent, agent_id)
    why = (
        f"{agent.name if agent else agent_id} let {misses} offers in a row expire and is "
        "marked not reachable; restore them on the console's Scores page once they are back."
    )
    data = {
        "agent_id": agent_id,
        "why": why,
        "team_ids": [agent.team_id] if agent and agent.team_id else [],
    }
    event = record_event(session, lead_id=lead.id, type="alert", actor="system", at=now, data=data)
    await _tell(session, event)


async def chase_overdue_contacts(
    session: AsyncSession, now: datetime | None = None, limit: int = 200
) -> list[Offer]:
    """Accepted leads with no contact by their deadline: remind the owner, then reassign."""
    now = now or utcnow()
    due = await session.scalars(
        select(Offer.id)
        .join(Lead, Lead.id == Offer.lead_id)
        .where(
            Offer.status == "accepted",
            Offer.contact_due_at <= now,
            Lead.first_contact_at.is_(None),
            Lead.status == "accepted",
        )
        .order_by(Offer.contact_due_at)
        .limit(limit)
    )
    return await _sweep_each(session, list(due.all()), _chase, now, "contact chase")


async def note_missing_outcomes(
    session: AsyncSession, now: datetime | None = None, limit: int = 200
) -> int:
    """Contacted leads still without won or lost after OUTCOME_HORIZON count once, as
    feedback their owner never gave; the ``outcome_overdue`` event marks them counted."""
    now = now or utcnow()
    counted = select(LeadEvent.id).where(
        LeadEvent.lead_id == Lead.id, LeadEvent.type == "outcome_overdue"
    )
    due = await session.execute(
        select(Lead.id, Lead.owner_id)
        .where(
            Lead.status == "contacted",
            Lead.owner_id.is_not(None),
            Lead.first_contact_at <= now - OUTCOME_HORIZON,
            ~counted.exists(),
        )
        .order_by(Lead.first_contact_at)
        .limit(limit)
    )
    rows = due.tuples().all()
    for lead_id, owner_id in rows:
        if owner_id is None:  # the query already excludes it; this tells the type checker
            continue
        await scoring.record_missing_outcome(session, owner_id, now)
        data = {"agent_id": owner_id, "horizon_days": OUTCOME_HORIZON.days}
        record_event(
            session, lead_id=lead_id, type="outcome_overdue", actor="system", at=now, data=data
        )
    if rows:
        await session.commit()
    return len(rows)


async def _chase(session: AsyncSession, offer_id: str, now: datetime) -> Offer | None:
    offer = await get_offer(session, offer_id)
    lead = await _locked_lead(session, offer.lead_id)
    await session.refresh(offer)
    overdue = offer.contact_due_at is not None and offer.contact_due_at <= now
    if offer.status != "accepted" or lead.first_contact_at is not None or not overdue:
        await _rollback(session)
        return None
    if offer.reminded_at is None:
        await scoring.record_missed_contact(session, offer.agent_id, now)
        # The owner gets as long again as the offer gave them to accept before reassignment.
        grace = max(offer.expires_at - offer.offered_at, timedelta(minutes=1))
        offer.reminded_at, offer.contact_due_at = now, now + grace
        data = {"offer_id": offer.id, "agent_id": offer.agent_id, "due_at": now.isoformat()}
        event = record_event(
            session, lead_id=lead.id, type="contact_overdue", actor="system", at=now, data=data
        )
        await _tell(session, event)
        await session.commit()
        logger.info("contact overdue offer_id=%s lead_id=%s", offer.id, lead.id)
        return None

    offer.status, offer.decided_at, offer.withdrawn_reason = "withdrawn", now, "no_contact"
    lead.status, lead.owner_id = "routing", None
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "why": "no_contact"}
    event = record_event(
        session, lead_id=lead.id, type="withdrawn", actor="system", at=now, data=data
    )
    await _tell(session, event)
    logger.info("lead reclaimed offer_id=%s lead_id=%s", offer.id, lead.id)
    next_offer = await _next_step(session, lead, offer, now, "contact_timeout")
    await session.commit()
    return next_offer


def _check_note(note: str | None) -> None:
    if note is not None and "\x00" in note:
        raise BadInput("The note contains a NUL character.", field="note")
    if note is not None and len(note) > NOTE_LIMIT:
        raise BadInput(
            f"A note is at most {NOTE_LIMIT:,} characters; this one has {len(note):,}.",
            field="note",
        )


async def log_activity(
    session: AsyncSession,
    lead_id: str,
    *,
    agent_id: str | None,
    kind: str,
    outcome: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Activity:
    """The owner reports a step; a contact marks the lead pursued, won or lost closes it."""
    now = now or utcnow()
    if kind not in ACTIVITY_KINDS:
        raise BadInput(
            f"Activity kind {kind!r} is not one of {', '.join(ACTIVITY_KINDS)}.", field="kind"
        )
    if outcome is not None and outcome not in OUTCOMES:
        raise BadInput(f"Outcome {outcome!r} is not one of {', '.join(OUTCOMES)}.", field="outcome")
    _check_note(note)
    # Locked, so that a contact racing the chase for it never lands on a reassigned lead.
    lead = await _locked_lead(session, lead_id)
    owner = await _owner_for_activity(session, lead, agent_id)

    activity = Activity(
        lead_id=lead.id,
        agent_id=owner,
        kind=kind,
        outcome=outcome,
        note=(note or "").strip() or None,
        at=now,
    )
    session.add(activity)
    await session.flush()
    record_event(
        session,
        lead_id=lead.id,
        type="activity",
        actor=f"agent:{owner}",
        at=now,
        data={"activity_id": activity.id, "kind": kind, "outcome": outcome},
    )
    if kind in CONTACT_KINDS and lead.first_contact_at is None:
        lead.first_contact_at = now
        lead.status = "contacted"
        record_event(session, lead_id=lead.id, type="contacted", actor=f"agent:{owner}", at=now)
        await _score_first_contact(session, lead, owner, now)
    if outcome in CLOSING_OUTCOMES and lead.status not in CLOSING_OUTCOMES.values():
        lead.status, lead.closed_at = CLOSING_OUTCOMES[outcome], now
        record_event(session, lead_id=lead.id, type=outcome, actor=f"agent:{owner}", at=now)
        await scoring.record_outcome(session, owner, outcome == "won", now)
        if lead.first_contact_at is None and (held := await _held_offer(session, lead, owner)):
            held.contact_due_at = None  # closed without contact: nothing left to chase
    await session.commit()
    logger.info("activity logged lead_id=%s kind=%s outcome=%s", lead.id, kind, outcome)
    return activity


async def _score_first_contact(
    session: AsyncSession, lead: Lead, owner: str, now: datetime
) -> None:
    """Count the contact against the owner's own deadline (a reminded owner had missed it),
    then close that deadline."""
    held = await _held_offer(session, lead, owner)
    if held is None or held.contact_due_at is None:
        return
    due = held.reminded_at or held.contact_due_at
    await scoring.record_contact(session, owner, lead.accepted_at or held.offered_at, now, due)
    held.contact_due_at = None  # off the contact chase's list


async def _held_offer(session: AsyncSession, lead: Lead, owner: str) -> Offer | None:
    held: Offer | None = await session.scalar(
        select(Offer).where(
            Offer.lead_id == lead.id, Offer.agent_id == owner, Offer.status == "accepted"
        )
    )
    return held


async def _owner_for_activity(session: AsyncSession, lead: Lead, agent_id: str | None) -> str:
    """Who the activity is logged for; a rep may log only on the lead they hold."""
    if agent_id is not None and lead.owner_id != agent_id:
        if await _has_pending_offer(session, lead.id, agent_id):
            raise Conflict("Accept the offer before logging activity on this lead.")
        # As for reading it: a lead the rep does not hold is not theirs to know about.
        raise NotFound(f"Lead {lead.id} does not exist or is not yours.")
    if lead.owner_id is None:
        raise Conflict(f"This lead has no owner yet (it is {lead.status}); accept it first.")
    return lead.owner_id


async def _has_pending_offer(session: AsyncSession, lead_id: str, agent_id: str) -> bool:
    found = await session.scalar(
        select(Offer.id).where(
            Offer.lead_id == lead_id, Offer.agent_id == agent_id, Offer.status == "pending"
        )
    )
    return found is not None


async def offer_to_agent(
    session: AsyncSession,
    lead_id: str,
    agent_id: str,
    *,
    actor: str,
    accept_timeout_s: int,
    now: datetime | None = None,
) -> Offer:
    """A manual offer to a chosen agent; any live pending offer is withdrawn first."""
    now = now or utcnow()
    lead = await _lead(session, lead_id)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"Agent {agent_id} does not exist.")
    live = await current_offer(session, lead.id)
    if live is not None and live.status == "accepted":
        raise Conflict("This lead is already accepted; it cannot be offered again.")
    if live is not None:
        live.status, live.decided_at, live.withdrawn_reason = "withdrawn", now, "reassigned"
        record_event(
            session,
            lead_id=lead.id,
            type="withdrawn",
            actor=actor,
            at=now,
            data={"offer_id": live.id},
        )
    decision = Decision(
        lead_id=lead.id,
        at=now,
        trigger="manual",
        agent_id=agent.id,
        explanation=f"{agent.name} chosen by hand ({actor})",
    )
    session.add(decision)
    await session.flush()
    offer, offered = _new_offer(session, lead, agent, None, decision, now, accept_timeout_s)
    session.add_all([offer, offered])
    await session.commit()
    return offer


async def close_as_merged(
    session: AsyncSession, lead: Lead, into_lead_id: str, actor: str, now: datetime
) -> None:
    """The lead's inquiries now belong to another lead: its offers end, and it stops counting
    towards anyone's contact deadline. The caller holds the lead's lock and commits."""
    live = await session.scalars(
        select(Offer).where(Offer.lead_id == lead.id, Offer.status.in_(("pending", "accepted")))
    )
    for offer in live.all():
        offer.status, offer.decided_at, offer.withdrawn_reason = "withdrawn", now, "merged"
        data = {"offer_id": offer.id, "agent_id": offer.agent_id, "why": "merged"}
        event = record_event(
            session, lead_id=lead.id, type="withdrawn", actor=actor, at=now, data=data
        )
        await _tell(session, event)
    lead.status, lead.closed_at, lead.contact_due_at = "merged", now, None
    data = {"into_lead_id": into_lead_id}
    record_event(session, lead_id=lead.id, type="merged_into", actor=actor, at=now, data=data)


async def lock_lead(session: AsyncSession, lead_id: str) -> Lead:
    """The lead with its row locked until commit; NotFound when there is none."""
    return await _locked_lead(session, lead_id)


async def _locked_lead(session: AsyncSession, lead_id: str) -> Lead:
    """The lead, with its row locked until commit: lifecycle steps on one lead take turns."""
    lead = await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.")
    return lead


async def _lead(session: AsyncSession, lead_id: str) -> Lead:
    lead = await session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.")
    return lead


async def get_offer(session: AsyncSession, offer_id: str) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(f"There is no offer {offer_id!r}.")
    return offer


async def get_lead(session: AsyncSession, lead_id: str) -> Lead:
    return await _lead(session, lead_id)


async def agent_may_see(session: AsyncSession, lead: Lead, agent_id: str) -> bool:
    """A link token reaches only the leads its agent owns or is being offered now."""
    return lead.owner_id == agent_id or await _has_pending_offer(session, lead.id, agent_id)


async def journey(session: AsyncSession, lead_id: str) -> dict[str, list[Any]]:
    """Everything that happened to a lead, oldest first."""
    offers = await session.scalars(
        select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.offered_at)
    )
    decisions = await session.scalars(
        select(Decision).where(Decision.lead_id == lead_id).order_by(Decision.at)
    )
    activities = await session.scalars(
        select(Activity).where(Activity.lead_id == lead_id).order_by(Activity.at)
    )
    events = await session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
    )
    return {
        "offers": list(offers.all()),
        "decisions": list(decisions.all()),
        "activities": list(activities.all()),
        "events": list(events.all()),
    }


async def list_leads(
    session: AsyncSession,
    *,
    status: str | None = None,
    owner: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Lead], str | None]:
    """Newest first, keyset-paginated on (received_at, id)."""
    query = select(Lead)
    if status:
        query = query.where(Lead.status == status)
    if owner:
        query = query.where(Lead.owner_id == owner)
    if since:
        query = query.where(Lead.received_at >= as_utc(since))
    if until:
        query = query.where(Lead.received_at < as_utc(until))
    if cursor:
        at, lead_id = decode_cursor(cursor)
        query = query.where(
            (Lead.received_at < at) | ((Lead.received_at == at) & (Lead.id < lead_id))
        )
    query = query.order_by(Lead.received_at.desc(), Lead.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def encode_cursor(lead: Lead) -> str:
    raw = f"{lead.received_at.isoformat()}~{lead.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, lead_id = raw.split("~", 1)
        return as_utc(datetime.fromisoformat(at)), lead_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"cursor {cursor!r} is not one this API handed out.", field="cursor"
        ) from exc


@dataclass
class Queue:
    pending: list[tuple[Offer, Lead]]
    owned: list[Lead]
    recent: list[Lead]


async def agent_queue(session: AsyncSession, agent_id: str, recent_limit: int = 20) -> Queue:
    """What a rep sees: offers waiting for an answer, open leads, and recently closed ones."""
    pending = await session.execute(
        select(Offer, Lead)
        .join(Lead, Lead.id == Offer.lead_id)
        .where(Offer.agent_id == agent_id, Offer.status == "pending")
        .order_by(Offer.expires_at)
    )
    owned = await session.scalars(
        select(Lead)
        .where(Lead.owner_id == agent_id, Lead.status.in_(("accepted", "contacted")))
        .order_by(Lead.accepted_at.desc())
    )
    recent = await session.scalars(
        select(Lead)
        .where(Lead.owner_id == agent_id, Lead.status.in_(("won", "lost")))
        .order_by(Lead.closed_at.desc())
        .limit(recent_limit)
    )
    return Queue(
        pending=[(offer, lead) for offer, lead in pending.tuples().all()],
        owned=list(owned.all()),
        recent=list(recent.all()),
    )


async def record_notified_via(session: AsyncSession, offer_id: str, channel: str | None) -> None:
    """Note which channel reached the offer's agent (None: none did); the caller commits."""
    offer = await session.get(Offer, offer_id)
    if offer is not None:
        offer.notified_via = channel


CLOSED = ("won", "lost", "spam")


async def _take_back(
    session: AsyncSession, lead: Lead, now: datetime, why: str, actor: str
) -> None:
    """Withdraw the lead's pending offers and its accepted one; the lead has no owner after."""
    await _withdraw_pending(session, lead, now, why, actor)
    held = await session.scalar(
        select(Offer).where(Offer.lead_id == lead.id, Offer.status == "accepted")
    )
    if held is not None:
        held.status, held.decided_at, held.withdrawn_reason = "withdrawn", now, why
        data = {"offer_id": held.id, "agent_id": held.agent_id, "why": why}
        event = record_event(
            session, lead_id=lead.id, type="withdrawn", actor=actor, at=now, data=data
        )
        await _tell(session, event)
    lead.owner_id = None


async def send_back_to_routing(
    session: AsyncSession, lead_id: str, *, actor: str, now: datetime | None = None
) -> Offer | None:
    """A manager sends an open lead through routing again; its live offers are withdrawn."""
    now = now or utcnow()
    lead = await _locked_lead(session, lead_id)
    if (status := lead.status) in CLOSED:
        await _rollback(session)
        raise Conflict(f"This lead is closed ({status}); it cannot be routed again.")
    await _take_back(session, lead, now, "rerouted", actor)
    lead.status = "routing"
    record_event(session, lead_id=lead.id, type="sent_back", actor=actor, at=now)
    offer = await route_lead(session, lead, now, trigger="manual")
    await session.commit()
    logger.info("lead sent back to routing lead_id=%s", lead.id)
    return offer


async def mark_spam(
    session: AsyncSession, lead_id: str, *, actor: str, now: datetime | None = None
) -> Lead:
    """Close the lead as spam: no one pursues it and it counts in no figure."""
    now = now or utcnow()
    lead = await _locked_lead(session, lead_id)
    if (status := lead.status) in CLOSED:
        await _rollback(session)
        raise Conflict(f"This lead is already closed ({status}).")
    await _take_back(session, lead, now, "spam", actor)
    lead.status, lead.closed_at = "spam", now
    record_event(session, lead_id=lead.id, type="spam", actor=actor, at=now)
    await session.commit()
    logger.info("lead marked spam lead_id=%s", lead.id)
    return lead
