"""Who is calling: API keys, agent link tokens and console users, all stored hashed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.models import AgentLink, ApiKey, IdempotentReply, SignInLink, User
from backend.db import utcnow
from backend.errors import BadInput, Forbidden, NotAuthenticated, NotFound

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "pk_"
LINK_TOKEN_PREFIX = "pl_"  # noqa: S105 - a public prefix, not a secret
SIGN_IN_TTL = timedelta(hours=24)
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
) -> User:
    if role not in ROLES:
        raise BadInput(f"Role {role!r} is not one of {', '.join(ROLES)}.")
    email = email.strip().lower()
    if "@" not in email:
        raise BadInput(f"{email!r} is not an email address.")
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, role=role, team_id=team_id)
        session.add(user)
    user.role = role
    user.team_id = team_id
    if password is not None:
        user.password_hash = _hasher.hash(password)
    await session.commit()
    logger.info("user saved id=%s role=%s", user.id, role)
    return user


async def create_sign_in_link(session: AsyncSession, user_id: str) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(user_id=user_id, token_hash=hash_token(token), expires_at=utcnow() + SIGN_IN_TTL)
    )
    await session.commit()
    return token


async def use_sign_in_link(session: AsyncSession, token: str) -> User:
    link = await session.scalar(
        select(SignInLink).where(SignInLink.token_hash == hash_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotAuthenticated("This sign-in link is unknown, already used or expired.")
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
