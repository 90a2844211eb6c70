"""What an agent is told, in their language: push titles and bodies, and the offer mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from backend.notify.messages import (
    alert_mail,
    notice_mail_text,
    offer_notice,
    overdue_notice,
    withdrawn_notice,
)
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent

BASE = "http://testserver.local"
EXPIRES = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)


def lead() -> Lead:
    return Lead(
        id="l1", source="web", company="Lima Energia", region="SP", country="BR", product="solar"
    )


def offer() -> Offer:
    return Offer(id="o1", lead_id="l1", agent_id="a1", expires_at=EXPIRES)


def agent(*languages: str, timezone: str = "America/Sao_Paulo") -> Agent:
    return Agent(id="a1", name="Ana", languages=list(languages), timezone=timezone)


def test_offer_notice_in_brazilian_portuguese() -> None:
    notice = offer_notice(offer(), lead(), agent("pt", "en"), BASE)

    assert notice.title == "Novo lead: Lima Energia"
    assert notice.summary == "web · solar · SP, BR. Aceite até 12:30 (America/Sao_Paulo)."
    assert json.loads(notice.payload)["body"] == notice.summary
    assert notice_mail_text(notice, f"{BASE}/r/pl_x") == (
        "Novo lead: Lima Energia\n"
        "web · solar · SP, BR. Aceite até 12:30 (America/Sao_Paulo).\n"
        "\n"
        "Abrir a oferta: http://testserver.local/r/pl_x\n"
        "\n"
        "Este link abre os seus leads; não o encaminhe.\n"
    )


def test_offer_notice_in_german() -> None:
    notice = offer_notice(offer(), lead(), agent("de", timezone="Europe/Berlin"), BASE)

    assert notice.title == "Neuer Lead: Lima Energia"
    assert notice.summary == "web · solar · SP, BR. Annehmen bis 16:30 (Europe/Berlin)."
    assert notice.action == "Angebot öffnen"


def test_overdue_notice_in_german() -> None:
    notice = overdue_notice(offer(), lead(), agent("de-CH", timezone="UTC"), EXPIRES, BASE)

    assert notice.title == "Kontakt überfällig: Lima Energia"
    assert notice.summary == (
        "web · solar · SP, BR. Bis 15:30 (UTC) wurde kein Kontakt erfasst; "
        "melden Sie sich und erfassen Sie ihn."
    )


def test_withdrawn_notice_in_brazilian_portuguese() -> None:
    notice = withdrawn_notice(offer(), lead(), "taken", BASE, agent=agent("pt"))

    assert notice.title == "Lead assumido por um colega: Lima Energia"
    assert notice.summary == (
        "web · solar · SP, BR. Outro vendedor aceitou primeiro. Você não precisa fazer mais nada."
    )


def test_notice_for_an_agent_without_languages_is_english() -> None:
    notice = offer_notice(offer(), lead(), agent(timezone="UTC"), BASE)

    assert (notice.title, notice.summary) == (
        "New lead: Lima Energia",
        "web · solar · SP, BR. Accept by 15:30 (UTC).",
    )


def test_alert_mail_in_german_names_a_lead_without_a_name() -> None:
    nameless = Lead(id="l2", source="csv")

    mail = alert_mail(nameless, "", BASE, locale="de")

    assert mail.subject == "Nicht zugewiesener Lead: unbenannter Kontakt"
    assert mail.text == (
        "Nicht zugewiesener Lead: unbenannter Kontakt\n"
        "csv.\n"
        "Grund: keiner wurde erfasst\n"
        "\n"
        "Er wartet in der Warteschlange der Führungskraft, bis ihn jemand zuweist.\n"
        "Verlauf öffnen: http://testserver.local/console/leads/l2\n"
    )
