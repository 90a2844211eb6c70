"""Agents' push subscriptions, and telling people what routing did: push, else mail.

An agent hears of a new offer, of an offer withdrawn, and of a contact gone overdue; every
attempt is a ``Notification`` row and a ``notified`` event on the lead's journey. Managers
are mailed when a lead falls through to their queue; that is a journey event only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr, parsedate_to_datetime
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import aiosmtplib
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import VapidException
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.access.devices import device_label
from backend.access.models import User
from backend.access.service import admin_email, create_agent_link
from backend.db import as_utc, new_id, utcnow
from backend.errors import BadInput, NotFound
from backend.notify.messages import (
    ELLIPSIS,
    AlertMail,
    Notice,
    alert_mail,
    notice_mail_text,
    notice_sms_text,
    offer_notice,
    overdue_notice,
    repeat_notice,
    withdrawn_notice,
)

# The payload limit and its encoder stay importable from the service, where they began.
from backend.notify.messages import MAX_PUSH_PAYLOAD as MAX_PUSH_PAYLOAD
from backend.notify.messages import encode_push_payload as encode_push_payload
from backend.notify.models import Notification, PushSubscription
from backend.notify.sms import SmsFailed, SmsSender, sms_sender
from backend.notify.vapid import b64url_decode, b64url_encode, load_vapid
from backend.pursuit.models import Lead, LeadEvent, Offer
from backend.pursuit.service import (
    Announcements,
    get_lead,
    get_offer,
    record_event,
    record_notified_via,
)
from backend.roster.models import Agent
from backend.roster.service import get_agent
from backend.scoring.service import record_notification_failure
from backend.settings import Settings

logger = logging.getLogger(__name__)

LINK_TTL = timedelta(days=14)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
GONE_STATUSES = frozenset({404, 410})
REACHED = frozenset({"sent", "kept"})  # kept: in the outbox, for want of a mail server
SMTP_TIMEOUT_S = 30.0
MAX_ENDPOINT_LENGTH = 2000
MAX_ERROR_LENGTH = 1000
AGENT_NOTICE_TYPES = frozenset({"withdrawn", "contact_overdue", "inquiry_coalesced"})
OUR_FAULT_STATUSES = frozenset({400, 413})  # we sent something malformed or too large
MAX_PUSH_ATTEMPTS = 4
RETRY_BASE_S = 1.0  # doubled after each failed attempt, unless Retry-After says otherwise
MAX_RETRY_WAIT_S = 600.0
MIN_PUSH_TTL_S = 60
MAX_PUSH_TTL_S = 28 * 24 * 3600  # the longest push services keep a message
VAPID_EXPIRY_S = 12 * 3600  # RFC 8292 allows at most 24 hours
REACHING_ORDER = ("push", "sms", "email")  # quickest first, for an offer's notified_via
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


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
    user_agent: str | None = None,
    old_endpoint: str | None = None,
) -> PushSubscription:
    """Store a browser's subscription; a known endpoint is updated and moved.

    With ``old_endpoint`` (a ``pushsubscriptionchange``), the agent's subscription at that
    endpoint is the one renewed, keeping its id, label and switch.
    """
    _check_endpoint(endpoint, allowed_hosts)
    _check_keys(p256dh, auth)

    subscription = await _subscription_at(session, endpoint)
    if old_endpoint is not None and old_endpoint != endpoint:
        renewed = await _subscription_at(session, old_endpoint)
        if renewed is not None and renewed.agent_id == agent_id:
            if subscription is not None:
                await session.delete(subscription)
                await session.flush()
            subscription = renewed
    if subscription is None:
        subscription = PushSubscription(endpoint=endpoint, label=device_label(user_agent))
        session.add(subscription)
    subscription.agent_id = agent_id
    subscription.endpoint = endpoint
    subscription.p256dh = p256dh
    subscription.auth = auth
    await session.commit()

    logger.info("push subscription saved id=%s agent_id=%s", subscription.id, agent_id)
    return subscription


async def list_subscriptions(session: AsyncSession, agent_id: str) -> list[PushSubscription]:
    found = await session.scalars(
        select(PushSubscription)
        .where(PushSubscription.agent_id == agent_id)
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )
    return list(found)


async def set_subscription_enabled(
    session: AsyncSession, subscription_id: str, agent_id: str, enabled: bool
) -> PushSubscription:
    """Switch one of the agent's devices on or off; another agent's is not found."""
    subscription = await session.get(PushSubscription, subscription_id)
    if subscription is None or subscription.agent_id != agent_id:
        raise NotFound(f"There is no push subscription {subscription_id!r}.")
    subscription.enabled = enabled
    await session.commit()
    logger.info(
        "push subscription switched id=%s agent_id=%s enabled=%s",
        subscription.id,
        agent_id,
        enabled,
    )
    return subscription


async def _subscription_at(session: AsyncSession, endpoint: str) -> PushSubscription | None:
    found: PushSubscription | None = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    return found


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
    """One notice for the agent of one offer, and the devices to push it to."""

    offer: Offer
    lead: Lead
    agent: Agent
    subscriptions: list[PushSubscription]
    notice: Notice
    event_id: int | None = None
    ttl_s: int = 3600
    urgency: str = "normal"

    @property
    def is_offer(self) -> bool:
        """A new offer, rather than a notice about one (withdrawn, overdue)."""
        return self.event_id is None


@dataclass
class _Attempt:
    """How one push request ended: the status code, the error, and any wait asked for."""

    status_code: int | None
    error: Exception | None = None
    retry_after: str | None = None
    permanent: bool = False  # nothing was sent, so trying again would fail the same way


@dataclass(frozen=True)
class _Manager:
    id: str
    email: str = field(repr=False)


class Notifier:
    """Tells agents of new offers and managers of stuck leads, sharing one HTTP client for pushes.

    No database transaction is held across a push or a mail: on SQLite an open one
    blocks every other writer for as long as a push service takes to answer.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        sms: SmsSender | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = utcnow,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._vapid = load_vapid(settings)
        self._subject = check_vapid_subject(settings.vapid_subject)
        self._subject_warned = False
        self._smtp = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self._sms = sms if sms is not None else sms_sender(settings)
        self._sleep = sleep
        self._clock = clock
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
        if self._sms is not None:
            await self._sms.aclose()

    def schedule_offers(self, offer_ids: Iterable[str]) -> None:
        """Notify in background tasks; failures are logged, never raised."""
        for offer_id in offer_ids:
            self._spawn(self._notify_offer_quietly(offer_id))

    def announce(self, said: Announcements) -> None:
        """Tell everyone what a committed piece of work asks to be told."""
        if said.offer_ids:
            self.schedule_offers(said.offer_ids)
        if said.event_ids:
            self.schedule_events(said.event_ids)

    def schedule_events(self, event_ids: Iterable[int]) -> None:
        """Act on journey events in background tasks; failures are logged, never raised."""
        for event_id in event_ids:
            self._spawn(self._notify_event_quietly(event_id))

    async def drain(self) -> None:
        while pending := {task for task in self._tasks if not task.done()}:
            await asyncio.wait(pending)

    async def notify_offer(self, offer_id: str) -> list[Notification]:
        """Push a new offer to each enabled device, urgently and for as long as it is open;
        with no device reached, mail it and, when a gateway is set up, text it."""
        compose = partial(offer_notice, base_url=self._settings.base_url)
        delivery = await self._load(offer_id, compose)
        left = (delivery.offer.expires_at - self._clock()).total_seconds()
        ttl_s = min(max(math.ceil(left), MIN_PUSH_TTL_S), MAX_PUSH_TTL_S)
        return await self._deliver(dataclasses.replace(delivery, ttl_s=ttl_s, urgency="high"))

    def mail_later(self, kind: str, recipient: str, subject: str, text: str) -> None:
        """Mail in a background task, so an answer takes as long whether or not mail goes."""
        self._spawn(self._mail_quietly(kind, recipient, subject, text))

    async def _mail_quietly(self, kind: str, recipient: str, subject: str, text: str) -> None:
        status = await self.mail(recipient, subject, text)
        logger.log(
            logging.WARNING if status == "failed" else logging.INFO, "mail %s kind=%s", status, kind
        )

    async def mail(self, recipient: str, subject: str, text: str) -> str:
        """Mail one message through the configured server: sent, failed, or kept without one."""
        if self._smtp is None:
            return "kept"
        try:
            await send_mail(self._smtp, self._settings.mail_from, recipient, subject, text)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            logger.warning("mail failed error=%s", type(exc).__name__)
            return "failed"
        return "sent"

    async def notify_event(self, event_id: int) -> list[Notification]:
        """Send what a journey event calls for; events of other types send nothing.

        A withdrawn offer or an overdue contact is told to the offer's agent. An alert is
        mailed to managers, who have no notification rows: it is recorded on the journey
        only, and nothing is returned for it.
        """
        async with self._sessions() as session:
            event = await _get_event(session, event_id)

        if event.type in AGENT_NOTICE_TYPES:
            delivery = await self._load_event_notice(event)
            if delivery is not None:
                return await self._deliver(delivery)
        elif event.type == "alert":
            await self._alert_managers(event)
        return []

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify_offer_quietly(self, offer_id: str) -> None:
        try:
            await self.notify_offer(offer_id)
        except Exception as exc:
            # Only the type: a database error can quote parameters such as an email.
            logger.error(
                "offer notification lost offer_id=%s error=%s", offer_id, type(exc).__name__
            )

    async def _notify_event_quietly(self, event_id: int) -> None:
        try:
            await self.notify_event(event_id)
        except Exception as exc:
            logger.error(
                "event notification lost event_id=%s error=%s", event_id, type(exc).__name__
            )

    async def _load(
        self,
        offer_id: str,
        compose: Callable[[Offer, Lead, Agent], Notice],
        event_id: int | None = None,
    ) -> _Delivery:
        async with self._sessions() as session:
            offer = await get_offer(session, offer_id)
            lead = await get_lead(session, offer.lead_id)
            agent = await get_agent(session, offer.agent_id)
            subscriptions = await session.scalars(
                select(PushSubscription).where(
                    PushSubscription.agent_id == agent.id, PushSubscription.enabled.is_(True)
                )
            )
            notice = compose(offer, lead, agent)
            ttl_s = self._settings.push_ttl_s
            return _Delivery(offer, lead, agent, list(subscriptions), notice, event_id, ttl_s)

    async def _load_event_notice(self, event: LeadEvent) -> _Delivery | None:
        """The notice for the offer's own agent, or None when a reminder came too late."""
        base_url = self._settings.base_url

        def compose(offer: Offer, lead: Lead, agent: Agent) -> Notice:
            if event.type == "withdrawn":
                why = str(event.data.get("why") or "")
                return withdrawn_notice(offer, lead, why, base_url, agent=agent)
            if event.type == "inquiry_coalesced":
                return repeat_notice(offer, lead, _inlet_name(event), base_url, agent=agent)
            return overdue_notice(offer, lead, agent, _due_at(event, offer), base_url)

        delivery = await self._load(_event_text(event, "offer_id"), compose, event.id)
        if event.type == "contact_overdue" and not _still_overdue(delivery):
            logger.info(
                "contact reminder skipped event_id=%s offer_id=%s offer_status=%s",
                event.id,
                delivery.offer.id,
                delivery.offer.status,
            )
            return None
        return delivery

    async def _deliver(self, delivery: _Delivery) -> list[Notification]:
        notes = await asyncio.gather(*(self._push(delivery, s) for s in delivery.subscriptions))
        if not any(note.status == "sent" for note in notes):
            fallbacks = [self._email(delivery)]
            if delivery.is_offer and self._sms is not None and delivery.agent.phone:
                fallbacks.append(self._text(delivery, self._sms))
            notes.extend(await asyncio.gather(*fallbacks))

        await self._record(delivery, notes)
        return notes

    async def _push(self, delivery: _Delivery, subscription: PushSubscription) -> Notification:
        """Push to one device, retrying a throttled or failing service without holding up others.

        404 and 410 mean the device is gone; 400 and 413 mean our request was wrong, which
        a retry cannot mend. 429, 5xx and network errors are retried after the wait the
        service asks for (``Retry-After``) or a doubling backoff, while the offer is open.
        """
        note = self._note(delivery, "push", delivery.notice.summary)
        note.subscription_id = subscription.id
        for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
            note.attempts = attempt
            result = await self._push_once(delivery, subscription)
            code = result.status_code
            if result.error is None:
                return _finish(note, "sent", code)
            if code in GONE_STATUSES:
                return _finish(note, "gone", code, result.error)
            if code in OUR_FAULT_STATUSES:
                _log_our_fault(note, code)
                return _finish(note, "refused", code, result.error)
            wait = self._retry_wait(result, attempt, delivery)
            if wait is None:
                return _finish(note, "failed", code, result.error)
            logger.info(
                "push retry scheduled subscription_id=%s status_code=%s attempt=%s wait_s=%s",
                subscription.id,
                code,
                attempt,
                wait,
            )
            await self._sleep(wait)
        raise AssertionError("unreachable: the last attempt always settles the outcome")

    async def _push_once(self, delivery: _Delivery, subscription: PushSubscription) -> _Attempt:
        try:
            response = await webpush_async(
                subscription_info=_subscription_info(subscription),
                data=delivery.notice.payload.decode(),
                vapid_private_key=self._vapid.signer,
                vapid_claims=await self._claims(subscription.endpoint),
                content_encoding="aes128gcm",
                ttl=delivery.ttl_s,
                headers={"Urgency": delivery.urgency, "Topic": push_topic(delivery.lead.id)},
                timeout=self._settings.push_timeout_s,
                aiohttp_session=self._client(),
            )
        except WebPushException as exc:
            return _Attempt(exc.status_code, exc, exc.retry_after)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _Attempt(None, exc)
        except (VapidException, ValueError) as exc:
            return _Attempt(None, exc, permanent=True)
        return _Attempt(getattr(response, "status", None))

    def _retry_wait(self, result: _Attempt, attempt: int, delivery: _Delivery) -> float | None:
        """Seconds to wait before trying again, or None when another try is pointless."""
        code = result.status_code
        transient = code is None or code == 429 or code >= 500
        if result.permanent or not transient or attempt >= MAX_PUSH_ATTEMPTS:
            return None
        now = self._clock()
        asked = parse_retry_after(result.retry_after, now) if result.retry_after else None
        wait = asked if asked is not None else RETRY_BASE_S * 2 ** (attempt - 1)
        if wait > MAX_RETRY_WAIT_S:
            return None
        if delivery.is_offer and now + timedelta(seconds=wait) >= delivery.offer.expires_at:
            return None
        return wait

    async def _claims(self, endpoint: str) -> dict[str, str | int]:
        """VAPID claims for one push service, made afresh: pywebpush writes into the dict."""
        parts = urlsplit(endpoint)
        return {
            "sub": await self._vapid_subject(),
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + VAPID_EXPIRY_S,
        }

    async def _vapid_subject(self) -> str:
        """The configured contact, else the first admin's address, else the https base URL."""
        if self._subject is not None:
            return self._subject
        async with self._sessions() as session:
            address = await admin_email(session)
        if address is not None:
            self._subject = f"mailto:{address}"
            return self._subject
        if self._settings.base_url.startswith("https://"):
            return self._settings.base_url
        if not self._subject_warned:
            self._subject_warned = True
            logger.warning("vapid subject missing; set PURSUIT_VAPID_SUBJECT or add an admin")
        return f"mailto:{parseaddr(self._settings.mail_from)[1]}"

    async def _text(self, delivery: _Delivery, sms: SmsSender) -> Notification:
        """Text the offer with a personal link; the stored record withholds the token."""
        shown = notice_sms_text(delivery.notice, self._offer_link(ELLIPSIS, delivery.offer.id))
        note = self._note(delivery, "sms", shown)
        note.recipient = delivery.agent.phone
        phone = delivery.agent.phone or ""
        async with self._sessions() as session:
            token, _ = await create_agent_link(session, delivery.agent.id, ttl=LINK_TTL)
        text = notice_sms_text(delivery.notice, self._offer_link(token, delivery.offer.id))
        try:
            status_code = await sms.send(phone, text)
        except SmsFailed as exc:
            return _finish(note, "failed", exc.status_code, exc)
        return _finish(note, "sent", status_code)

    async def _email(self, delivery: _Delivery) -> Notification:
        agent, notice = delivery.agent, delivery.notice
        shown_link = self._offer_link(ELLIPSIS, delivery.offer.id)
        note = self._note(delivery, "email", notice_mail_text(notice, shown_link))
        note.recipient = agent.email
        if self._smtp is None or not agent.email:
            return _finish(note, "kept", None)

        text = await self._mail_text(delivery)
        try:
            await send_mail(self._smtp, self._settings.mail_from, agent.email, notice.title, text)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            return _finish(note, "failed", getattr(exc, "code", None), exc)
        return _finish(note, "sent", None)

    async def _mail_text(self, delivery: _Delivery) -> str:
        """The mail as sent; a personal link token is made only for a notice that links."""
        if delivery.notice.action is None:
            return notice_mail_text(delivery.notice, None)
        async with self._sessions() as session:
            token, _ = await create_agent_link(session, delivery.agent.id, ttl=LINK_TTL)
        return notice_mail_text(delivery.notice, self._offer_link(token, delivery.offer.id))

    async def _record(self, delivery: _Delivery, notes: list[Notification]) -> None:
        alert: LeadEvent | None = None
        async with self._sessions() as session:
            session.add_all(notes)
            for note in notes:
                _record_notified(session, delivery.lead.id, note, delivery.event_id)
            await _settle_subscriptions(session, notes)
            if delivery.is_offer:
                await record_notified_via(session, delivery.offer.id, reaching_channel(notes))
            if delivery.is_offer and not any(n.status in REACHED for n in notes):
                alert = await _count_unreached(session, delivery)
            await session.commit()
        for note in notes:
            _log_outcome(note)
        if alert is not None:
            self.schedule_events([alert.id])

    def _note(self, delivery: _Delivery, channel: str, body: str) -> Notification:
        return Notification(
            id=new_id(),
            agent_id=delivery.agent.id,
            lead_id=delivery.lead.id,
            offer_id=delivery.offer.id,
            channel=channel,
            subject=delivery.notice.title[:300],
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

    # Manager alerts

    async def _alert_managers(self, event: LeadEvent) -> None:
        async with self._sessions() as session:
            lead = await get_lead(session, event.lead_id)
            managers = await _managers_of(session, _event_ids(event, "team_ids"))
        if not managers:
            logger.warning(
                "manager alert has no recipient event_id=%s lead_id=%s", event.id, lead.id
            )
            return

        why = str(event.data.get("why") or "")
        mail = alert_mail(lead, why, self._settings.base_url)
        statuses = await asyncio.gather(*(self._mail_manager(m, mail, event.id) for m in managers))
        await self._record_alerts(event, dict(zip((m.id for m in managers), statuses, strict=True)))

    async def _record_alerts(self, event: LeadEvent, statuses: dict[str, str]) -> None:
        """One ``notified`` journey event per manager, keyed by user id."""
        async with self._sessions() as session:
            for user_id, status in statuses.items():
                data = {"channel": "email", "status": status, "user_id": user_id}
                record_event(
                    session,
                    lead_id=event.lead_id,
                    type="notified",
                    actor="system",
                    data={**data, "event_id": event.id},
                )
            await session.commit()

    async def _mail_manager(self, manager: _Manager, mail: AlertMail, event_id: int) -> str:
        status, error = await self._send_alert(manager, mail)
        logger.log(
            logging.INFO if status == "sent" else logging.WARNING,
            "manager alert %s event_id=%s user_id=%s error=%s",
            status,
            event_id,
            manager.id,
            error,
        )
        return status

    async def _send_alert(self, manager: _Manager, mail: AlertMail) -> tuple[str, str | None]:
        """The outcome and, on failure, only the error's type: its text may quote the address."""
        if self._smtp is None:
            return "skipped", None
        sender = self._settings.mail_from
        try:
            await send_mail(self._smtp, sender, manager.email, mail.subject, mail.text)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            return "failed", type(exc).__name__
        return "sent", None


def check_vapid_subject(subject: str | None) -> str | None:
    """A configured VAPID subject must be a contact push services can use."""
    if subject is None:
        return None
    if re.fullmatch(r"mailto:[^@\s]+@[^@\s]+\.[^@\s]+", subject) or re.fullmatch(
        r"https://[^/\s]+\.[^/\s]+\S*", subject
    ):
        return subject
    raise ValueError(
        f"PURSUIT_VAPID_SUBJECT {subject!r} must be a mailto: address or an https: URL "
        "where the push services can reach whoever runs this deployment."
    )


def push_topic(lead_id: str) -> str:
    """The ``Topic`` header: one per lead, so a newer notice replaces an undelivered older one."""
    if _TOPIC.fullmatch(lead_id):
        return lead_id
    return b64url_encode(hashlib.sha256(lead_id.encode()).digest())[:32]


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` of seconds or an HTTP date; None if unreadable."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (as_utc(moment) - now).total_seconds())


def reaching_channel(notes: Iterable[Notification]) -> str | None:
    """The quickest channel that reached the agent: push, then text, then mail."""
    reached = {note.channel for note in notes if note.status == "sent"}
    return next((channel for channel in REACHING_ORDER if channel in reached), None)


async def _settle_subscriptions(session: AsyncSession, notes: Iterable[Notification]) -> None:
    """Forget devices that are gone; note when each other device last worked or failed."""
    pushes = [note for note in notes if note.channel == "push" and note.subscription_id]
    gone = [n.subscription_id for n in pushes if n.status == "gone"]
    if gone:
        await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    for note in pushes:
        if note.status == "gone":
            continue
        column = "last_success_at" if note.status == "sent" else "last_failure_at"
        await session.execute(
            update(PushSubscription)
            .where(PushSubscription.id == note.subscription_id)
            .values({column: note.created_at})
        )


def _log_our_fault(note: Notification, status_code: int | None) -> None:
    logger.error(
        "push refused as malformed fault=ours subscription_id=%s offer_id=%s status_code=%s",
        note.subscription_id,
        note.offer_id,
        status_code,
    )


async def _count_unreached(session: AsyncSession, delivery: _Delivery) -> LeadEvent | None:
    """An offer that reached the agent on no channel counts against their reach; the miss
    that makes them unreachable alerts their managers, whose event this answers."""
    agent, now = delivery.agent, utcnow()
    reach = await record_notification_failure(session, agent.id, now)
    if not reach.became_unreachable:
        return None
    why = (
        f"{agent.name} could not be reached about {reach.misses} offers in a row and is "
        "marked not reachable; restore them on the console's Scores page once fixed."
    )
    data = {"agent_id": agent.id, "why": why, "team_ids": [agent.team_id] if agent.team_id else []}
    alert = record_event(
        session, lead_id=delivery.lead.id, type="alert", actor="system", at=now, data=data
    )
    await session.flush()
    return alert


async def _get_event(session: AsyncSession, event_id: int) -> LeadEvent:
    # TODO: load through backend.pursuit.service once it offers a lookup of one event.
    event = await session.get(LeadEvent, event_id)
    if event is None:
        raise NotFound(f"There is no lead event {event_id}.")
    return event


async def _managers_of(session: AsyncSession, team_ids: list[str]) -> list[_Manager]:
    """Managers of the listed teams, and those without a team, who see every lead."""
    # TODO: ask backend.access.service for these once it offers a lookup of users by team.
    users = await session.scalars(
        select(User)
        .where(User.role == "manager", or_(User.team_id.is_(None), User.team_id.in_(team_ids)))
        .order_by(User.id)
    )
    return [_Manager(user.id, user.email) for user in users]


def _event_text(event: LeadEvent, name: str) -> str:
    value = event.data.get(name)
    if not isinstance(value, str) or not value:
        raise BadInput(f"A {event.type} event needs {name}; event {event.id} has none.")
    return value


def _inlet_name(event: LeadEvent) -> str:
    """How a repeat inquiry came in, in the words the rep knows: its source and inlet."""
    source, inlet = event.data.get("source"), event.data.get("inlet")
    parts = [str(p) for p in (source, inlet) if p]
    if len(parts) == 2 and parts[0] != parts[1]:
        return f"{parts[0]} ({parts[1]})"
    return parts[0] if parts else "another inlet"


def _event_ids(event: LeadEvent, name: str) -> list[str]:
    value = event.data.get(name) or []
    if not isinstance(value, list):
        raise BadInput(f"{name} of event {event.id} must be a list of ids.")
    return [str(item) for item in value]


def _due_at(event: LeadEvent, offer: Offer) -> datetime | None:
    """The deadline the event names, else the offer's own."""
    value = event.data.get("due_at")
    if not isinstance(value, str):
        return offer.contact_due_at
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return offer.contact_due_at


def _still_overdue(delivery: _Delivery) -> bool:
    """A reminder is moot once the offer is no longer held or the lead has been contacted."""
    return delivery.offer.status == "accepted" and delivery.lead.first_contact_at is None


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


def _record_notified(
    session: AsyncSession, lead_id: str, note: Notification, event_id: int | None
) -> None:
    data: dict[str, Any] = {
        "channel": note.channel,
        "status": note.status,
        "notification_id": note.id,
    }
    if event_id is not None:
        data["event_id"] = event_id
    record_event(
        session,
        lead_id=lead_id,
        type="notified",
        actor="system",
        data=data,
        at=note.created_at,
    )
