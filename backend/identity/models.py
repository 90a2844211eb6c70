"""The blocking-key index coalescing looks prospects up in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base


class ProspectKey(Base):
    """One inquiry filed under one key, with the folded fields scoring compares."""

    __tablename__ = "prospect_keys"
    __table_args__ = (
        Index("ix_prospect_keys_lookup", "kind", "key", "received_at"),
        Index("ix_prospect_keys_lead", "lead_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(400))
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"))
    inquiry_id: Mapped[str | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    received_at: Mapped[datetime]
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
