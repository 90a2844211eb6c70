"""What agents and managers are told, in the agent's language: push payloads that fit one
record, and short mails.

Nothing here sends anything; ``backend.notify.service`` delivers these notices. The English
text is the message id of each Babel catalog entry under ``backend/i18n/locales``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.i18n import DEFAULT_LOCALE, format_clock, locale_for, translations, zone_of
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent

MAX_PUSH_PAYLOAD = 3993  # most plaintext one 4,096-byte aes128gcm record carries
MAX_TITLE_CHARS = 120  # notification banners show far less; the rest is noise
MAX_WHY_CHARS = 500  # a routing explanation, cut before it buries the link
ELLIPSIS = "…"
MAX_SMS_CHARS = 459  # three concatenated GSM segments; a longer text costs more than it helps


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; it is translated where shown."""
    return message


OFFER_ACTIONS = (("accept", N_("Accept")), ("decline", N_("Decline")))
PRIVATE_LINK_NOTE = N_("This link opens your own leads; please do not forward it.")
WITHDRAWN_TITLES = {
    "taken": N_("Lead taken by a colleague"),
    "reassigned": N_("Lead reassigned"),
    "merged": N_("Lead merged"),
}
WITHDRAWN_TITLE = N_("Lead withdrawn")
WITHDRAWN_REASON = N_("It was withdrawn from you.")
WITHDRAWN_REASONS = {
    "taken": N_("Another rep accepted it first."),
    "reassigned": N_("It has been given to someone else."),
    "merged": N_("A manager merged it into another lead of the same prospect."),
}


@dataclass(frozen=True)
class Notice:
    """What one agent is told; ``payload`` is the push JSON, within the limit.

    ``action`` labels the personal link a mail carries; a notice without one mails no link.
    ``locale`` is the language it is written in, for the mail around it.
    """

    title: str
    summary: str
    payload: bytes
    action: str | None = None
    locale: str = DEFAULT_LOCALE


@dataclass(frozen=True)
class AlertMail:
    subject: str
    text: str


def agent_locale(agent: Agent | None) -> str:
    return locale_for(agent.languages if agent is not None else None)


def offer_notice(offer: Offer, lead: Lead, agent: Agent, base_url: str) -> Notice:
    locale = agent_locale(agent)
    _ = translations(locale).gettext
    name = _lead_name(lead, locale)
    title = _clip(_("New lead: %(name)s") % {"name": name}, MAX_TITLE_CHARS)
    deadline = _deadline(offer.expires_at, agent.timezone, locale)
    summary = _("%(details)s. Accept by %(deadline)s.") % {
        "details": _lead_details(lead, locale),
        "deadline": deadline,
    }
    fields = {
        "title": title,
        "body": summary,
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app?offer={offer.id}",
        "expires_at": offer.expires_at.isoformat(),
        "kind": "offer",
        "actions": [{"action": key, "title": _(title)} for key, title in OFFER_ACTIONS],
        "accept_url": f"{base_url}/api/v1/offers/{offer.id}/accept",
        "decline_url": f"{base_url}/app?offer={offer.id}&decline=1",
    }
    action = _("Open the offer")
    return Notice(title, summary, encode_push_payload(fields), action=action, locale=locale)


def withdrawn_notice(
    offer: Offer, lead: Lead, why: str, base_url: str, agent: Agent | None = None
) -> Notice:
    """Tell an agent a lead left their queue; ``why`` is taken, reassigned or manual."""
    locale = agent_locale(agent)
    _ = translations(locale).gettext
    heading = _(WITHDRAWN_TITLES.get(why, WITHDRAWN_TITLE))
    reason = _(WITHDRAWN_REASONS.get(why, WITHDRAWN_REASON))
    title = _clip(
        _("%(heading)s: %(name)s") % {"heading": heading, "name": _lead_name(lead, locale)},
        MAX_TITLE_CHARS,
    )
    summary = _("%(details)s. %(reason)s Nothing more to do.") % {
        "details": _lead_details(lead, locale),
        "reason": reason,
    }
    fields = {
        "title": title,
        "body": summary,
        "kind": "withdrawn",
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app",
    }
    return Notice(title, summary, encode_push_payload(fields), locale=locale)


def overdue_notice(
    offer: Offer, lead: Lead, agent: Agent, due_at: datetime | None, base_url: str
) -> Notice:
    locale = agent_locale(agent)
    _ = translations(locale).gettext
    name = _lead_name(lead, locale)
    title = _clip(_("Contact overdue: %(name)s") % {"name": name}, MAX_TITLE_CHARS)
    details = _lead_details(lead, locale)
    if due_at:
        deadline = _deadline(due_at, agent.timezone, locale)
        summary = _("%(details)s. No contact logged by %(deadline)s; get in touch and log it.") % {
            "details": details,
            "deadline": deadline,
        }
    else:
        summary = _("%(details)s. No contact logged in time; get in touch and log it.") % {
            "details": details
        }
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
    action = _("Open the lead")
    return Notice(title, summary, encode_push_payload(fields), action=action, locale=locale)


def repeat_notice(
    offer: Offer, lead: Lead, through: str, base_url: str, agent: Agent | None = None
) -> Notice:
    """Tell the lead's agent that its prospect asked again; ``through`` names the inlet."""
    locale = agent_locale(agent)
    _ = translations(locale).gettext
    name = _lead_name(lead, locale)
    title = _clip(_("Asked again: %(name)s") % {"name": name}, MAX_TITLE_CHARS)
    summary = _("%(details)s. The same prospect asked again, through %(inlet)s.") % {
        "details": _lead_details(lead, locale),
        "inlet": through,
    }
    fields = {
        "title": title,
        "body": summary,
        "kind": "inquiry_coalesced",
        "lead_id": lead.id,
        "offer_id": offer.id,
        "url": f"{base_url}/app?offer={offer.id}",
    }
    action = _("Open the lead")
    return Notice(title, summary, encode_push_payload(fields), action=action, locale=locale)


def notice_mail_text(notice: Notice, link: str | None) -> str:
    text = f"{notice.title}\n{notice.summary}\n"
    if notice.action is None or link is None:
        return text
    note = translations(notice.locale).gettext(PRIVATE_LINK_NOTE)
    return f"{text}\n{notice.action}: {link}\n\n{note}\n"


def notice_sms_text(notice: Notice, link: str) -> str:
    """One text message: the title and summary, shortened so the link always fits whole."""
    room = MAX_SMS_CHARS - len(link) - 1
    return f"{_clip(f'{notice.title}. {notice.summary}', room)} {link}"


def sign_in_mail(link: str, minutes: int) -> AlertMail:
    """The sign-in mail: its link opens a page with a button, so a scanner spends nothing."""
    subject = "Your Pursuit sign-in link"
    text = (
        "Open this link on the phone or computer you want to use Pursuit on, then press "
        f'"Sign in on this device":\n\n{link}\n\n'
        f"The link works once, for {minutes} minutes. If you did not ask for it, ignore this "
        "mail: nobody can sign in without it.\n"
    )
    return AlertMail(subject, text)


def alert_mail(lead: Lead, why: str, base_url: str, locale: str = DEFAULT_LOCALE) -> AlertMail:
    """Tell managers a lead is waiting unassigned, with a link to its journey in the console."""
    _ = translations(locale).gettext
    name = _lead_name(lead, locale)
    subject = _clip(_("Unassigned lead: %(name)s") % {"name": name}, MAX_TITLE_CHARS)
    reason = _clip(" ".join(why.split()), MAX_WHY_CHARS) or _("none was recorded")
    details = _lead_details(lead, locale)
    text = (
        f"{subject}\n{details}.\n"
        + _("Why: %(reason)s") % {"reason": reason}
        + "\n\n"
        + _("It waits in the manager queue until someone assigns it.")
        + "\n"
        + _("Open its journey: %(link)s") % {"link": f"{base_url}/console/leads/{lead.id}"}
        + "\n"
    )
    return AlertMail(subject, text)


def encode_push_payload(fields: dict[str, Any]) -> bytes:
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


def _lead_name(lead: Lead, locale: str) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return lead.company or person or translations(locale).gettext("unnamed contact")


def _compact_json(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _shorten(text: str, excess: int) -> str:
    """Drop at least ``excess`` bytes, ending with an ellipsis (escapes only drop more)."""
    keep = len(text.encode()) - excess - len(ELLIPSIS.encode())
    if keep <= 0:
        return ""
    return text.encode()[:keep].decode(errors="ignore") + ELLIPSIS


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _lead_details(lead: Lead, locale: str) -> str:
    place = ", ".join(part for part in (lead.region, lead.country) if part)
    details = [part for part in (lead.source, lead.product, place) if part]
    return " · ".join(details) or translations(locale).gettext("New inquiry")


def _deadline(moment: datetime, timezone: str, locale: str) -> str:
    return f"{format_clock(moment, timezone, locale)} ({zone_of(timezone).key})"
