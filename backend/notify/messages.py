"""What agents and managers are told, in English: push payloads that fit one record, short mails.

Nothing here sends anything; ``backend.notify.service`` delivers these notices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent

MAX_PUSH_PAYLOAD = 3993  # most plaintext one 4,096-byte aes128gcm record carries
MAX_TITLE_CHARS = 120  # notification banners show far less; the rest is noise
MAX_WHY_CHARS = 500  # a routing explanation, cut before it buries the link
ELLIPSIS = "…"
PRIVATE_LINK_NOTE = "This link opens your own leads; please do not forward it."

WITHDRAWN_TITLES = {
    "taken": "Lead taken by a colleague",
    "reassigned": "Lead reassigned",
    "merged": "Lead merged",
}
WITHDRAWN_REASONS = {
    "taken": "Another rep accepted it first.",
    "reassigned": "It has been given to someone else.",
    "merged": "A manager merged it into another lead of the same prospect.",
}


@dataclass(frozen=True)
class Notice:
    """What one agent is told; ``payload`` is the push JSON, within the limit.

    ``action`` labels the personal link a mail carries; a notice without one mails no link.
    """

    title: str
    summary: str
    payload: bytes
    action: str | None = None


@dataclass(frozen=True)
class AlertMail:
    subject: str
    text: str


def offer_notice(offer: Offer, lead: Lead, agent: Agent, base_url: str) -> Notice:
    title = _clip(f"New lead: {_lead_name(lead)}", MAX_TITLE_CHARS)
    summary = f"{_lead_details(lead)}. Accept by {_deadline(offer.expires_at, agent.timezone)}."
    fields = {
        "title": title,
        "body": summary,
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app?offer={offer.id}",
        "expires_at": offer.expires_at.isoformat(),
    }
    return Notice(title, summary, encode_push_payload(fields), action="Open the offer")


def withdrawn_notice(offer: Offer, lead: Lead, why: str, base_url: str) -> Notice:
    """Tell an agent a lead left their queue; ``why`` is taken, reassigned or manual."""
    heading = WITHDRAWN_TITLES.get(why, "Lead withdrawn")
    reason = WITHDRAWN_REASONS.get(why, "It was withdrawn from you.")
    title = _clip(f"{heading}: {_lead_name(lead)}", MAX_TITLE_CHARS)
    summary = f"{_lead_details(lead)}. {reason} Nothing more to do."
    fields = {
        "title": title,
        "body": summary,
        "kind": "withdrawn",
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app",
    }
    return Notice(title, summary, encode_push_payload(fields))


def overdue_notice(
    offer: Offer, lead: Lead, agent: Agent, due_at: datetime | None, base_url: str
) -> Notice:
    title = _clip(f"Contact overdue: {_lead_name(lead)}", MAX_TITLE_CHARS)
    late = f"by {_deadline(due_at, agent.timezone)}" if due_at else "in time"
    summary = f"{_lead_details(lead)}. No contact logged {late}; get in touch and log it."
    fields = {
        "title": title,
        "body": summary,
        "kind": "contact_overdue",
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app?offer={offer.id}",
    }
    if due_at:
        fields["due_at"] = due_at.isoformat()
    return Notice(title, summary, encode_push_payload(fields), action="Open the lead")


def repeat_notice(offer: Offer, lead: Lead, through: str, base_url: str) -> Notice:
    """Tell the lead's agent that its prospect asked again; ``through`` names the inlet."""
    title = _clip(f"Asked again: {_lead_name(lead)}", MAX_TITLE_CHARS)
    summary = f"{_lead_details(lead)}. The same prospect asked again, through {through}."
    fields = {
        "title": title,
        "body": summary,
        "kind": "inquiry_coalesced",
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app?offer={offer.id}",
    }
    return Notice(title, summary, encode_push_payload(fields), action="Open the lead")


def notice_mail_text(notice: Notice, link: str | None) -> str:
    text = f"{notice.title}\n{notice.summary}\n"
    if notice.action is None or link is None:
        return text
    return f"{text}\n{notice.action}: {link}\n\n{PRIVATE_LINK_NOTE}\n"


def alert_mail(lead: Lead, why: str, base_url: str) -> AlertMail:
    """Tell managers a lead is waiting unassigned, with a link to its journey in the console."""
    subject = _clip(f"Unassigned lead: {_lead_name(lead)}", MAX_TITLE_CHARS)
    reason = _clip(" ".join(why.split()), MAX_WHY_CHARS) or "none was recorded"
    text = (
        f"{subject}\n{_lead_details(lead)}.\nWhy: {reason}\n\n"
        "It waits in the manager queue until someone assigns it.\n"
        f"Open its journey: {base_url}/console/leads/{lead.id}\n"
    )
    return AlertMail(subject, text)


def encode_push_payload(fields: dict[str, str]) -> bytes:
    """Compact JSON; ``body``, then ``title``, shortened until it fits one push."""
    fields = dict(fields)
    data = _compact_json(fields)
    for name in ("body", "title"):
        while len(data) > MAX_PUSH_PAYLOAD and fields[name]:
            fields[name] = _shorten(fields[name], len(data) - MAX_PUSH_PAYLOAD)
            data = _compact_json(fields)
    if len(data) > MAX_PUSH_PAYLOAD:
        raise ValueError(f"A push payload of {len(data)} bytes cannot be shortened enough.")
    return data


def _lead_name(lead: Lead) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return lead.company or person or "unnamed contact"


def _compact_json(fields: dict[str, str]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _shorten(text: str, excess: int) -> str:
    """Drop at least ``excess`` bytes, ending with an ellipsis (escapes only drop more)."""
    keep = len(text.encode()) - excess - len(ELLIPSIS.encode())
    if keep <= 0:
        return ""
    return text.encode()[:keep].decode(errors="ignore") + ELLIPSIS


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _lead_details(lead: Lead) -> str:
    place = ", ".join(part for part in (lead.region, lead.country) if part)
    details = [part for part in (lead.source, lead.product, place) if part]
    return " · ".join(details) or "New inquiry"


def _deadline(moment: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{moment.astimezone(zone):%H:%M} ({zone.key})"
