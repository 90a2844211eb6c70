"""Inquiries exactly as received, and the expected value of a lead by source and product."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
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
