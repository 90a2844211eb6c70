"""Console users, API keys, agent link tokens and idempotent replies. Secrets are stored hashed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdMixin, utcnow


class User(IdMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInLink(IdMixin, Base):
    __tablename__ = "sign_in_links"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class AgentLink(IdMixin, Base):
    __tablename__ = "agent_links"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotentReply(Base):
    """The first answer to a request carrying an ``Idempotency-Key``, replayed for repeats."""

    __tablename__ = "idempotent_replies"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_digest: Mapped[str | None] = mapped_column(String(64))  # sha256 of the request body
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserScope(IdMixin, Base):
    """One team or one partner company a manager manages; a manager may have several."""

    __tablename__ = "user_scopes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))


class AuditEntry(Base):
    """One change to the roster, rules, leads or users: who, when, what, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PartnerLink(IdMixin, Base):
    """A partner coordinator's capability link to their company's reduced console."""

    __tablename__ = "partner_links"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SummaryMail(Base):
    """A weekly summary sent: one per recipient and week, so a restart sends none twice."""

    __tablename__ = "summary_mails"

    recipient: Mapped[str] = mapped_column(String(120), primary_key=True)
    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date of its Monday
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_audit_log_entity", AuditEntry.entity, AuditEntry.entity_id)
