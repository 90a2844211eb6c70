"""Employees signing in on their own phones: single-use mailed links and long-lived device sessions.

A sign-in link lives 15 minutes and works once; using it starts a device session, held in a
cookie, that speaks for the agent until they sign it out. Both tokens are stored hashed.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.access.models import AgentLink
from backend.access.service import LINK_TOKEN_PREFIX, hash_token
from backend.db import Base, IdMixin, utcnow
from backend.errors import NotAuthenticated, NotFound
from backend.roster.service import employee_by_email

logger = logging.getLogger(__name__)

SIGN_IN_LINK_TTL = timedelta(minutes=15)
MAX_OPEN_LINKS = 3  # unused links at once per agent; more requests send nothing
SEEN_EVERY = timedelta(minutes=5)  # how stale last_seen_at may grow before it is written
SESSION_PREFIX = "pd_"
DEVICE_COOKIE = "pursuit_device"
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest browsers keep a cookie
MAX_LABEL = 100


class AgentSignInLink(IdMixin, Base):
    __tablename__ = "agent_sign_in_links"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DeviceSession(IdMixin, Base):
    __tablename__ = "device_sessions"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(MAX_LABEL))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # The rep-app link this device opens its queue with; signed out together with it.
    link_id: Mapped[str | None] = mapped_column(ForeignKey("agent_links.id"))


@dataclass(frozen=True)
class SignInRequest:
    """A link made for an employee: whom to mail, and the token the mail carries."""

    agent_id: str
    email: str
    token: str


# Labels

_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Opera", r"OPR/|Opera"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
)


def device_label(user_agent: str | None) -> str:
    """``Chrome on Android`` from a User-Agent header; what cannot be told is left out."""
    text = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, text)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, text)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


# Sign-in links


async def request_sign_in(session: AsyncSession, email: str) -> SignInRequest | None:
    """A fresh link for the active employee with this email, or None for anyone else.

    Partner reps have links from their partner's offers instead; callers answer alike
    either way, so the roster is not disclosed.
    """
    address = email.strip().lower()
    if "@" not in address or len(address) > 320:
        return None
    agent = await employee_by_email(session, address)
    if agent is None or agent.email is None:
        logger.info("sign-in link not sent reason=not_an_employee")
        return None
    if await _open_links(session, agent.id) >= MAX_OPEN_LINKS:
        logger.info("sign-in link not sent reason=too_many agent_id=%s", agent.id)
        return None

    token, now = secrets.token_urlsafe(32), utcnow()
    link = AgentSignInLink(
        agent_id=agent.id,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + SIGN_IN_LINK_TTL,
    )
    session.add(link)
    await session.commit()
    logger.info("sign-in link created agent_id=%s", agent.id)
    return SignInRequest(agent.id, agent.email, token)


async def sign_in_link_usable(session: AsyncSession, token: str) -> bool:
    """Whether a link would sign in now; looking changes nothing."""
    link = await session.scalar(
        select(AgentSignInLink).where(AgentSignInLink.token_hash == hash_token(token))
    )
    return link is not None and link.used_at is None and link.expires_at > utcnow()


async def start_device_session(
    session: AsyncSession, token: str, user_agent: str | None
) -> tuple[DeviceSession, str]:
    """Spend a sign-in link on a new device session; answers the session and its cookie token.

    The link is claimed by one conditional update, so two presses of the button (or two
    devices) cannot both sign in with it.
    """
    now = utcnow()
    claimed = await session.execute(
        update(AgentSignInLink)
        .where(
            AgentSignInLink.token_hash == hash_token(token),
            AgentSignInLink.used_at.is_(None),
            AgentSignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(AgentSignInLink.agent_id)
    )
    agent_id = claimed.scalar_one_or_none()
    if agent_id is None:
        await session.rollback()
        raise NotAuthenticated(
            "This sign-in link is unknown, already used or expired. Ask for a new one."
        )

    cookie = SESSION_PREFIX + secrets.token_urlsafe(32)
    device = DeviceSession(
        agent_id=agent_id,
        token_hash=hash_token(cookie),
        label=device_label(user_agent)[:MAX_LABEL],
        created_at=now,
        last_seen_at=now,
    )
    session.add(device)
    await session.commit()
    logger.info("device session started id=%s agent_id=%s", device.id, agent_id)
    return device, cookie


async def open_rep_link(session: AsyncSession, device: DeviceSession, ttl: timedelta) -> str:
    """A rep-app link for the signed-in device, valid as long as its session, revoked with it."""
    token = LINK_TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = AgentLink(
        agent_id=device.agent_id, token_hash=hash_token(token), expires_at=utcnow() + ttl
    )
    session.add(link)
    await session.flush()
    device.link_id = link.id
    await session.commit()
    logger.info("device link opened id=%s agent_id=%s", device.id, device.agent_id)
    return token


# Device sessions


async def device_session_for(session: AsyncSession, token: str) -> DeviceSession | None:
    """The live device session a cookie names; ``last_seen_at`` is kept roughly current."""
    if not token.startswith(SESSION_PREFIX):
        return None
    device = await session.scalar(
        select(DeviceSession).where(DeviceSession.token_hash == hash_token(token))
    )
    if device is None or device.revoked_at is not None:
        return None
    now = utcnow()
    if now - device.last_seen_at >= SEEN_EVERY:
        device.last_seen_at = now
        await session.commit()
    return device


async def list_device_sessions(session: AsyncSession, agent_id: str) -> list[DeviceSession]:
    """The agent's signed-in devices, newest first; signed-out ones are not listed."""
    found = await session.scalars(
        select(DeviceSession)
        .where(DeviceSession.agent_id == agent_id, DeviceSession.revoked_at.is_(None))
        .order_by(DeviceSession.created_at.desc(), DeviceSession.id)
    )
    return list(found)


async def sign_out_device(session: AsyncSession, agent_id: str, session_id: str) -> None:
    device = await session.get(DeviceSession, session_id)
    if device is None or device.agent_id != agent_id or device.revoked_at is not None:
        raise NotFound(f"There is no signed-in device {session_id!r}.")
    device.revoked_at = utcnow()
    if device.link_id is not None and (link := await session.get(AgentLink, device.link_id)):
        link.revoked_at = link.revoked_at or device.revoked_at
    await session.commit()
    logger.info("device session signed out id=%s agent_id=%s", session_id, agent_id)


async def _open_links(session: AsyncSession, agent_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AgentSignInLink)
        .where(
            AgentSignInLink.agent_id == agent_id,
            AgentSignInLink.used_at.is_(None),
            AgentSignInLink.expires_at > utcnow(),
        )
    )
    return int(count or 0)
