"""Agents' push subscriptions, and telling an agent about a new offer: push, else mail.

Every attempt is a ``Notification`` row and a ``notified`` event on the lead's journey.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import aiosmtplib
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import VapidException
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.access.service import create_agent_link
from backend.db import new_id, utcnow
from backend.errors import BadInput, NotFound
from backend.notify.models import Notification, PushSubscription
from backend.notify.vapid import b64url_decode, load_vapid
from backend.pursuit.models import Lead, Offer
from backend.pursuit.service import get_lead, get_offer, record_event
from backend.roster.models import Agent
from backend.roster.service import get_agent
from backend.settings import Settings

logger = logging.getLogger(__name__)

MAX_PUSH_PAYLOAD = 3993  # most plaintext one 4,096-byte aes128gcm record carries
MAX_TITLE_CHARS = 120  # notification banners show far less; the rest is noise
LINK_TTL = timedelta(days=14)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
GONE_STATUSES = frozenset({404, 410})
SMTP_TIMEOUT_S = 30.0
MAX_ENDPOINT_LENGTH = 2000
MAX_ERROR_LENGTH = 1000
ELLIPSIS = "…"


# Subscriptions


def endpoint_allowed(endpoint: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether a push endpoint points at a listed push service.

    An entry matches its host exactly, or as a suffix when it starts with a dot.
    Plain http passes only for a loopback host listed exactly (a test's own service).
    """
    host = _endpoint_host(endpoint)
    entries = {entry.lower() for entry in allowed_hosts}
    if not host:
        return False
    scheme = urlsplit(endpoint).scheme
    if scheme == "http":
        return host in LOOPBACK_HOSTS and host in entries
    if scheme != "https":
        return False
    return host in entries or any(e.startswith(".") and host.endswith(e) for e in entries)


async def save_subscription(
    session: AsyncSession,
    agent_id: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    allowed_hosts: tuple[str, ...],
) -> PushSubscription:
    """Store a browser's subscription; a known endpoint is updated and moved."""
    _check_endpoint(endpoint, allowed_hosts)
    _check_keys(p256dh, auth)

    subscription = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if subscription is None:
        subscription = PushSubscription(endpoint=endpoint)
        session.add(subscription)
    subscription.agent_id = agent_id
    subscription.p256dh = p256dh
    subscription.auth = auth
    await session.commit()

    logger.info("push subscription saved id=%s agent_id=%s", subscription.id, agent_id)
    return subscription


async def delete_subscription(
    session: AsyncSession, subscription_id: str, agent_id: str | None
) -> None:
    """Remove a subscription; with an ``agent_id``, only one of that agent's."""
    subscription = await session.get(PushSubscription, subscription_id)
    if subscription is None or agent_id not in (None, subscription.agent_id):
        raise NotFound(f"There is no push subscription {subscription_id!r}.")
    await session.delete(subscription)
    await session.commit()
    logger.info("push subscription deleted id=%s agent_id=%s", subscription_id, agent_id)


def _check_endpoint(endpoint: str, allowed_hosts: tuple[str, ...]) -> None:
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise BadInput(f"A push endpoint may have at most {MAX_ENDPOINT_LENGTH} characters.")
    if not endpoint_allowed(endpoint, allowed_hosts):
        host = _endpoint_host(endpoint)
        if not host:
            raise BadInput("The push endpoint is not an https URL.")
        raise BadInput(
            f"Push endpoint host {host!r} is not an allowed push service over https.",
            host=host,
        )


def _endpoint_host(endpoint: str) -> str | None:
    try:
        parts = urlsplit(endpoint)
        host, _port = parts.hostname, parts.port  # .port rejects a malformed port
    except ValueError:
        return None
    return host


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = b64url_decode(p256dh)
        if len(point) != 65 or point[0] != 4:
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise BadInput(
            "keys.p256dh must be a base64url uncompressed P-256 public key (65 bytes)."
        ) from exc
    try:
        secret = b64url_decode(auth)
    except ValueError as exc:
        raise BadInput("keys.auth must be base64url text.") from exc
    if len(secret) != 16:
        raise BadInput(f"keys.auth must decode to 16 bytes, not {len(secret)}.")


# Messages


@dataclass(frozen=True)
class OfferMessage:
    """What an agent is told of an offer; ``payload`` is the push JSON, within the limit."""

    title: str
    summary: str
    payload: bytes


def offer_message(offer: Offer, lead: Lead, agent: Agent, base_url: str) -> OfferMessage:
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
    return OfferMessage(title=title, summary=summary, payload=encode_push_payload(fields))


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


def offer_mail_text(message: OfferMessage, link: str) -> str:
    return (
        f"{message.title}\n{message.summary}\n\n"
        f"Open the offer: {link}\n\n"
        "This link opens your own leads; please do not forward it.\n"
    )


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


def _lead_name(lead: Lead) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return lead.company or person or "unnamed contact"


def _lead_details(lead: Lead) -> str:
    place = ", ".join(part for part in (lead.region, lead.country) if part)
    details = [part for part in (lead.source, lead.product, place) if part]
    return " · ".join(details) or "New inquiry"


def _deadline(expires_at: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{expires_at.astimezone(zone):%H:%M} ({zone.key})"


# Mail


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    implicit_tls: bool


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:pass@]host[:port]``, STARTTLS when offered; ``smtps://`` for TLS."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("PURSUIT_SMTP_URL must read smtp://[user:pass@]host[:port] or smtps://…")
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        hostname=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=implicit_tls,
    )


async def send_mail(
    server: SmtpServer, sender: str, recipient: str, subject: str, text: str
) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = " ".join(subject.split())  # a line break in a header is an injection
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(text)
    await aiosmtplib.send(
        message,
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.implicit_tls,
        timeout=SMTP_TIMEOUT_S,
    )


# Delivery


@dataclass(frozen=True)
class _Delivery:
    offer: Offer
    lead: Lead
    agent: Agent
    subscriptions: list[PushSubscription]
    message: OfferMessage


class Notifier:
    """Tells agents of new offers in the background, sharing one HTTP client for pushes.

    No database transaction is held across a push or a mail: on SQLite an open one
    blocks every other writer for as long as a push service takes to answer.
    """

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._settings = settings
        self._sessions = sessions
        self._vapid = load_vapid(settings)
        self._smtp = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def public_key(self) -> str:
        return self._vapid.public_key

    async def start(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.drain()
        if self._http is not None:
            await self._http.close()
            self._http = None

    def schedule_offers(self, offer_ids: Iterable[str]) -> None:
        """Notify in background tasks; failures are logged, never raised."""
        for offer_id in offer_ids:
            task = asyncio.create_task(self._notify_quietly(offer_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while pending := {task for task in self._tasks if not task.done()}:
            await asyncio.wait(pending)

    async def notify_offer(self, offer_id: str) -> list[Notification]:
        delivery = await self._load(offer_id)

        notes = await asyncio.gather(*(self._push(delivery, s) for s in delivery.subscriptions))
        if not any(note.status == "sent" for note in notes):
            notes.append(await self._email(delivery))

        await self._record(delivery.lead.id, notes)
        return notes

    async def _notify_quietly(self, offer_id: str) -> None:
        try:
            await self.notify_offer(offer_id)
        except Exception as exc:
            # Only the type: a database error can quote parameters such as an email.
            logger.error(
                "offer notification lost offer_id=%s error=%s", offer_id, type(exc).__name__
            )

    async def _load(self, offer_id: str) -> _Delivery:
        async with self._sessions() as session:
            offer = await get_offer(session, offer_id)
            lead = await get_lead(session, offer.lead_id)
            agent = await get_agent(session, offer.agent_id)
            subscriptions = await session.scalars(
                select(PushSubscription).where(PushSubscription.agent_id == agent.id)
            )
            message = offer_message(offer, lead, agent, self._settings.base_url)
            return _Delivery(offer, lead, agent, list(subscriptions), message)

    async def _push(self, delivery: _Delivery, subscription: PushSubscription) -> Notification:
        note = self._note(delivery, "push", delivery.message.summary)
        note.subscription_id = subscription.id
        try:
            response = await webpush_async(
                subscription_info=_subscription_info(subscription),
                data=delivery.message.payload.decode(),
                vapid_private_key=self._vapid.signer,
                vapid_claims={"sub": self._settings.vapid_subject},  # pywebpush mutates it
                content_encoding="aes128gcm",
                ttl=self._settings.push_ttl_s,
                timeout=self._settings.push_timeout_s,
                aiohttp_session=self._client(),
            )
        except WebPushException as exc:
            status = "gone" if exc.status_code in GONE_STATUSES else "failed"
            return _finish(note, status, exc.status_code, exc)
        except (aiohttp.ClientError, TimeoutError, VapidException, ValueError) as exc:
            return _finish(note, "failed", None, exc)
        return _finish(note, "sent", getattr(response, "status", None))

    async def _email(self, delivery: _Delivery) -> Notification:
        agent, offer = delivery.agent, delivery.offer
        shown_link = self._offer_link(ELLIPSIS, offer.id)
        note = self._note(delivery, "email", offer_mail_text(delivery.message, shown_link))
        note.recipient = agent.email
        if self._smtp is None or not agent.email:
            return _finish(note, "kept", None)

        async with self._sessions() as session:
            token, _ = await create_agent_link(session, agent.id, ttl=LINK_TTL)
        text = offer_mail_text(delivery.message, self._offer_link(token, offer.id))
        sender = self._settings.mail_from
        try:
            await send_mail(self._smtp, sender, agent.email, delivery.message.title, text)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            return _finish(note, "failed", getattr(exc, "code", None), exc)
        return _finish(note, "sent", None)

    async def _record(self, lead_id: str, notes: list[Notification]) -> None:
        gone = [note.subscription_id for note in notes if note.status == "gone"]
        async with self._sessions() as session:
            session.add_all(notes)
            for note in notes:
                _record_notified(session, lead_id, note)
            if gone:
                await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
            await session.commit()
        for note in notes:
            _log_outcome(note)

    def _note(self, delivery: _Delivery, channel: str, body: str) -> Notification:
        return Notification(
            id=new_id(),
            agent_id=delivery.agent.id,
            lead_id=delivery.lead.id,
            offer_id=delivery.offer.id,
            channel=channel,
            subject=delivery.message.title[:300],
            body=body,
            status="queued",
            created_at=utcnow(),
        )

    def _offer_link(self, token: str, offer_id: str) -> str:
        return f"{self._settings.base_url}/r/{token}?offer={offer_id}"

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("Notifier.start() must be awaited before pushing.")
        return self._http


def _subscription_info(subscription: PushSubscription) -> dict[str, Any]:
    keys = {"p256dh": subscription.p256dh, "auth": subscription.auth}
    return {"endpoint": subscription.endpoint, "keys": keys}


def _finish(
    note: Notification, status: str, status_code: int | None, exc: Exception | None = None
) -> Notification:
    """Settle a notification's outcome; an error is stored, never logged."""
    note.status = status
    note.status_code = status_code
    if exc is not None:
        note.error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
    if status == "sent":
        note.sent_at = utcnow()
    return note


def _log_outcome(note: Notification) -> None:
    if note.status == "kept":
        logger.info(
            "notification kept in outbox agent_id=%s offer_id=%s", note.agent_id, note.offer_id
        )
        return
    logger.log(
        logging.WARNING if note.status == "failed" else logging.INFO,
        "notification %s id=%s channel=%s agent_id=%s offer_id=%s status_code=%s",
        note.status,
        note.id,
        note.channel,
        note.agent_id,
        note.offer_id,
        note.status_code,
    )


def _record_notified(session: AsyncSession, lead_id: str, note: Notification) -> None:
    data = {"channel": note.channel, "status": note.status, "notification_id": note.id}
    record_event(
        session,
        lead_id=lead_id,
        type="notified",
        actor="system",
        data=data,
        at=note.created_at,
    )
