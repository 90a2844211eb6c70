"""Who is calling: API keys, agent link tokens and console users, all stored hashed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.audit import record_change, snapshot
from backend.access.models import (
    AgentLink,
    ApiKey,
    IdempotentReply,
    PartnerLink,
    SignInLink,
    User,
    UserScope,
)
from backend.console.scope import EVERYTHING, Scope
from backend.db import utcnow
from backend.errors import BadInput, Forbidden, NotAuthenticated, NotFound
from backend.settings import Settings

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "pk_"
LINK_TOKEN_PREFIX = "pl_"  # noqa: S105 - a public prefix, not a secret
SIGN_IN_TTL = timedelta(hours=24)
MAILED_SIGN_IN_TTL = timedelta(minutes=15)
PARTNER_LINK_PREFIX = "pp_"
ROLES = ("admin", "manager")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request."""

    kind: str  # "api_key", "agent" or "user"
    id: str
    agent_id: str | None = None
    device_session_id: str | None = None  # set when a signed-in device's cookie spoke

    @property
    def label(self) -> str:
        """How the caller appears on a lead's journey."""
        if self.kind == "agent":
            return f"agent:{self.agent_id}"
        return f"{self.kind}:{self.id}"


def hash_token(token: str) -> str:
    """Tokens carry 256 bits of randomness, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_key(session: AsyncSession, name: str) -> str:
    if not name.strip():
        raise BadInput("An API key needs a name.")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip(), key_hash=hash_token(key))
    session.add(row)
    await session.commit()
    logger.info("api key created id=%s", row.id)
    return key


async def create_agent_link(
    session: AsyncSession, agent_id: str, ttl: timedelta | None = None
) -> tuple[str, datetime | None]:
    token = LINK_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl if ttl else None
    session.add(AgentLink(agent_id=agent_id, token_hash=hash_token(token), expires_at=expires_at))
    await session.commit()
    logger.info("agent link created agent_id=%s", agent_id)
    return token, expires_at


async def revoke_agent_links(session: AsyncSession, agent_id: str) -> int:
    links = (
        await session.scalars(
            select(AgentLink).where(AgentLink.agent_id == agent_id, AgentLink.revoked_at.is_(None))
        )
    ).all()
    for link in links:
        link.revoked_at = utcnow()
    await session.commit()
    logger.info("agent links revoked agent_id=%s count=%s", agent_id, len(links))
    return len(links)


async def agent_for_link(session: AsyncSession, token: str) -> str | None:
    """The agent id a link token belongs to, if it is valid now."""
    link = await session.scalar(select(AgentLink).where(AgentLink.token_hash == hash_token(token)))
    if link is None or link.revoked_at is not None:
        return None
    if link.expires_at is not None and link.expires_at <= utcnow():
        return None
    return link.agent_id


async def actor_for_bearer(session: AsyncSession, token: str) -> Actor:
    if token.startswith(API_KEY_PREFIX):
        key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
        if key is not None and key.revoked_at is None:
            return Actor(kind="api_key", id=key.id)
    elif token.startswith(LINK_TOKEN_PREFIX):
        agent_id = await agent_for_link(session, token)
        if agent_id is not None:
            return Actor(kind="agent", id=agent_id, agent_id=agent_id)
    raise NotAuthenticated("The bearer token is not valid: it is unknown, revoked or expired.")


def parse_bearer(header: str | None) -> str:
    if not header:
        raise NotAuthenticated("Send an 'Authorization: Bearer <token>' header.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("The Authorization header must read 'Bearer <token>'.")
    return token.strip()


def require_api_key(actor: Actor) -> None:
    if actor.kind != "api_key":
        raise Forbidden("This needs an API key; a rep's link token cannot do it.")


async def create_user(
    session: AsyncSession,
    email: str,
    role: str,
    team_id: str | None = None,
    password: str | None = None,
    team_ids: list[str] | None = None,
    partner_ids: list[str] | None = None,
    actor: str = "system",
) -> User:
    """Create or update a user; the teams and partners given replace those they managed."""
    if role not in ROLES:
        raise BadInput(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    email = email.strip().lower()
    if "@" not in email:
        raise BadInput(f"{email!r} is not an email address.")
    teams = list(dict.fromkeys([*([team_id] if team_id else []), *(team_ids or [])]))
    user = await session.scalar(select(User).where(User.email == email))
    before = None if user is None else {**snapshot(user), **await _scope_ids(session, user.id)}
    if user is None:
        user = User(email=email, role=role)
        session.add(user)
        await session.flush()
    user.role = role
    user.team_id = teams[0] if teams else None  # the first team, for readers of one team
    if password is not None:
        user.password_hash = _hasher.hash(password)
    partners = list(dict.fromkeys(partner_ids or []))
    await _replace_scopes(session, user.id, teams, partners)
    after = {**snapshot(user), "team_ids": sorted(teams), "partner_ids": sorted(partners)}
    action = "create" if before is None else "update"
    await record_change(session, actor, "user", user.id, action, before, after)
    await session.commit()
    logger.info("user saved id=%s role=%s teams=%s", user.id, role, len(teams))
    return user


async def _replace_scopes(
    session: AsyncSession, user_id: str, team_ids: list[str], partner_ids: list[str]
) -> None:
    for old in (await session.scalars(select(UserScope).where(UserScope.user_id == user_id))).all():
        await session.delete(old)
    for team in team_ids:
        session.add(UserScope(user_id=user_id, team_id=team))
    for partner in partner_ids:
        session.add(UserScope(user_id=user_id, partner_id=partner))


async def _scope_ids(session: AsyncSession, user_id: str) -> dict[str, list[str]]:
    rows = (await session.scalars(select(UserScope).where(UserScope.user_id == user_id))).all()
    return {
        "team_ids": sorted(r.team_id for r in rows if r.team_id),
        "partner_ids": sorted(r.partner_id for r in rows if r.partner_id),
    }


async def user_scope(session: AsyncSession, user: User) -> Scope:
    """What the user may see: an admin, or a manager of no team or partner, sees everything."""
    if user.role == "admin":
        return EVERYTHING
    rows = (await session.scalars(select(UserScope).where(UserScope.user_id == user.id))).all()
    teams = {r.team_id for r in rows if r.team_id} | ({user.team_id} if user.team_id else set())
    partners = {r.partner_id for r in rows if r.partner_id}
    if not teams and not partners:
        return EVERYTHING
    return Scope(team_ids=frozenset(teams), partner_ids=frozenset(partners))


async def managers_in(session: AsyncSession) -> list[tuple[User, Scope]]:
    """Every console user with the scope they see, by email."""
    users = (await session.scalars(select(User).order_by(User.email))).all()
    return [(user, await user_scope(session, user)) for user in users]


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    user: User | None = await session.scalar(
        select(User).where(User.email == email.strip().lower())
    )
    return user


async def create_sign_in_link(
    session: AsyncSession, user_id: str, ttl: timedelta = SIGN_IN_TTL
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(user_id=user_id, token_hash=hash_token(token), expires_at=utcnow() + ttl)
    )
    await session.commit()
    return token


async def check_sign_in_link(session: AsyncSession, token: str) -> SignInLink:
    """The link if it can still sign someone in; reading it changes nothing."""
    link = await session.scalar(
        select(SignInLink).where(SignInLink.token_hash == hash_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotAuthenticated("This sign-in link is unknown, already used or expired.")
    return link


async def use_sign_in_link(session: AsyncSession, token: str) -> User:
    link = await check_sign_in_link(session, token)
    link.used_at = utcnow()
    user = await session.get(User, link.user_id)
    if user is None:
        raise NotFound("The user of this sign-in link no longer exists.")
    await session.commit()
    return user


async def authenticate_user(session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.password_hash:
        raise NotAuthenticated("Unknown email or wrong password.")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError) as exc:
        raise NotAuthenticated("Unknown email or wrong password.") from exc
    return user


async def stored_reply(session: AsyncSession, scope: str, key: str) -> IdempotentReply | None:
    return await session.get(IdempotentReply, (scope, key))


async def store_reply(
    session: AsyncSession,
    scope: str,
    key: str,
    status_code: int,
    body: dict[str, Any],
    request_digest: str | None = None,
) -> None:
    """Keep the first answer to a keyed request; a concurrent twin keeps its own."""
    reply = IdempotentReply(
        scope=scope, key=key, status_code=status_code, body=body, request_digest=request_digest
    )
    session.add(reply)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()


async def admin_email(session: AsyncSession) -> str | None:
    """The address of the earliest admin, who answers for this deployment."""
    found = await session.scalars(
        select(User.email).where(User.role == "admin").order_by(User.created_at, User.id)
    )
    return found.first()


async def create_partner_link(
    session: AsyncSession, partner_id: str, created_by: str, ttl: timedelta, email: str | None
) -> tuple[str, PartnerLink]:
    """A capability link to the partner's own console; the token is shown once."""
    token = PARTNER_LINK_PREFIX + secrets.token_urlsafe(32)
    link = PartnerLink(
        partner_id=partner_id,
        token_hash=hash_token(token),
        email=email.strip().lower() if email else None,
        created_by=created_by,
        expires_at=utcnow() + ttl,
    )
    session.add(link)
    await session.flush()
    logger.info("partner link created partner_id=%s link_id=%s", partner_id, link.id)
    return token, link


async def partner_for_link(session: AsyncSession, token: str) -> PartnerLink:
    link = await session.scalar(
        select(PartnerLink).where(PartnerLink.token_hash == hash_token(token))
    )
    if link is None or link.revoked_at is not None:
        raise NotAuthenticated("This partner link is unknown or was revoked.")
    if link.expires_at is not None and link.expires_at <= utcnow():
        raise NotAuthenticated("This partner link has expired; ask your contact for a new one.")
    return link


async def partner_links(session: AsyncSession, partner_id: str) -> list[PartnerLink]:
    query = select(PartnerLink).where(PartnerLink.partner_id == partner_id)
    return list((await session.scalars(query.order_by(PartnerLink.created_at.desc()))).all())


async def live_partner_links(session: AsyncSession) -> list[PartnerLink]:
    """Links not revoked or expired that name the coordinator's email."""
    query = select(PartnerLink).where(
        PartnerLink.revoked_at.is_(None), PartnerLink.email.is_not(None)
    )
    now = utcnow()
    rows = (await session.scalars(query.order_by(PartnerLink.created_at))).all()
    return [r for r in rows if r.expires_at is None or r.expires_at > now]


async def revoke_partner_link(session: AsyncSession, partner_id: str, link_id: str) -> PartnerLink:
    link = await session.get(PartnerLink, link_id)
    if link is None or link.partner_id != partner_id:
        raise NotFound(f"Partner link {link_id} does not exist.")
    link.revoked_at = link.revoked_at or utcnow()
    logger.info("partner link revoked partner_id=%s link_id=%s", partner_id, link.id)
    return link


async def mail_sign_in_link(session: AsyncSession, settings: Settings, email: str) -> bool:
    """Mail a short-lived link to a known user; whether one was sent is for the logs only."""
    from backend.notify.service import parse_smtp_url, send_mail

    user = await user_by_email(session, email)
    if user is None:
        logger.info("sign-in link not sent reason=unknown_email")
        return False
    token = await create_sign_in_link(session, user.id, MAILED_SIGN_IN_TTL)
    if settings.smtp_url is None:
        logger.warning("sign-in link not sent user_id=%s reason=no_smtp", user.id)
        return False
    text = (
        "Someone asked to sign in to the Pursuit console with this address.\n\n"
        f"Open this link and press Sign in (it works once, within 15 minutes):\n"
        f"{settings.base_url}/console/sign-in/{token}\n\n"
        "If it was not you, ignore this message; nothing changes.\n"
    )
    try:
        await send_mail(
            parse_smtp_url(settings.smtp_url),
            settings.mail_from,
            user.email,
            "Sign in to Pursuit",
            text,
        )
    except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
        logger.warning("sign-in link not sent user_id=%s error=%s", user.id, type(exc).__name__)
        return False
    logger.info("sign-in link sent user_id=%s", user.id)
    return True
