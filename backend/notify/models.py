"""Devices' push subscriptions and every notification sent or kept, with its outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdMixin, utcnow


class PushSubscription(IdMixin, Base):
    __tablename__ = "push_subscriptions"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100), default="Unknown device")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class Notification(IdMixin, Base):
    """One message to one agent on one channel: pushed, mailed, texted, or kept in the outbox.

    ``attempts`` counts the requests a push took, retries of a throttled or failing service
    included; ``status`` is the outcome of the last one.
    """

    __tablename__ = "notifications"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), index=True)
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    status_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
