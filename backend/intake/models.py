"""Inquiries exactly as received, and the expected value of a lead by source and product."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdMixin, utcnow


class Inquiry(IdMixin, Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_inquiries_source_external"),
    )

    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))
    inlet: Mapped[str] = mapped_column(String(32), default="api")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)


class LeadValue(IdMixin, Base):
    """Configured expected revenue of a lead; null source or product means any."""

    __tablename__ = "lead_values"

    source: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="USD")


class Inlet(IdMixin, Base):
    """A door inquiries come in by: a web form, a mailbox, or a CSV import.

    ``field_map`` maps the names a form or file uses to lead fields, such as
    ``{"your-email": "email"}``; names that are lead fields already need no entry.
    """

    __tablename__ = "inlets"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100))
    field_map: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_country: Mapped[str | None] = mapped_column(String(2))
    thank_you_url: Mapped[str | None] = mapped_column(String(2000))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Managers list failed inquiries by status; declared apart to leave the model as it was.
Index("ix_inquiries_status", Inquiry.status)
