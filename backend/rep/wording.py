"""The rep app's words in the rep's language: code labels, template gettext, and script text.

Templates get ``gettext``/``ngettext`` (for ``{% trans %}`` and ``_()``) bound to one locale,
with the escaping of Jinja's new-style gettext: the message is trusted, its values are not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from backend.i18n import HTML_LANG, format_money, format_when, translations


def N_(message: str) -> str:
    """Marks a message for the catalog; it is translated where it is shown."""
    return message


LABELS = {
    "not_a_fit": N_("Not a fit"),
    "wrong_territory": N_("Wrong territory"),
    "wrong_product": N_("Wrong product"),
    "duplicate": N_("Duplicate"),
    "spam": N_("Spam"),
    "unreachable": N_("Unreachable"),
    "no_capacity": N_("No capacity"),
    "other": N_("Other"),
    "call": N_("Call"),
    "email": N_("Email"),
    "meeting": N_("Meeting"),
    "message": N_("Message"),
    "note": N_("Note"),
    "connected": N_("Connected"),
    "no_answer": N_("No answer"),
    "left_message": N_("Left message"),
    "busy": N_("Busy"),
    "wrong_number": N_("Wrong number"),
    "qualified": N_("Qualified"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "accepted": N_("Accepted"),
    "contacted": N_("Contacted"),
    "offered": N_("Offered"),
}

# The pursuit service's refusals, word for word, so the rep reads them in their language.
REFUSALS = (
    N_("This offer expired before it was answered; the lead has moved on."),
    N_("This lead is already taken: the offer was withdrawn."),
    N_("This lead is already taken by another rep."),
    N_("This offer is already accepted."),
    N_("This offer is already declined."),
    N_("This offer is already expired."),
    N_("This offer is already withdrawn."),
    N_("Accept the offer before logging activity on this lead."),
)

# Whose average a new rep's score starts from, word for word as the scoring service says it.
PEERS = (
    N_("your team's average"),
    N_("your company's average"),
    N_("all reps' average"),
)


def script_strings(_: Callable[[str], str]) -> dict[str, Any]:
    """What ``static/js/rep.js`` says; the names in braces are filled in there."""
    return {
        "left": _("{left} left to answer"),
        "time_up": _("Time is up: this offer is moving to someone else."),
        "queued": _("Saved on this phone: it is sent as soon as you are back online."),
        "sent": _("Sent: your answer reached Pursuit."),
        "conflict": _(
            "Your answer arrived too late: {detail} Nothing was changed; the lead has moved on."
        ),
        "refused": _("Your saved answer was refused: {detail}"),
        "offline": _(
            "You are offline. Your leads are as they were when you last had a connection."
        ),
        "waiting": _("{count} answer(s) waiting to be sent."),
        "push_unsupported": _(
            "This browser cannot show notifications; keep this page open instead."
        ),
        "push_blocked": _(
            "Notifications are blocked for this site; allow them in the browser settings."
        ),
        "push_turning_on": _("Turning on notifications…"),
        "push_on": _("Notifications are on for this device."),
        "push_off": _("Notifications are off for this device."),
        "push_failed": _("Notifications could not be turned on."),
        "push_again": _("Register this device again"),
        "push_button_on": _("Turn on notifications"),
        "push_button_off": _("Turn off notifications"),
        "this_device": _("This device"),
        "device_on": _("On"),
        "device_off": _("Off"),
        "no_devices": _("No device gets notifications yet."),
        "accept": _("Accept"),
        "decline": _("Decline"),
        "accepted_title": _("Accepted: {name}"),
        "accept_failed_title": _("Not accepted: {name}"),
        "refusals": {refusal: _(refusal) for refusal in REFUSALS},
        "launch_title": _("Open your link first"),
        "launch_text": _(
            "Open the link you were sent (in your notification, email or text message) on this "
            "phone once. After that, this app opens your leads directly."
        ),
    }


def _bound(translated: Translations) -> dict[str, Any]:
    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        text = translated.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - catalog text is ours; the values get escaped
        return text % values if values else text

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int, **values: Any) -> str:
        values.setdefault("num", n)
        text = translated.ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - catalog text is ours; the values get escaped
        return text % values

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


def map_link(lead: Any) -> str | None:
    """A map search for the lead's place, when there is more than a country to find."""
    if lead.latitude is not None and lead.longitude is not None:
        return f"https://www.openstreetmap.org/?mlat={lead.latitude}&mlon={lead.longitude}#map=14/{lead.latitude}/{lead.longitude}"
    parts = [lead.postal_code, lead.city, lead.region, lead.country]
    if not any((lead.postal_code, lead.city, lead.region)):
        return None
    query = ", ".join(part for part in parts if part)
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}"


def wording(locale: str, timezone: str | None) -> dict[str, Any]:
    """Everything a rep template needs to speak ``locale`` in ``timezone``."""
    translated = translations(locale)
    _ = translated.gettext

    def label(code: str) -> str:
        return _(LABELS[code]) if code in LABELS else code.replace("_", " ").capitalize()

    def when(moment: datetime) -> str:
        return format_when(moment, timezone, locale)

    def money(value: float, currency: str | None) -> str:
        return format_money(value, currency, locale)

    return {
        **_bound(translated),
        "label": label,
        "when": when,
        "money": money,
        "map_link": map_link,
        "locale": locale,
        "html_lang": HTML_LANG.get(locale, "en"),
        "script_strings": script_strings(_),
    }
