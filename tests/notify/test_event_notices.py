"""Notices of routing events: a withdrawn offer, an overdue contact, a lead left for managers."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.access.models import User
from backend.access.service import agent_for_link
from backend.errors import BadInput
from backend.notify.messages import MAX_PUSH_PAYLOAD, withdrawn_notice
from backend.notify.models import Notification
from backend.notify.service import Notifier, save_subscription
from backend.pursuit.models import Lead, LeadEvent, Offer
from backend.roster.models import Agent, Partner, Team
from tests.mail import Inbox

from .conftest import OFFER_EXPIRES_AT, MakeOffer, Sessions, rows
from .fake_push import FakePushService

CONTACT_DUE_AT = datetime(2030, 1, 3, 9, 0, tzinfo=UTC)


async def add_event(sessions: Sessions, lead_id: str, type: str, data: dict[str, Any]) -> int:
    async with sessions() as session:
        event = LeadEvent(lead_id=lead_id, type=type, actor="system", data=data)
        session.add(event)
        await session.commit()
        return event.id


async def settle_offer(sessions: Sessions, offer: Offer, status: str) -> None:
    async with sessions() as session:
        stored = await session.get(Offer, offer.id)
        assert stored is not None
        stored.status, stored.contact_due_at = status, CONTACT_DUE_AT
        await session.commit()


async def add_partner_offer(sessions: Sessions) -> Offer:
    """An accepted offer to a partner rep who has an email and no device."""
    async with sessions() as session:
        partner = Partner(name="Sol Parceiros")
        session.add(partner)
        await session.flush()
        agent = Agent(
            name="Bruno Lima",
            email="bruno@sol.example",
            kind="partner",
            partner_id=partner.id,
            timezone="America/Sao_Paulo",
        )
        lead = Lead(source="fair", company="Casa Verde", product="wind", country="BR")
        session.add_all([agent, lead])
        await session.flush()
        offer = Offer(
            lead_id=lead.id,
            agent_id=agent.id,
            status="accepted",
            expires_at=OFFER_EXPIRES_AT,
            contact_due_at=CONTACT_DUE_AT,
        )
        session.add(offer)
        await session.commit()
        return offer


async def add_team_with_manager(sessions: Sessions, name: str) -> tuple[str, str]:
    async with sessions() as session:
        team = Team(name=name)
        session.add(team)
        await session.flush()
        manager = User(email=f"{name.lower()}@pursuit.example", role="manager", team_id=team.id)
        session.add(manager)
        await session.commit()
        return team.id, manager.id


async def add_lead(sessions: Sessions) -> Lead:
    async with sessions() as session:
        lead = Lead(source="web", company="Lima Energia", product="solar", country="BR")
        session.add(lead)
        await session.commit()
        return lead


def mail_of(envelope: Any) -> tuple[email.message.EmailMessage, str]:
    """The message as received, and its text with the wire's CRLF line ends made plain."""
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    text = message.get_body().get_content()  # type: ignore[union-attr]
    return message, text.replace("\r\n", "\n")


# Withdrawn offers


async def test_notify_event_withdrawn_pushes_taken_notice(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    device = push_service.device("ana-phone")
    async with sessions() as session:
        await save_subscription(
            session, offer.agent_id, device.endpoint, device.p256dh, device.auth, ("127.0.0.1",)
        )
    await settle_offer(sessions, offer, "withdrawn")
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "why": "taken"}
    event_id = await add_event(sessions, offer.lead_id, "withdrawn", data)

    [note] = await notifier.notify_event(event_id)

    assert push_service.rejections == []
    [push] = push_service.received
    assert push.payload == {
        "title": "Lead taken by a colleague: Lima Energia",
        "body": "web · solar · SP, BR. Another rep accepted it first. Nothing more to do.",
        "kind": "withdrawn",
        "lead_id": offer.lead_id,
        "offer_id": offer.id,
        "url": "http://testserver.local/app",
    }
    assert (note.channel, note.status, note.agent_id, note.offer_id) == (
        "push",
        "sent",
        offer.agent_id,
        offer.id,
    )
    notified = [e for e in await rows(sessions, LeadEvent) if e.type == "notified"]
    assert [e.data for e in notified] == [
        {"channel": "push", "status": "sent", "notification_id": note.id, "event_id": event_id}
    ]


async def test_notify_event_withdrawn_without_device_mails_no_link(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "why": "reassigned"}
    event_id = await add_event(sessions, offer.lead_id, "withdrawn", data)

    [note] = await mailing_notifier.notify_event(event_id)

    [envelope] = inbox[0].envelopes
    message, text = mail_of(envelope)
    assert envelope.rcpt_tos == ["ana@example.com"]
    assert message["Subject"] == "Lead reassigned: Lima Energia"
    assert text == (
        "Lead reassigned: Lima Energia\n"
        "web · solar · SP, BR. It has been given to someone else. Nothing more to do.\n"
    )
    assert (note.channel, note.status) == ("email", "sent")


@pytest.mark.parametrize(
    ("why", "title", "reason"),
    [
        ("taken", "Lead taken by a colleague", "Another rep accepted it first."),
        ("reassigned", "Lead reassigned", "It has been given to someone else."),
        ("manual", "Lead withdrawn", "It was withdrawn from you."),
        ("", "Lead withdrawn", "It was withdrawn from you."),
    ],
)
def test_withdrawn_notice_names_why(why: str, title: str, reason: str) -> None:
    lead = Lead(id="l1", source="web", company="Lima Energia")
    offer = Offer(id="o1", lead_id="l1", agent_id="a1", expires_at=OFFER_EXPIRES_AT)

    notice = withdrawn_notice(offer, lead, why, "http://testserver.local")

    assert notice.title == f"{title}: Lima Energia"
    assert notice.summary == f"web. {reason} Nothing more to do."
    assert notice.action is None


def test_withdrawn_notice_fits_huge_company_name_in_one_push() -> None:
    lead = Lead(id="l1", source="web", company="Ü" * 300, region="€" * 100)
    offer = Offer(id="o1", lead_id="l1", agent_id="a1", expires_at=OFFER_EXPIRES_AT)

    notice = withdrawn_notice(offer, lead, "taken", "http://testserver.local")

    assert len(notice.payload) <= MAX_PUSH_PAYLOAD
    assert notice.title == "Lead taken by a colleague: " + "Ü" * 92 + "…"


# Overdue contacts


async def test_notify_event_contact_overdue_mails_partner_rep_a_link(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], sessions: Sessions
) -> None:
    offer = await add_partner_offer(sessions)
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "due_at": CONTACT_DUE_AT.isoformat()}
    event_id = await add_event(sessions, offer.lead_id, "contact_overdue", data)

    [note] = await mailing_notifier.notify_event(event_id)

    [envelope] = inbox[0].envelopes
    message, text = mail_of(envelope)
    link = re.search(r"http://testserver\.local/r/(pl_[\w-]+)\?offer=(\w+)", text)
    assert envelope.rcpt_tos == ["bruno@sol.example"]
    assert message["Subject"] == "Contact overdue: Casa Verde"
    assert link is not None
    assert text == (
        "Contact overdue: Casa Verde\n"
        "fair · wind · BR. No contact logged by 06:00 (America/Sao_Paulo); "
        "get in touch and log it.\n\n"
        f"Open the lead: {link.group(0)}\n\n"
        "This link opens your own leads; please do not forward it.\n"
    )
    assert link.group(2) == offer.id
    async with sessions() as session:
        assert await agent_for_link(session, link.group(1)) == offer.agent_id
    [stored] = await rows(sessions, Notification)
    assert (stored.id, stored.channel, stored.status) == (note.id, "email", "sent")
    assert "pl_" not in stored.body


async def test_notify_event_contact_overdue_after_contact_sends_nothing(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], sessions: Sessions
) -> None:
    offer = await add_partner_offer(sessions)
    async with sessions() as session:
        lead = await session.get(Lead, offer.lead_id)
        assert lead is not None
        lead.first_contact_at = CONTACT_DUE_AT
        await session.commit()
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "due_at": CONTACT_DUE_AT.isoformat()}
    event_id = await add_event(sessions, offer.lead_id, "contact_overdue", data)

    notes = await mailing_notifier.notify_event(event_id)

    assert notes == []
    assert inbox[0].envelopes == []
    assert await rows(sessions, Notification) == []


# Manager alerts


async def test_notify_event_alert_mails_only_the_teams_manager(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead = await add_lead(sessions)
    north, north_manager = await add_team_with_manager(sessions, "North")
    await add_team_with_manager(sessions, "South")
    async with sessions() as session:
        session.add(User(email="admin@pursuit.example", role="admin"))
        await session.commit()
    data = {"why": "no eligible agent in the pool", "decision_id": "d1", "team_ids": [north]}
    event_id = await add_event(sessions, lead.id, "alert", data)
    caplog.set_level(logging.INFO, logger="backend.notify.service")

    notes = await mailing_notifier.notify_event(event_id)

    [envelope] = inbox[0].envelopes
    message, text = mail_of(envelope)
    assert notes == []
    assert envelope.rcpt_tos == ["north@pursuit.example"]
    assert message["Subject"] == "Unassigned lead: Lima Energia"
    assert text == (
        "Unassigned lead: Lima Energia\n"
        "web · solar · BR.\n"
        "Why: no eligible agent in the pool\n\n"
        "It waits in the manager queue until someone assigns it.\n"
        f"Open its journey: http://testserver.local/console/leads/{lead.id}\n"
    )
    [notified] = [e for e in await rows(sessions, LeadEvent) if e.type == "notified"]
    assert notified.data == {
        "channel": "email",
        "status": "sent",
        "user_id": north_manager,
        "event_id": event_id,
    }
    assert "pursuit.example" not in caplog.text


async def test_notify_event_alert_reaches_managers_without_a_team(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], sessions: Sessions
) -> None:
    lead = await add_lead(sessions)
    await add_team_with_manager(sessions, "North")
    async with sessions() as session:
        session.add(User(email="head@pursuit.example", role="manager"))
        await session.commit()
    event_id = await add_event(sessions, lead.id, "alert", {"why": "x", "team_ids": []})

    await mailing_notifier.notify_event(event_id)

    assert [envelope.rcpt_tos for envelope in inbox[0].envelopes] == [["head@pursuit.example"]]


async def test_notify_event_alert_without_smtp_records_it_skipped(
    notifier: Notifier, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    lead = await add_lead(sessions)
    north, manager = await add_team_with_manager(sessions, "North")
    event_id = await add_event(sessions, lead.id, "alert", {"why": "x", "team_ids": [north]})

    await notifier.notify_event(event_id)

    [notified] = [e for e in await rows(sessions, LeadEvent) if e.type == "notified"]
    assert notified.data["status"] == "skipped"
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"manager alert skipped event_id={event_id} user_id={manager} error=None",
        )
    ]


async def test_notify_event_alert_without_manager_warns(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead = await add_lead(sessions)
    await add_team_with_manager(sessions, "South")
    event_id = await add_event(sessions, lead.id, "alert", {"why": "x", "team_ids": ["other"]})

    await mailing_notifier.notify_event(event_id)

    assert inbox[0].envelopes == []
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"manager alert has no recipient event_id={event_id} lead_id={lead.id}")
    ]


# Everything else


async def test_notify_event_of_other_type_sends_nothing(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer()
    device = push_service.device("ana-phone")
    async with sessions() as session:
        await save_subscription(
            session, offer.agent_id, device.endpoint, device.p256dh, device.auth, ("127.0.0.1",)
        )
    event_id = await add_event(sessions, offer.lead_id, "accepted", {"offer_id": offer.id})

    notes = await mailing_notifier.notify_event(event_id)

    assert notes == []
    assert push_service.received == []
    assert inbox[0].envelopes == []
    assert await rows(sessions, Notification) == []
    assert [e.type for e in await rows(sessions, LeadEvent)] == ["accepted"]


async def test_schedule_events_survives_unknown_event(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    make_offer: MakeOffer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    offer = await make_offer()
    data = {"offer_id": offer.id, "agent_id": offer.agent_id, "why": "manual"}
    event_id = await add_event(sessions, offer.lead_id, "withdrawn", data)

    mailing_notifier.schedule_events([event_id + 1000, event_id])
    await mailing_notifier.drain()

    assert len(inbox[0].envelopes) == 1
    assert f"event notification lost event_id={event_id + 1000} error=NotFound" in caplog.messages


async def test_notify_event_withdrawn_without_offer_id_is_refused(
    notifier: Notifier, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    event_id = await add_event(sessions, offer.lead_id, "withdrawn", {"why": "taken"})

    with pytest.raises(BadInput, match=f"event {event_id} has none"):
        await notifier.notify_event(event_id)
