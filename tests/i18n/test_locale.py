"""Choosing the rep's language, and dates and money in the forms of that language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.i18n import (
    SUPPORTED,
    format_money,
    format_when,
    locale_for,
    parse_accept_language,
    translations,
)

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("languages", "header", "expected"),
    [
        (["pt", "en"], "de-DE,de;q=0.9", "pt_BR"),
        (["it", "fr"], None, "fr"),
        (["de-AT"], None, "de"),
        ([], "es-MX,es;q=0.9,en;q=0.8", "es"),
        (None, "it-IT, fr-CA;q=0.7, de;q=0.8", "de"),
        (None, "pt-PT", "pt_BR"),
        (None, "de;q=0, fr;q=0.1", "fr"),
        (["ja"], "*", "en"),
        (None, None, "en"),
        (None, "not a header;q=x", "en"),
    ],
)
def test_locale_for_prefers_the_agent_then_the_browser(
    languages: list[str] | None, header: str | None, expected: str
) -> None:
    assert locale_for(languages, header) == expected


def test_accept_language_ranks_by_weight_then_order() -> None:
    ranked = parse_accept_language("fr;q=0.5, en-GB, de;q=0.9, es;q=0.5, pt;q=0")

    assert ranked == ["en-GB", "de", "fr", "es"]


@pytest.mark.parametrize(
    ("value", "currency", "locale", "expected"),
    [
        (12000, "EUR", "de", f"12.000,00{NBSP}€"),
        (12000, "EUR", "fr", f"12{chr(0x202F)}000,00{NBSP}€"),
        (12000, "BRL", "pt_BR", f"R${NBSP}12.000,00"),
        (12000, "USD", "en", "$12,000.00"),
        (1234.5, "EUR", "es", f"1.234,50{NBSP}€"),
        (1234.5, None, "de", "1.234,5"),
        (99, "XYZ", "en", "XYZ99.00"),
    ],
)
def test_format_money_uses_the_locale_forms(
    value: float, currency: str | None, locale: str, expected: str
) -> None:
    assert format_money(value, currency, locale) == expected


@pytest.mark.parametrize(
    ("locale", "today", "later"),
    [
        ("en", "12:30", "Wed, Jan 9, 12:30"),
        ("de", "12:30", "Mi., 9. Jan., 12:30"),
        ("pt_BR", "12:30", "qua., 9 de jan., 12:30"),
        ("fr", "12:30", "mer. 9 janv., 12:30"),
        ("es", "12:30", "mié, 9 ene, 12:30"),
    ],
)
def test_format_when_shows_the_day_only_when_it_is_not_today(
    locale: str, today: str, later: str
) -> None:
    now = datetime(2030, 1, 2, 14, 0, tzinfo=UTC)  # 11:00 in São Paulo
    soon = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)
    next_week = datetime(2030, 1, 9, 15, 30, tzinfo=UTC)

    shown_today = format_when(soon, "America/Sao_Paulo", locale, now=now)
    shown_later = format_when(next_week, "America/Sao_Paulo", locale, now=now)

    assert (shown_today, shown_later) == (today, later)


def test_format_when_falls_back_to_utc_for_an_unknown_zone() -> None:
    moment = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)

    assert format_when(moment, "Mars/Olympus", "de", now=moment) == "15:30"


@pytest.mark.parametrize("locale", [locale for locale in SUPPORTED if locale != "en"])
def test_every_catalog_translates_every_message(locale: str) -> None:
    english = "Decline this lead"

    translated = translations(locale).gettext(english)

    assert translated != english
    assert translations(locale).ngettext("%(num)d inquiry from this person", "x", 2) != "x"


def test_unknown_locale_speaks_english() -> None:
    assert translations("it").gettext("Decline this lead") == "Decline this lead"
