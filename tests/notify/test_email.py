from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import re

import pytest

from backend.access.models import AgentLink
from backend.access.service import agent_for_link
from backend.notify.models import Notification
from backend.notify.service import Notifier, SmtpServer, parse_smtp_url, save_subscription
from backend.pursuit.models import LeadEvent
from backend.settings import Settings
from tests.mail import Inbox, free_port

from .conftest import MakeOffer, Sessions, rows
from .fake_push import FakePushService


async def test_notify_offer_without_subscription_mails_one_link(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()

    [note] = await mailing_notifier.notify_offer(offer.id)

    [envelope] = inbox[0].envelopes
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    text = message.get_body().get_content()  # type: ignore[union-attr]
    link = re.search(r"http://testserver\.local/r/(pl_[\w-]+)\?offer=(\w+)", text)
    assert (envelope.mail_from, envelope.rcpt_tos) == ("pursuit@localhost", ["ana@example.com"])
    assert (message["From"], message["To"]) == ("Pursuit <pursuit@localhost>", "ana@example.com")
    assert message["Subject"] == "New lead: Lima Energia"
    assert "web · solar · SP, BR. Accept by 15:30 (UTC)." in text
    assert link is not None
    assert link.group(2) == offer.id
    async with sessions() as session:
        assert await agent_for_link(session, link.group(1)) == offer.agent_id
    assert (note.channel, note.status, note.recipient) == ("email", "sent", "ana@example.com")


async def test_notify_offer_mail_record_withholds_the_token(
    mailing_notifier: Notifier, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()

    [note] = await mailing_notifier.notify_offer(offer.id)

    [stored] = await rows(sessions, Notification)
    [event] = await rows(sessions, LeadEvent)
    assert (stored.id, stored.channel, stored.status) == (note.id, "email", "sent")
    assert f"http://testserver.local/r/…?offer={offer.id}" in stored.body
    assert "pl_" not in stored.body
    assert event.data == {"channel": "email", "status": "sent", "notification_id": note.id}


async def test_notify_offer_mails_when_every_push_is_gone(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer()
    device = push_service.device("gone-phone")
    async with sessions() as session:
        await save_subscription(
            session, offer.agent_id, device.endpoint, device.p256dh, device.auth, ("127.0.0.1",)
        )

    notes = await mailing_notifier.notify_offer(offer.id)

    assert [(n.channel, n.status) for n in notes] == [("push", "gone"), ("email", "sent")]
    assert len(inbox[0].envelopes) == 1


async def test_notify_offer_without_smtp_keeps_mail_in_outbox(
    notifier: Notifier,
    inbox: tuple[Inbox, str],
    sessions: Sessions,
    make_offer: MakeOffer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    offer = await make_offer()
    caplog.set_level(logging.INFO, logger="backend.notify.service")

    [note] = await notifier.notify_offer(offer.id)

    [stored] = await rows(sessions, Notification)
    assert inbox[0].envelopes == []
    assert (stored.id, stored.channel, stored.status) == (note.id, "email", "kept")
    assert (stored.recipient, stored.subject) == ("ana@example.com", "New lead: Lima Energia")
    assert await rows(sessions, AgentLink) == []
    assert (
        f"notification kept in outbox agent_id={offer.agent_id} offer_id={offer.id}"
        in caplog.messages
    )
    assert "ana@example.com" not in caplog.text


async def test_notify_offer_to_agent_without_email_is_kept(
    mailing_notifier: Notifier, inbox: tuple[Inbox, str], make_offer: MakeOffer
) -> None:
    offer = await make_offer(email=None)

    [note] = await mailing_notifier.notify_offer(offer.id)

    assert (note.channel, note.status, note.recipient) == ("email", "kept", None)
    assert inbox[0].envelopes == []


async def test_notify_offer_with_smtp_down_records_failure(
    settings: Settings, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    notifier = Notifier(
        dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"), sessions
    )

    [note] = await notifier.notify_offer(offer.id)

    assert (note.channel, note.status) == ("email", "failed")
    assert note.error is not None
    assert note.error.startswith("SMTPConnectError")


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25, None, None, False)),
        ("smtp://mail.example.com:587", SmtpServer("mail.example.com", 587, None, None, False)),
        (
            "smtp://ops%40example.com:p%3Ass@mail.example.com:2525",
            SmtpServer("mail.example.com", 2525, "ops@example.com", "p:ss", False),
        ),
        ("smtps://u:p@mail.example.com", SmtpServer("mail.example.com", 465, "u", "p", True)),
        ("smtps://mail.example.com:1465", SmtpServer("mail.example.com", 1465, None, None, True)),
    ],
)
def test_parse_smtp_url(url: str, server: SmtpServer) -> None:
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_parse_smtp_url_refuses_other_forms(url: str) -> None:
    with pytest.raises(ValueError, match="PURSUIT_SMTP_URL must read"):
        parse_smtp_url(url)
