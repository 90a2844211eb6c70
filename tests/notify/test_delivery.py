"""Delivering an offer: what each push service answer does, retries, fallbacks and the record."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import pytest

from backend.access.service import create_user
from backend.notify.messages import MAX_PUSH_PAYLOAD, encode_push_payload
from backend.notify.models import Notification, PushSubscription
from backend.notify.service import (
    Notifier,
    check_vapid_subject,
    parse_retry_after,
    push_topic,
    save_subscription,
    set_subscription_enabled,
)
from backend.pursuit.models import Offer
from backend.pursuit.service import record_event
from backend.settings import Settings
from tests.mail import Inbox

from .conftest import NOW, MakeOffer, Sessions, Sleeps, rows
from .fake_push import FakePushService, PushDevice
from .fake_sms import FakeSmsGateway

PHONE = "+5511990000001"


async def subscribe(sessions: Sessions, agent_id: str, device: PushDevice) -> PushSubscription:
    async with sessions() as session:
        return await save_subscription(
            session, agent_id, device.endpoint, device.p256dh, device.auth, ("127.0.0.1",)
        )


async def stored(
    sessions: Sessions, model: type[PushSubscription], row_id: str
) -> PushSubscription:
    async with sessions() as session:
        row = await session.get(model, row_id)
        assert row is not None
        return row


async def notified_via(sessions: Sessions, offer_id: str) -> str | None:
    async with sessions() as session:
        offer = await session.get(Offer, offer_id)
        assert offer is not None
        return offer.notified_via


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsGateway]:
    service = FakeSmsGateway()
    await service.start()
    yield service
    await service.close()


@pytest.fixture
async def texting_notifier(
    settings: Settings,
    sessions: Sessions,
    inbox: tuple[Inbox, str],
    gateway: FakeSmsGateway,
    sleeps: Sleeps,
) -> AsyncIterator[Notifier]:
    configured = dataclasses.replace(
        settings, smtp_url=inbox[1], sms_url=gateway.url, sms_token="sms-secret"
    )
    notifier = Notifier(configured, sessions, sleep=sleeps, clock=lambda: NOW)
    await notifier.start()
    yield notifier
    await notifier.close()


# What the push service answers


@pytest.mark.parametrize("status", [404, 410])
async def test_push_answered_gone_removes_the_device(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    status: int,
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", (status, {}))

    notes = await notifier.notify_offer(offer.id)

    assert [(n.channel, n.status, n.status_code, n.attempts) for n in notes] == [
        ("push", "gone", status, 1),
        ("email", "kept", None, 1),
    ]
    assert await rows(sessions, PushSubscription) == []


@pytest.mark.parametrize("status", [400, 413])
async def test_push_refused_as_malformed_keeps_the_device_and_blames_us(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    sleeps: Sleeps,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    offer = await make_offer()
    saved = await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", (status, {}))
    caplog.set_level(logging.INFO, logger="backend.notify.service")

    notes = await notifier.notify_offer(offer.id)

    assert [(n.channel, n.status, n.status_code, n.attempts) for n in notes] == [
        ("push", "refused", status, 1),
        ("email", "kept", None, 1),
    ]
    assert sleeps.waits == []
    assert len(push_service.received) == 1
    kept = await stored(sessions, PushSubscription, saved.id)
    assert (kept.last_failure_at, kept.last_success_at) == (notes[0].created_at, None)
    assert (
        "push refused as malformed fault=ours "
        f"subscription_id={saved.id} offer_id={offer.id} status_code={status}"
    ) in caplog.messages
    assert [r.levelname for r in caplog.records if "fault=ours" in r.message] == ["ERROR"]


async def test_push_throttled_waits_as_long_as_retry_after_says(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    sleeps: Sleeps,
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", (429, {"Retry-After": "2"}))

    [note] = await notifier.notify_offer(offer.id)

    assert sleeps.waits == [2.0]
    assert (note.status, note.status_code, note.attempts) == ("sent", 201, 2)
    assert len(push_service.received) == 2
    [stored_note] = await rows(sessions, Notification)
    assert (stored_note.status, stored_note.attempts) == ("sent", 2)


async def test_push_throttled_with_an_http_date_waits_until_then(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    sleeps: Sleeps,
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    push_service.answer("phone", (429, {"Retry-After": later}))

    [note] = await notifier.notify_offer(offer.id)

    assert sleeps.waits == [30.0]
    assert (note.status, note.attempts) == ("sent", 2)


async def test_push_server_errors_are_retried_with_doubling_waits(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    sleeps: Sleeps,
) -> None:
    offer = await make_offer()
    saved = await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", (503, {}), (500, {}))

    [note] = await notifier.notify_offer(offer.id)

    assert sleeps.waits == [1.0, 2.0]
    assert (note.status, note.status_code, note.attempts) == ("sent", 201, 3)
    kept = await stored(sessions, PushSubscription, saved.id)
    assert (kept.last_success_at, kept.last_failure_at) == (note.created_at, None)
    assert await notified_via(sessions, offer.id) == "push"


async def test_push_failing_every_attempt_falls_back_to_mail(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", *[(502, {"Retry-After": "0"})] * 4)

    notes = await mailing_notifier.notify_offer(offer.id)

    assert [(n.channel, n.status, n.status_code, n.attempts) for n in notes] == [
        ("push", "failed", 502, 4),
        ("email", "sent", None, 1),
    ]
    assert len(inbox[0].envelopes) == 1
    assert len(await rows(sessions, PushSubscription)) == 1
    assert await notified_via(sessions, offer.id) == "email"


async def test_push_retry_that_would_outlast_the_offer_is_not_made(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    sleeps: Sleeps,
) -> None:
    offer = await make_offer()  # 900 seconds left on the notifier's clock
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    push_service.answer("phone", (429, {"Retry-After": "900"}))

    notes = await notifier.notify_offer(offer.id)

    assert sleeps.waits == []
    assert [(n.channel, n.status, n.status_code) for n in notes] == [
        ("push", "failed", 429),
        ("email", "kept", None),
    ]


async def test_push_retry_does_not_hold_up_the_agents_other_devices(
    settings: Settings,
    sessions: Sessions,
    push_service: FakePushService,
    make_offer: MakeOffer,
) -> None:
    waiting, release = asyncio.Event(), asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waiting.set()
        await release.wait()

    notifier = Notifier(settings, sessions, sleep=held_sleep, clock=lambda: NOW)
    await notifier.start()
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("throttled"))
    await subscribe(sessions, offer.agent_id, push_service.device("laptop"))
    push_service.answer("throttled", (429, {"Retry-After": "5"}))

    sending = asyncio.create_task(notifier.notify_offer(offer.id))
    await waiting.wait()
    for _ in range(200):  # the laptop's push runs while the throttled one waits
        if any(push.path == "/push/laptop" for push in push_service.received):
            break
        await asyncio.sleep(0.01)
    delivered_while_waiting = [push.path for push in push_service.received]
    release.set()
    notes = await sending
    await notifier.close()

    assert sorted(delivered_while_waiting) == ["/push/laptop", "/push/throttled"]
    assert sorted((n.status, n.attempts) for n in notes) == [("sent", 1), ("sent", 2)]


# What is pushed


async def test_push_payload_over_the_bound_is_trimmed_in_the_body_never_the_ids() -> None:
    fields = {
        "title": "New lead: Lima Energia",
        "body": "Ü" * 4000,
        "lead_id": "l" * 32,
        "offer_id": "o" * 32,
        "url": "http://testserver.local/app?offer=" + "o" * 32,
        "actions": [{"action": "accept", "title": "Accept"}],
        "accept_url": "http://testserver.local/api/v1/offers/" + "o" * 32 + "/accept",
    }

    encoded = encode_push_payload(fields)

    decoded = json.loads(encoded)
    assert len(encoded) <= MAX_PUSH_PAYLOAD == 3993
    assert decoded["body"].endswith("Ü…")
    assert {k: v for k, v in decoded.items() if k != "body"} == {
        k: v for k, v in fields.items() if k != "body"
    }


async def test_push_payload_plaintext_fits_one_record(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer(company="\x01" * 300)  # each escapes to six bytes
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))

    [note] = await notifier.notify_offer(offer.id)

    [push] = push_service.received
    assert note.status == "sent"
    assert push.plaintext_size <= 3993
    assert push.body_size == push.plaintext_size + 103  # one aes128gcm record's overhead
    assert (push.payload["lead_id"], push.payload["offer_id"]) == (offer.lead_id, offer.id)


async def test_withdrawn_notice_is_pushed_at_normal_urgency_under_the_same_topic(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    async with sessions() as session:
        event = record_event(
            session,
            lead_id=offer.lead_id,
            type="withdrawn",
            actor="system",
            data={"offer_id": offer.id, "why": "taken"},
        )
        await session.commit()
        event_id = event.id

    await notifier.notify_offer(offer.id)
    await notifier.notify_event(event_id)

    first, second = push_service.received
    assert (first.headers["urgency"], second.headers["urgency"]) == ("high", "normal")
    assert first.headers["topic"] == second.headers["topic"] == offer.lead_id
    assert second.headers["ttl"] == "3600"
    assert await notified_via(sessions, offer.id) == "push"


def test_push_topic_is_the_lead_id_or_a_digest_that_fits() -> None:
    assert push_topic("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"
    # base64url of SHA-256("lead/with spaces"), first 32 characters
    assert push_topic("lead/with spaces") == "oeLja4_iIBuU-A4YICe17WcwYGCffxoN"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", push_topic("x" * 40))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("Wed, 02 Jan 2030 15:16:00 GMT", 60.0),
        ("Wed, 02 Jan 2030 15:00:00 GMT", 0.0),
        ("soon", None),
        ("-3", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


# Whose push, from whom


async def test_vapid_subject_defaults_to_the_first_admins_address(
    settings: Settings, sessions: Sessions, push_service: FakePushService, make_offer: MakeOffer
) -> None:
    async with sessions() as session:
        await create_user(session, "boss@pursuit.example", "admin")
    notifier = Notifier(dataclasses.replace(settings, vapid_subject=None), sessions)
    await notifier.start()
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))

    await notifier.notify_offer(offer.id)
    await notifier.close()

    assert push_service.rejections == []
    assert push_service.received[0].claims["sub"] == "mailto:boss@pursuit.example"


@pytest.mark.parametrize(
    "subject", ["admin@pursuit.example", "mailto:admin", "http://pursuit.example", "https://x"]
)
def test_vapid_subject_must_be_a_reachable_contact(subject: str) -> None:
    with pytest.raises(ValueError, match="must be a mailto: address or an https: URL"):
        check_vapid_subject(subject)


async def test_disabled_device_gets_nothing_and_the_offer_is_mailed(
    mailing_notifier: Notifier,
    inbox: tuple[Inbox, str],
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer()
    off = await subscribe(sessions, offer.agent_id, push_service.device("off"))
    await subscribe(sessions, offer.agent_id, push_service.device("gone-old"))
    async with sessions() as session:
        await set_subscription_enabled(session, off.id, offer.agent_id, False)
    push_service.answer("gone-old", (410, {}))

    notes = await mailing_notifier.notify_offer(offer.id)

    assert [push.path for push in push_service.received] == ["/push/gone-old"]
    assert [(n.channel, n.status) for n in notes] == [("push", "gone"), ("email", "sent")]
    assert len(inbox[0].envelopes) == 1
    assert [s.id for s in await rows(sessions, PushSubscription)] == [off.id]


# Mail and text when no device answers


async def test_no_push_mails_and_texts_the_offer(
    texting_notifier: Notifier,
    inbox: tuple[Inbox, str],
    gateway: FakeSmsGateway,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer(phone=PHONE)

    notes = await texting_notifier.notify_offer(offer.id)

    [text] = gateway.received
    assert (text.authorization, text.content_type) == ("Bearer sms-secret", "application/json")
    assert set(text.body) == {"to", "body"}
    assert text.body["to"] == PHONE
    link = re.fullmatch(
        r"New lead: Lima Energia\. web · solar · SP, BR\. Accept by 15:30 \(UTC\)\. "
        rf"http://testserver\.local/r/(pl_[\w-]{{43}})\?offer={offer.id}",
        text.body["body"],
    )
    assert link is not None
    [envelope] = inbox[0].envelopes
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "New lead: Lima Energia"
    assert [(n.channel, n.status, n.status_code, n.recipient) for n in notes] == [
        ("email", "sent", None, "ana@example.com"),
        ("sms", "sent", 202, PHONE),
    ]
    sms_row = next(n for n in await rows(sessions, Notification) if n.channel == "sms")
    assert "pl_" not in sms_row.body
    assert sms_row.body.endswith(f"http://testserver.local/r/…?offer={offer.id}")
    assert await notified_via(sessions, offer.id) == "sms"


async def test_no_push_without_a_phone_is_only_mailed(
    texting_notifier: Notifier, gateway: FakeSmsGateway, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer(phone=None)

    notes = await texting_notifier.notify_offer(offer.id)

    assert gateway.received == []
    assert [(n.channel, n.status) for n in notes] == [("email", "sent")]
    assert await notified_via(sessions, offer.id) == "email"


async def test_gateway_refusing_the_text_is_recorded_as_failed(
    texting_notifier: Notifier, gateway: FakeSmsGateway, sessions: Sessions, make_offer: MakeOffer
) -> None:
    gateway.status = 500
    offer = await make_offer(phone=PHONE)

    notes = await texting_notifier.notify_offer(offer.id)

    assert [(n.channel, n.status, n.status_code) for n in notes] == [
        ("email", "sent", None),
        ("sms", "failed", 500),
    ]
    assert notes[1].error == "SmsFailed: The SMS gateway answered 500."
    assert await notified_via(sessions, offer.id) == "email"


async def test_an_offer_pushed_is_not_texted(
    texting_notifier: Notifier,
    gateway: FakeSmsGateway,
    inbox: tuple[Inbox, str],
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
) -> None:
    offer = await make_offer(phone=PHONE)
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))

    notes = await texting_notifier.notify_offer(offer.id)

    assert [(n.channel, n.status) for n in notes] == [("push", "sent")]
    assert (gateway.received, inbox[0].envelopes) == ([], [])


async def test_offer_reaching_nobody_records_no_channel(
    notifier: Notifier, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()

    notes = await notifier.notify_offer(offer.id)

    assert [(n.channel, n.status) for n in notes] == [("email", "kept")]
    assert await notified_via(sessions, offer.id) is None
