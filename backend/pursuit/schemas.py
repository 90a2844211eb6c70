"""JSON shapes of leads and their journey, as API.md publishes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from backend.intake.models import Inquiry
from backend.pursuit.models import Activity, Lead, LeadEvent, Offer
from backend.routing.models import Decision
from backend.routing.strategies import shown_records


class DeclineIn(msgspec.Struct):
    reason: str
    note: str | None = None


class ActivityIn(msgspec.Struct):
    kind: str
    outcome: str | None = None
    note: str | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "lead_id": offer.lead_id,
        "agent_id": offer.agent_id,
        "rule_id": offer.rule_id,
        "status": offer.status,
        "offered_at": iso(offer.offered_at),
        "expires_at": iso(offer.expires_at),
        "decided_at": iso(offer.decided_at),
        "decline_reason": offer.decline_reason,
        "withdrawn_reason": offer.withdrawn_reason,
        "decline_note": offer.decline_note,
        "notified_via": offer.notified_via,
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "at": iso(decision.at),
        "trigger": decision.trigger,
        "rule_id": decision.rule_id,
        "strategy": decision.strategy,
        "agent_id": decision.agent_id,
        "candidates": shown_records(decision.candidates),
        "rules_tried": decision.rules_tried,
        "explanation": decision.explanation,
    }


def activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "lead_id": activity.lead_id,
        "agent_id": activity.agent_id,
        "kind": activity.kind,
        "outcome": activity.outcome,
        "note": activity.note,
        "at": iso(activity.at),
    }


def event_json(event: LeadEvent) -> dict[str, Any]:
    return {"type": event.type, "at": iso(event.at), "actor": event.actor, "data": event.data}


def inquiry_json(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "id": inquiry.id,
        "source": inquiry.source,
        "external_id": inquiry.external_id,
        "inlet": inquiry.inlet,
        "received_at": iso(inquiry.received_at),
        "status": inquiry.status,
        "payload": inquiry.payload,
    }


def lead_summary_json(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "status": lead.status,
        "owner": lead.owner_id,
        "source": lead.source,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company,
        "country": lead.country,
        "region": lead.region,
        "city": lead.city,
        "postal_code": lead.postal_code,
        "address": lead.address,
        "latitude": lead.latitude,
        "longitude": lead.longitude,
        "product": lead.product,
        "language": lead.language,
        "campaign": lead.campaign,
        "message": lead.message,
        "value": lead.value,
        "value_basis": lead.value_basis,
        "currency": lead.currency,
        "received_at": iso(lead.received_at),
        "accepted_at": iso(lead.accepted_at),
        "first_contact_at": iso(lead.first_contact_at),
        "contact_due_at": iso(lead.contact_due_at),
        "closed_at": iso(lead.closed_at),
        "phone_extension": lead.phone_extension,
        "previous_lead_id": lead.previous_lead_id,
    }


def lead_json(
    lead: Lead, journey: dict[str, list[Any]], inquiries: list[Inquiry]
) -> dict[str, Any]:
    return {
        **lead_summary_json(lead),
        "inquiries": [inquiry_json(i) for i in inquiries],
        "offers": [offer_json(o) for o in journey["offers"]],
        "decisions": [decision_json(d) for d in journey["decisions"]],
        "activities": [activity_json(a) for a in journey["activities"]],
        "events": [event_json(e) for e in journey["events"]],
    }
