"""Leads, the offers made for them, reps' activities and the journey of events."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, IdMixin, utcnow

if TYPE_CHECKING:
    from backend.routing.models import Decision

# An accepted offer's contact deadline is open until its owner first makes contact or
# closes the lead without any.
CONTACT_OPEN = "status = 'accepted' AND contact_due_at IS NOT NULL"


class Lead(IdMixin, Base):
    __tablename__ = "leads"

    # status, owner_id and received_at are indexed at the head of composite indexes only
    status: Mapped[str] = mapped_column(String(16), default="routing")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    source: Mapped[str] = mapped_column(String(100), index=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_extension: Mapped[str | None] = mapped_column(String(16))
    company: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(200))
    # The street line as the prospect wrote it ("12 Smith Street, Unit 4").
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    product: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(16))
    campaign: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    value_basis: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str | None] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    contact_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The prospect's earlier, closed lead when this one started as their return.
    previous_lead_id: Mapped[str | None] = mapped_column(String(32))


class Offer(IdMixin, Base):
    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_status_expires", "status", "expires_at"),
        # The contact chase's list: held offers whose owner has yet to make contact.
        # status leads it so the planner, which keeps no statistics, prefers this index.
        Index(
            "ix_offers_status_contact_due",
            "status",
            "contact_due_at",
            sqlite_where=text(CONTACT_OPEN),
            postgresql_where=text(CONTACT_OPEN),
        ),
        Index("ix_offers_agent_offered", "agent_id", "offered_at"),
    )

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    # Indexed at the head of ix_offers_agent_offered.
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("rules.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    contact_timeout_s: Mapped[int] = mapped_column(default=86400)
    broadcast_id: Mapped[str | None] = mapped_column(String(32))
    # Set on acceptance; cleared by the owner's first contact or a close without one.
    contact_due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    decline_note: Mapped[str | None] = mapped_column(Text)
    # taken (another rep won a broadcast), reassigned (by a manager), no_contact (held too long)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(32))
    # push, sms or email: the quickest channel that reached the agent about this offer
    notified_via: Mapped[str | None] = mapped_column(String(16))
    # Never loaded: they tell the unit of work to write a new lead and decision first, so
    # a lead, its decision and its offers can go out in one flush.
    lead: Mapped[Lead] = relationship(lazy="raise")
    decision: Mapped[Decision | None] = relationship(lazy="raise")


class Activity(IdMixin, Base):
    __tablename__ = "activities"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadEvent(Base):
    """One step of a lead's journey, with who caused it and when; ids keep their order."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
