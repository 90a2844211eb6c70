from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.access.service import create_agent_link
from backend.errors import BadInput, NotFound
from backend.notify.models import Notification, PushSubscription
from backend.notify.service import (
    MAX_PUSH_PAYLOAD,
    Notifier,
    delete_subscription,
    encode_push_payload,
    endpoint_allowed,
    save_subscription,
)
from backend.notify.vapid import load_vapid
from backend.pursuit.models import LeadEvent
from backend.settings import Settings

from .conftest import VAPID_SUBJECT, MakeOffer, Sessions, rows
from .fake_push import FakePushService, PushDevice, b64url


async def subscribe(sessions: Sessions, agent_id: str, device: PushDevice) -> PushSubscription:
    async with sessions() as session:
        return await save_subscription(
            session, agent_id, device.endpoint, device.p256dh, device.auth, ("127.0.0.1",)
        )


async def test_notify_offer_pushes_signed_encrypted_payload(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    subscription = await subscribe(sessions, offer.agent_id, push_service.device("ana-phone"))

    notes = await notifier.notify_offer(offer.id)

    assert push_service.rejections == []
    [push] = push_service.received
    assert push.payload == {
        "title": "New lead: Lima Energia",
        "body": "web · solar · SP, BR. Accept by 15:30 (UTC).",
        "lead_id": offer.lead_id,
        "offer_id": offer.id,
        "url": f"http://testserver.local/app?offer={offer.id}",
        "expires_at": "2030-01-02T15:30:00+00:00",
        "kind": "offer",
        "actions": [
            {"action": "accept", "title": "Accept"},
            {"action": "decline", "title": "Decline"},
        ],
        "accept_url": f"http://testserver.local/api/v1/offers/{offer.id}/accept",
        "decline_url": f"http://testserver.local/app?offer={offer.id}&decline=1",
    }
    assert push.claims["aud"] == push_service.origin
    assert push.claims["sub"] == VAPID_SUBJECT
    assert time.time() < push.claims["exp"] <= time.time() + 12 * 3600
    assert push.vapid_key == notifier.public_key
    assert push.headers["ttl"] == "900"  # seconds until the offer expires
    assert push.headers["urgency"] == "high"
    assert push.headers["topic"] == offer.lead_id
    assert push.headers["content-encoding"] == "aes128gcm"
    assert [(n.channel, n.status, n.status_code, n.subscription_id) for n in notes] == [
        ("push", "sent", 201, subscription.id)
    ]


async def test_notify_offer_records_notification_and_journey_event(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("ana-phone"))

    [note] = await notifier.notify_offer(offer.id)

    [stored] = await rows(sessions, Notification)
    assert (stored.id, stored.channel, stored.status, stored.agent_id, stored.offer_id) == (
        note.id,
        "push",
        "sent",
        offer.agent_id,
        offer.id,
    )
    assert stored.sent_at is not None
    [event] = await rows(sessions, LeadEvent)
    assert (event.lead_id, event.type, event.actor) == (offer.lead_id, "notified", "system")
    assert event.data == {"channel": "push", "status": "sent", "notification_id": note.id}


async def test_notify_offer_signs_for_each_push_service_origin(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    other_service = FakePushService()
    await other_service.start()
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("phone"))
    await subscribe(sessions, offer.agent_id, other_service.device("laptop"))

    notes = await notifier.notify_offer(offer.id)
    await other_service.close()

    assert push_service.rejections == other_service.rejections == []
    assert push_service.received[0].claims["aud"] == push_service.origin
    assert other_service.received[0].claims["aud"] == other_service.origin
    assert sorted(n.status for n in notes) == ["sent", "sent"]


async def test_notify_offer_deletes_subscription_answered_gone(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    subscription = await subscribe(sessions, offer.agent_id, push_service.device("gone-phone"))

    notes = await notifier.notify_offer(offer.id)

    assert [(n.channel, n.status, n.status_code, n.subscription_id) for n in notes] == [
        ("push", "gone", 410, subscription.id),
        ("email", "kept", None, None),
    ]
    assert await rows(sessions, PushSubscription) == []
    assert sorted(n.status for n in await rows(sessions, Notification)) == ["gone", "kept"]


async def test_notify_offer_fits_huge_company_name_in_one_push(
    notifier: Notifier, push_service: FakePushService, sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer(company="Ü" * 300)  # the most leads.company holds
    await subscribe(sessions, offer.agent_id, push_service.device("ana-phone"))

    [note] = await notifier.notify_offer(offer.id)

    [push] = push_service.received
    assert note.status == "sent"
    assert push.body_size <= 4096
    assert push.payload["title"] == "New lead: " + "Ü" * 109 + "…"
    assert push.payload["body"] == "web · solar · SP, BR. Accept by 15:30 (UTC)."
    assert push.payload["offer_id"] == offer.id


def test_encode_push_payload_shortens_body_then_title_to_the_byte_limit() -> None:
    fields = {"title": "Ü" * 3000, "body": "€" * 3000, "offer_id": "o1"}

    encoded = encode_push_payload(fields)

    decoded = json.loads(encoded)
    assert MAX_PUSH_PAYLOAD - 3 <= len(encoded) <= MAX_PUSH_PAYLOAD
    assert decoded["body"] == ""
    assert decoded["title"].endswith("Ü…")
    assert decoded["offer_id"] == "o1"


def test_encode_push_payload_keeps_a_payload_of_exactly_the_limit() -> None:
    fields = {"title": "t", "body": ""}
    fields["body"] = "b" * (MAX_PUSH_PAYLOAD - len(encode_push_payload(fields)))

    exact = encode_push_payload(fields)
    over = encode_push_payload({**fields, "body": fields["body"] + "€"})

    assert len(exact) == MAX_PUSH_PAYLOAD
    assert json.loads(exact) == fields
    assert len(over) == MAX_PUSH_PAYLOAD
    assert json.loads(over)["body"] == fields["body"][:-3] + "…"


def test_encode_push_payload_counts_escaped_bytes() -> None:
    fields = {"title": "t", "body": '"' * 3000}

    encoded = encode_push_payload(fields)

    body = json.loads(encoded)["body"]
    assert len(encoded) <= MAX_PUSH_PAYLOAD
    assert body.endswith('""…')
    assert set(body[:-1]) == {'"'}


async def test_schedule_offers_survives_unknown_offer(
    notifier: Notifier,
    push_service: FakePushService,
    sessions: Sessions,
    make_offer: MakeOffer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    offer = await make_offer()
    await subscribe(sessions, offer.agent_id, push_service.device("ana-phone"))
    caplog.set_level(logging.INFO, logger="backend.notify.service")

    notifier.schedule_offers(["missing", offer.id])
    await notifier.drain()

    assert len(push_service.received) == 1
    assert "offer notification lost offer_id=missing error=NotFound" in caplog.messages


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://FCM.googleapis.com/fcm/send/abc", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/x", True),
        ("https://push.services.mozilla.com/wpush/v2/x", False),
        ("https://web.push.apple.com/QGx", True),
        ("https://evilpush.apple.com/QGx", False),
        ("https://fcm.googleapis.com.evil.example/x", False),
        ("https://fcm.googleapis.com@evil.example/x", False),
        ("http://fcm.googleapis.com/fcm/send/abc", False),
        ("ftp://fcm.googleapis.com/x", False),
        ("http://127.0.0.1:8080/push/x", True),
        ("https://127.0.0.1/push/x", True),
        ("http://localhost:8080/push/x", False),
        ("http://[::1]:8080/push/x", False),
        ("http://127.0.0.1:notaport/push/x", False),
        ("fcm.googleapis.com/fcm/send/abc", False),
        ("", False),
    ],
)
def test_endpoint_allowed(endpoint: str, allowed: bool) -> None:
    hosts = ("fcm.googleapis.com", ".push.services.mozilla.com", ".push.apple.com", "127.0.0.1")

    assert endpoint_allowed(endpoint, hosts) is allowed


def test_endpoint_allowed_plain_http_for_each_listed_loopback_host() -> None:
    hosts = ("localhost", "::1")

    assert endpoint_allowed("http://localhost:9000/p", hosts) is True
    assert endpoint_allowed("http://[::1]:9000/p", hosts) is True
    assert endpoint_allowed("http://127.0.0.1:9000/p", hosts) is False


def _point(key: ec.EllipticCurvePrivateKey, form: serialization.PublicFormat) -> str:
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962, form))


_DEVICE = PushDevice.create("http://127.0.0.1/push/keys")
_BAD_KEYS = {
    "p256dh not base64url": ("p256dh", "BEl+/x==", "keys.p256dh must be a base64url"),
    "p256dh compressed": (
        "p256dh",
        _point(_DEVICE.private_key, serialization.PublicFormat.CompressedPoint),
        "keys.p256dh must be a base64url uncompressed P-256 public key",
    ),
    "p256dh off the curve": ("p256dh", b64url(b"\x04" + b"\x01" * 64), "keys.p256dh"),
    "p256dh too short": ("p256dh", b64url(b"\x04" + b"\x01" * 32), "keys.p256dh"),
    "auth of 15 bytes": ("auth", b64url(b"a" * 15), "keys.auth must decode to 16 bytes, not 15"),
    "auth not base64url": ("auth", "a*b", "keys.auth must be base64url text"),
}


@pytest.mark.parametrize(("field", "value", "message"), _BAD_KEYS.values(), ids=_BAD_KEYS)
async def test_save_subscription_rejects_malformed_keys(
    sessions: Sessions, make_offer: MakeOffer, field: str, value: str, message: str
) -> None:
    offer = await make_offer()
    keys = {"p256dh": _DEVICE.p256dh, "auth": _DEVICE.auth, field: value}

    async with sessions() as session:
        with pytest.raises(BadInput, match=re.escape(message)):
            await save_subscription(
                session, offer.agent_id, _DEVICE.endpoint, **keys, allowed_hosts=("127.0.0.1",)
            )

    assert await rows(sessions, PushSubscription) == []


async def test_save_subscription_rejects_host_not_allowed(
    sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    device = PushDevice.create("https://push.evil.example/p/1")

    async with sessions() as session:
        with pytest.raises(BadInput) as refused:
            await save_subscription(
                session, offer.agent_id, device.endpoint, device.p256dh, device.auth, ("a.b",)
            )

    assert refused.value.message == (
        "Push endpoint host 'push.evil.example' is not an allowed push service over https."
    )
    assert await rows(sessions, PushSubscription) == []


async def test_save_subscription_same_endpoint_updates_and_moves_it(
    sessions: Sessions, make_offer: MakeOffer
) -> None:
    first, second = await make_offer(), await make_offer()
    old, new = PushDevice.create(_DEVICE.endpoint), PushDevice.create(_DEVICE.endpoint)
    saved = await subscribe(sessions, first.agent_id, old)

    again = await subscribe(sessions, second.agent_id, new)

    [stored] = await rows(sessions, PushSubscription)
    assert again.id == saved.id == stored.id
    assert (stored.agent_id, stored.p256dh, stored.auth) == (second.agent_id, new.p256dh, new.auth)


async def test_delete_subscription_of_another_agent_is_not_found(
    sessions: Sessions, make_offer: MakeOffer
) -> None:
    owner, other = await make_offer(), await make_offer()
    saved = await subscribe(sessions, owner.agent_id, _DEVICE)

    async with sessions() as session:
        with pytest.raises(NotFound):
            await delete_subscription(session, saved.id, other.agent_id)

    assert [row.id for row in await rows(sessions, PushSubscription)] == [saved.id]


# The HTTP API


async def link_token(sessions: Sessions, agent_id: str) -> dict[str, str]:
    async with sessions() as session:
        token, _ = await create_agent_link(session, agent_id)
    return {"Authorization": f"Bearer {token}"}


def subscription_json(device: PushDevice) -> dict[str, Any]:
    keys = {"p256dh": device.p256dh, "auth": device.auth}
    return {"endpoint": device.endpoint, "expirationTime": None, "keys": keys}


async def test_get_key_answers_application_server_key(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    response = await client.get("/api/v1/push/key")

    public_key = response.json()["public_key"]
    assert response.status_code == 200
    assert public_key == app.state.notifier.public_key
    assert len(base64.urlsafe_b64decode(public_key + "=")) == 65


async def test_post_subscription_with_link_token_creates_it(
    client: AsyncTestClient[Litestar], sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)

    response = await client.post(
        "/api/v1/push/subscriptions", json=subscription_json(_DEVICE), headers=headers
    )

    [stored] = await rows(sessions, PushSubscription)
    assert response.status_code == 201
    assert response.json() == {"id": stored.id}
    assert (stored.agent_id, stored.endpoint) == (offer.agent_id, _DEVICE.endpoint)


async def test_post_subscription_with_api_key_is_forbidden(
    client: AsyncTestClient[Litestar], auth: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/push/subscriptions", json=subscription_json(_DEVICE), headers=auth
    )

    assert response.status_code == 403
    assert (
        response.json()["detail"] == "Only a rep, by link token or signed-in device, has devices."
    )


async def test_post_subscription_to_unlisted_host_is_refused(
    client: AsyncTestClient[Litestar], sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)
    device = PushDevice.create("https://push.evil.example/p/1")

    response = await client.post(
        "/api/v1/push/subscriptions", json=subscription_json(device), headers=headers
    )

    assert response.status_code == 422
    assert await rows(sessions, PushSubscription) == []


async def test_delete_subscription_answers_204_then_404(
    client: AsyncTestClient[Litestar], sessions: Sessions, make_offer: MakeOffer
) -> None:
    offer = await make_offer()
    headers = await link_token(sessions, offer.agent_id)
    saved = await subscribe(sessions, offer.agent_id, _DEVICE)

    first = await client.delete(f"/api/v1/push/subscriptions/{saved.id}", headers=headers)
    second = await client.delete(f"/api/v1/push/subscriptions/{saved.id}", headers=headers)

    assert (first.status_code, second.status_code) == (204, 404)
    assert await rows(sessions, PushSubscription) == []


# The VAPID key


def test_load_vapid_generates_key_once_with_mode_0600(tmp_path: Path, settings: Settings) -> None:
    settings = dataclasses.replace(settings, var_dir=tmp_path / "var", vapid_private_key=None)

    first, second = load_vapid(settings), load_vapid(settings)

    key_file = tmp_path / "var" / "vapid_private.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert first.public_key == second.public_key
    assert len(base64.urlsafe_b64decode(first.public_key + "=")) == 65
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["vapid_private.pem"]


def test_load_vapid_reads_raw_scalar_and_pem_alike(settings: Settings) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    expected = _point(key, serialization.PublicFormat.UncompressedPoint)

    from_raw = load_vapid(dataclasses.replace(settings, vapid_private_key=raw))
    from_pem = load_vapid(dataclasses.replace(settings, vapid_private_key=pem.replace("\n", "\\n")))

    assert from_raw.public_key == from_pem.public_key == expected
    assert not (settings.var_dir / "vapid_private.pem").exists()


@pytest.mark.parametrize("value", [b64url(b"k" * 31), "-----BEGIN PRIVATE KEY-----\nAAAA\n", "a*b"])
def test_load_vapid_refuses_malformed_key(settings: Settings, value: str) -> None:
    with pytest.raises(ValueError):
        load_vapid(dataclasses.replace(settings, vapid_private_key=value))
