"""The languages Pursuit speaks to reps: choosing one, its Babel catalog, and local formats.

Catalogs live in ``locales/<locale>/LC_MESSAGES/messages.po`` and are compiled in memory the
first time a locale is asked for, so a clean checkout needs no build step. English is the
source language: its catalog is empty and every message stands as written.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from litestar.plugins.jinja import JinjaTemplateEngine

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "en"
SUPPORTED = ("en", "es", "pt_BR", "de", "fr")
# A bare language, or any regional variant of it, falls to the one variant we translate.
BY_LANGUAGE = {"en": "en", "es": "es", "pt": "pt_BR", "de": "de", "fr": "fr"}
HTML_LANG = {"en": "en", "es": "es", "pt_BR": "pt-BR", "de": "de", "fr": "fr"}


def supported(tag: str) -> str | None:
    """The locale we translate for a language tag such as ``pt-PT``, ``de`` or ``fr_CA``."""
    tag = tag.strip().replace("-", "_")
    if not tag or tag == "*":
        return None
    try:
        language = Locale.parse(tag).language
    except (UnknownLocaleError, ValueError):
        language = tag.split("_", 1)[0].lower()
    return BY_LANGUAGE.get(language)


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first; ``q=0`` means not at all."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def locale_for(agent_languages: list[str] | None = None, accept_language: str | None = None) -> str:
    """The agent's first language we speak, else the browser's, else English."""
    for tag in [*(agent_languages or []), *parse_accept_language(accept_language)]:
        if (found := supported(tag)) is not None:
            return found
    return DEFAULT_LOCALE


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of a supported locale; an unknown one gets English."""
    if locale not in SUPPORTED or locale == DEFAULT_LOCALE:
        return Translations()
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    logger.debug("catalog compiled locale=%s messages=%d", locale, len(catalog))
    return Translations(compiled)


def gettext(locale: str, message: str) -> str:
    return str(translations(locale).gettext(message))


def format_money(value: float | Decimal, currency: str | None, locale: str) -> str:
    """``12.000,00 €`` in German; a value without a currency is shown as a plain number."""
    if not currency:
        return str(format_decimal(value, format="#,##0.##", locale=locale))
    try:
        return str(format_currency(value, currency.upper(), locale=locale))
    except (ValueError, KeyError):
        return f"{format_decimal(value, locale=locale)} {currency}"


def zone_of(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_clock(moment: datetime, timezone: str | None, locale: str) -> str:
    """The time of day on a 24-hour clock, in the zone: ``15:30``."""
    return str(format_skeleton("Hm", moment, tzinfo=zone_of(timezone), locale=locale))


def format_when(
    moment: datetime, timezone: str | None, locale: str, now: datetime | None = None
) -> str:
    """The time alone when it falls today in the zone, else the short weekday and date too."""
    zone = zone_of(timezone)
    clock = format_clock(moment, timezone, locale)
    today = (now or datetime.now(zone)).astimezone(zone).date()
    if moment.astimezone(zone).date() == today:
        return clock
    day = format_skeleton("MMMEd", moment, tzinfo=zone, locale=locale)
    return f"{day}, {clock}"


def install_i18n(engine: JinjaTemplateEngine) -> None:
    """Jinja's ``{% trans %}`` for every template; English unless a page passes its gettext."""
    engine.engine.add_extension("jinja2.ext.i18n")
    engine.engine.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
