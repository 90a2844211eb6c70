"""CRM connections, the records leads are linked to, the write-back outbox and inbound events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, IdMixin, utcnow
from backend.pursuit.models import Lead


class CrmConnection(IdMixin, Base):
    """One HubSpot portal or Salesforce org; credentials are Fernet-encrypted."""

    __tablename__ = "crm_connections"

    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[str] = mapped_column(Text)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sync_all: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reconciled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmLink(IdMixin, Base):
    """The CRM record a lead came from or was written to, and what was written there."""

    __tablename__ = "crm_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "lead_id", name="uq_crm_links_connection_lead"),
        Index("ix_crm_links_record", "connection_id", "object_type", "record_id"),
    )

    connection_id: Mapped[str] = mapped_column(ForeignKey("crm_connections.id"))
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    inquiry_id: Mapped[str | None] = mapped_column(ForeignKey("inquiries.id"))
    object_type: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(64))
    # Ids of what was created there (the timeline note, one task per activity) and the
    # status last read back, so neither is written or recorded twice.
    written: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_status: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmOutboxItem(Base):
    """A lead event waiting to be written to one connection; written with the event itself."""

    __tablename__ = "crm_outbox"
    __table_args__ = (
        Index("ix_crm_outbox_due", "status", "next_attempt_at"),
        Index("ix_crm_outbox_lead", "connection_id", "lead_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("crm_connections.id"))
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    # Only so that a lead and its first outbox rows, flushed together, go in that order.
    lead: Mapped[Lead] = relationship(lazy="raise")


class CrmInboundEvent(IdMixin, Base):
    """A webhook delivery or outbound message, kept before it is acted on; unique per delivery."""

    __tablename__ = "crm_inbound"
    __table_args__ = (
        UniqueConstraint("connection_id", "delivery_id", name="uq_crm_inbound_connection_delivery"),
        Index("ix_crm_inbound_status", "status", "next_attempt_at"),
    )

    connection_id: Mapped[str] = mapped_column(ForeignKey("crm_connections.id"))
    delivery_id: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
